"""Loading a payload with its contract schema, the same way at the gateway and in services."""

from marshmallow import ValidationError, fields

from contracts.errors import Invalid

# What JSON type each kind of field takes. marshmallow reads more ("12" as 12, 2.5 as 2, "yes"
# as true), as a query string needs; a JSON body says the type it means, and the OpenAPI
# document promises no other.
JSON_TYPES = (
    (fields.Boolean, (bool,), "Not a valid boolean."),
    (fields.Integer, (int,), "Not a valid integer."),
    (fields.Float, (int, float), "Not a valid number."),
)


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


def load_json(schema, payload, **kwargs):
    """``load`` for a JSON body: a value of another JSON type than its field's is refused,
    never converted."""
    if isinstance(payload, dict):
        errors = json_type_errors(schema, payload)
        if errors:
            raise Invalid(errors)
    return load(schema, payload, **kwargs)


def json_type_errors(schema, payload):
    """Each field of ``payload`` whose value, or a value within, is not of its JSON type."""
    errors = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if key in payload:
            found = _value_errors(field, payload[key])
            if found:
                errors[key] = found
    return errors


def _value_errors(field, value):
    if value is None:
        return None
    for kind, json_types, message in JSON_TYPES:
        if isinstance(field, kind):
            wrong = isinstance(value, bool) != (bool in json_types)
            return [message] if wrong or not isinstance(value, json_types) else None
    if isinstance(field, fields.Nested):
        items = value if field.many and isinstance(value, list) else [value]
        return _each(items, lambda item: json_type_errors(field.schema, item)
                     if isinstance(item, dict) else None, many=field.many)
    if isinstance(field, fields.List) and isinstance(value, list):
        return _each(value, lambda item: _value_errors(field.inner, item), many=True)
    if isinstance(field, fields.Dict) and field.value_field and isinstance(value, dict):
        found = {key: {"value": errors} for key, item in value.items()
                 if (errors := _value_errors(field.value_field, item))}
        return found or None
    return None


def _each(items, errors_of, many):
    found = {index: errors for index, item in enumerate(items) if (errors := errors_of(item))}
    if not many:
        return found.get(0)
    return found or None
