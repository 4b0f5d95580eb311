"""Operations: whether a service is alive and ready, and the events each service's handlers
gave up on, as an operator sees them.

A dead letter is named by what finds it again — its event's type and id, the handler, the
error and when — never by its payload, which may name a citizen."""

from marshmallow import Schema, fields, validate


class LivenessSchema(Schema):
    service = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("live",)))


class ReadinessSchema(Schema):
    service = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("ready", "unready")))
    # What keeps it from serving (``database``, ``broker``) and why; empty when ready.
    failed = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class DeadLetterSchema(Schema):
    id = fields.Integer(required=True)
    event_type = fields.String(required=True, allow_none=True)
    event_id = fields.String(required=True, allow_none=True)
    consumer = fields.String(required=True)
    error = fields.String(required=True)
    received_at = fields.DateTime(required=True)


class ServiceDeadLettersSchema(Schema):
    answered = fields.Boolean(required=True)
    # The newest first, at most ``DEAD_LETTERS_LIMIT`` of them; ``total`` counts every one.
    total = fields.Integer(required=True, allow_none=True)
    dead_letters = fields.List(fields.Nested(DeadLetterSchema), required=True)
    detail = fields.String(allow_none=True)


class DeadLettersReportSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("complete", "partial")))
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ServiceDeadLettersSchema))


class ReplayedDeadLetterSchema(Schema):
    """A dead letter whose event went back to its consumer's queue, and was deleted."""

    service = fields.String(required=True)
    dead_letter_id = fields.Integer(required=True)
    event_id = fields.String(required=True)
    consumer = fields.String(required=True)


DEAD_LETTERS_LIMIT = 100
