"""Payloads of the accessibility relay (Art. 1, seventh application; Art. 2): a commune's
reception points and their telephone reception hours, the dedicated link of each, the relay
sessions opened from them and taken by the provider's interpreters, and the usage a commune
shows to prove it meets the law (art. 78 loi 2005-102)."""

from marshmallow import fields, validate

from contracts.identity import StrictSchema

MODES = ("lsf", "lfpc", "transcription")
CHANNELS = ("telephone", "front_desk")
POINT_KINDS = ("town_hall", "ccas", "technical_services", "other")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SESSION_STATUSES = ("waiting", "taken", "connected", "ended", "abandoned")
TIME = r"^([01]\d|2[0-3]):[0-5]\d$"
# A range may end at midnight, the end of its day.
END_TIME = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"


class TimeRangeSchema(StrictSchema):
    start = fields.String(required=True, validate=validate.Regexp(TIME),
                          metadata={"example": "08:30"})
    end = fields.String(required=True, validate=validate.Regexp(END_TIME),
                        metadata={"example": "12:00"})


class ClosureSchema(StrictSchema):
    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True)
    reason = fields.String(load_default=None, allow_none=True,
                           validate=validate.Length(max=200))


class NewReceptionPointSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"example": "Accueil de la mairie"})
    kind = fields.String(required=True, validate=validate.OneOf(POINT_KINDS))
    weekly_hours = fields.Dict(
        keys=fields.String(validate=validate.OneOf(WEEKDAYS)),
        values=fields.List(fields.Nested(TimeRangeSchema), validate=validate.Length(max=6)),
        required=True, metadata={"description": "telephone reception hours, local time"})
    closures = fields.List(fields.Nested(ClosureSchema), load_default=list,
                           validate=validate.Length(max=100))


class ReceptionPointSchema(NewReceptionPointSchema):
    id = fields.UUID(required=True)
    commune = fields.String(required=True)
    open_now = fields.Boolean(required=True)
    next_opening = fields.AwareDateTime(required=True, allow_none=True)


class LinkSchema(StrictSchema):
    id = fields.UUID(required=True)
    point_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("active", "rotated",
                                                                   "revoked")))
    created_at = fields.AwareDateTime(required=True)
    retired_at = fields.AwareDateTime(required=True, allow_none=True)
    token = fields.String(required=True, allow_none=True, metadata={
        "description": "given once, when the link is made or rotated: only its digest is kept"})


class NewSessionSchema(StrictSchema):
    mode = fields.String(required=True, validate=validate.OneOf(MODES))
    channel = fields.String(load_default="telephone", validate=validate.OneOf(CHANNELS))


class SessionSchema(StrictSchema):
    id = fields.UUID(required=True)
    commune = fields.String(required=True)
    point_id = fields.UUID(required=True)
    mode = fields.String(required=True, validate=validate.OneOf(MODES))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    status = fields.String(required=True, validate=validate.OneOf(SESSION_STATUSES))
    requested_at = fields.AwareDateTime(required=True)
    taken_at = fields.AwareDateTime(required=True, allow_none=True)
    connected_at = fields.AwareDateTime(required=True, allow_none=True)
    ended_at = fields.AwareDateTime(required=True, allow_none=True)
    wait_seconds = fields.Integer(required=True, allow_none=True)
    talk_seconds = fields.Integer(required=True, allow_none=True)
