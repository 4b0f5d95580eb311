"""The envelope every event travels in.

Producers dump strictly; consumers load with ``unknown=EXCLUDE`` (a tolerant reader), because
an event that fails to load is acked and lost by Nameko: a field added by a newer producer
must never do that. A breaking change gets a new event type, not a new meaning.
"""

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from contracts.fields import InseeCode

EVENT_TYPE_PATTERN = r"^[a-z_]+\.[a-z_]+$"


class EventEnvelopeSchema(Schema):
    class Meta:
        unknown = RAISE

    event_id = fields.UUID(required=True)
    type = fields.String(
        required=True,
        validate=validate.Regexp(EVENT_TYPE_PATTERN, error="Event types are <noun>.<past verb>."),
    )
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    producer = fields.String(required=True)
    commune = InseeCode(load_default=None, allow_none=True)
    correlation_id = fields.String(load_default=None, allow_none=True)
    data = fields.Dict(required=True)


class ReceivedEventSchema(EventEnvelopeSchema):
    class Meta:
        unknown = EXCLUDE
