"""Health: what each service answers, and the report the gateway makes of them."""

from marshmallow import Schema, fields, validate


class ServiceHealthSchema(Schema):
    service = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("ok",)))
    database = fields.String(required=True)


class ServiceStatusSchema(Schema):
    answered = fields.Boolean(required=True)
    latency_ms = fields.Float(allow_none=True, required=True)
    detail = fields.String(allow_none=True)


class HealthReportSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("ok", "degraded")))
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ServiceStatusSchema))
