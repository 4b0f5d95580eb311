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
SPEAKERS = ("person", "interpreter")
SESSION_SECRET_HEADER = "X-Relay-Session-Secret"
TRANSCRIPT_LINE_MAX = 2000
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
    transcript_lines = fields.Integer(required=True, metadata={
        "description": "lines written in a transcription: their count stays, their text is "
                       "deleted when the session ends"})


class OpenedSessionSchema(SessionSchema):
    secret = fields.String(required=True, metadata={
        "description": "given once, to the person who asked: sent back in the "
                       f"{SESSION_SECRET_HEADER} header, it lets them follow the session, "
                       "write in its transcription and hang up"})


class SessionSecretHeaderSchema(StrictSchema):
    secret = fields.String(data_key=SESSION_SECRET_HEADER, required=True,
                           validate=validate.Length(min=1, max=100))


class NewTranscriptLineSchema(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=TRANSCRIPT_LINE_MAX),
                         metadata={"example": "Bonjour, je voudrais un rendez-vous."})


class TranscriptLineSchema(NewTranscriptLineSchema):
    id = fields.Integer(required=True, metadata={
        "description": "increasing within the session: read again with ?after= this id"})
    speaker = fields.String(required=True, validate=validate.OneOf(SPEAKERS))
    said_at = fields.AwareDateTime(required=True)


class TranscriptQuerySchema(StrictSchema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0), metadata={
        "description": "the lines after this id only (the last one already read)"})


class UsageQuerySchema(StrictSchema):
    # A month of this century: year 0 is no date, and the month after 9999-12 neither.
    month = fields.String(required=True,
                          validate=validate.Regexp(r"^20[0-9]{2}-(0[1-9]|1[0-2])$"),
                          metadata={"example": "2026-11"})


class UsageSchema(StrictSchema):
    """A month's use of a commune's relay: what it shows to prove it meets the law."""

    commune = fields.String(required=True)
    month = fields.String(required=True)
    sessions = fields.Integer(required=True)
    answered = fields.Integer(required=True)
    unanswered = fields.Integer(required=True)
    talk_minutes = fields.Integer(required=True, metadata={
        "description": "each session rounded up to the started minute"})
    wait_seconds_mean = fields.Float(required=True, allow_none=True)
    wait_seconds_max = fields.Float(required=True, allow_none=True)
    by_mode = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_channel = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    reception_minutes = fields.Integer(required=True, metadata={
        "description": "the reception points' telephone hours in the month"})
    coverage = fields.Decimal(required=True, allow_none=True, places=4, as_string=True,
                              metadata={"description": "share of reception hours the relay "
                                                       "was offered"})
    required_share = fields.Decimal(required=True, places=4, as_string=True, metadata={
        "description": "1/2 until 30 September 2026, all hours from 1 October 2026"})


class NewLinkSchema(StrictSchema):
    point_id = fields.UUID(required=True)


class InterpreterSchema(StrictSchema):
    """What an interpreter of the relay provider says of themself."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"example": "Camille Durand"})
    modes = fields.List(fields.String(validate=validate.OneOf(MODES)), required=True,
                        validate=validate.Length(min=1, max=len(MODES)))
    available = fields.Boolean(required=True)


class InterpreterAnswerSchema(InterpreterSchema):
    account_id = fields.String(required=True)


class QueueQuerySchema(StrictSchema):
    mode = fields.List(fields.String(validate=validate.OneOf(MODES)), load_default=None,
                       metadata={"description": "repeat it for several modes; all if none"})
