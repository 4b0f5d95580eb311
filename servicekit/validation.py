"""Loading a payload with its contract schema, the same way at the gateway and in services."""

from marshmallow import ValidationError

from contracts.errors import Invalid


def load(schema, payload, **kwargs):
    """The loaded payload, or ``Invalid`` naming each field that is wrong."""
    if not isinstance(payload, dict):
        raise Invalid({"_schema": ["Expected a JSON object."]})
    try:
        return schema.load(payload, **kwargs)
    except ValidationError as error:
        raise Invalid(_as_field_map(error.messages)) from None


def _as_field_map(messages):
    if isinstance(messages, dict):
        return messages
    return {"_schema": messages}
