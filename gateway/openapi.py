"""The OpenAPI 3 document, generated from the routes' own declarations and contract schemas."""

import inspect
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import resolve_schema_cls
from eventlet.wsgi import MAX_REQUEST_LINE
from marshmallow import fields, validate

from contracts.communes import MEMBER_COMMUNES
from contracts.subscriptions import PopulationSchema
from gateway.http import COMMUNE_PATH_PARAMETER, REQUEST_ID
from gateway.problems import PROBLEM_TYPES

HTML = "text/html"
PATH_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
# What each werkzeug converter of a route's path lets through.
CONVERTER_SCHEMAS = {
    None: {"type": "string"},
    "int": {"type": "integer", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
}
# Path values a route checks against a contract's field: documented with its bounds.
CONTRACT_PATH_FIELDS = {"vintage": PopulationSchema._declared_fields["vintage"]}
COMMUNE_PARAMETER = {
    "name": COMMUNE_PATH_PARAMETER,
    "in": "path",
    "required": True,
    "description": "INSEE code of a member commune",
    "schema": {"type": "string", "enum": sorted(MEMBER_COMMUNES), "example": "34134"},
}

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri", "enum": PROBLEM_TYPES},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "allOf": [{"$ref": "#/components/schemas/FieldErrors"}],
            "description": "for 422: each invalid field and what is wrong with it",
        },
        "rows": {
            "type": "array",
            "description": "for 422 on a file of rows: the first rows refused and why",
            "items": {
                "type": "object",
                "required": ["row", "column", "reason"],
                "properties": {
                    "row": {"type": "integer", "description": "as a spreadsheet numbers it"},
                    "column": {"type": "string", "nullable": True},
                    "reason": {"type": "string"},
                },
            },
        },
        "error_count": {"type": "integer", "description": "with rows: how many in all"},
    },
}
# What is wrong with each field: its messages, or, for a nested object, a list or a
# dictionary, the same of each field, item (by position) or entry within.
FIELD_ERRORS = {
    "type": "object",
    "additionalProperties": {
        "anyOf": [{"type": "array", "items": {"type": "string"}},
                  {"$ref": "#/components/schemas/FieldErrors"}],
    },
}

# Headers the gateway sends with its answers, as components the responses refer to.
RESPONSE_HEADERS = {
    "RequestId": ("X-Request-Id", {
        "description": "The request's correlation id: the caller's own X-Request-Id when it is "
                       "a plain token, a new one otherwise",
        "required": True,
        "schema": {"type": "string", "pattern": REQUEST_ID.pattern},
    }),
    "RetryAfter": ("Retry-After", {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }),
    "WWWAuthenticate": ("WWW-Authenticate", {
        "description": "The scheme to authenticate with: Bearer",
        "required": True,
        "schema": {"type": "string", "pattern": "^Bearer "},
    }),
}
# Which of them a problem of that status carries, beside the request id.
PROBLEM_HEADERS = {401: ("WWWAuthenticate",), 429: ("RetryAfter",)}

# Refused by the HTTP server before the gateway reads anything, hence no problem, no header.
URI_TOO_LONG = {"description": f"The request line is longer than the server reads "
                               f"({MAX_REQUEST_LINE} bytes)"}

STANDARD_ERRORS = {
    400: "Malformed request (the body is not JSON)",
    401: "Missing, invalid or expired access token",
    403: "The caller's role may not do this",
    404: "Not found, or outside the caller's commune; a path parameter of the wrong form",
    409: "Conflicts with the current state",
    410: "Gone for good (a replaced link); the detail says where to go instead",
    413: "Body too large",
    415: "The body is not sent as application/json",
    422: "Invalid fields or query parameters, each named in `errors`",
    429: "Too many requests or attempts; see Retry-After",
    503: "A service this route needs is not running; the detail names it",
    504: "A service this route needs did not answer in time",
}


def routes_of(service_cls):
    for _, method in inspect.getmembers(service_cls, inspect.isfunction):
        spec = getattr(method, "__route__", None)
        if spec is not None:
            yield method.__name__, spec


def _ranges(field):
    return [validator for validator in field.validators if isinstance(validator, validate.Range)]


def decimal_strings(converter, field, ret):
    """Decimals travel as strings ("150.11"): documented so, their bounds kept as extensions,
    since JSON Schema bounds apply to numbers only (a string bound is an invalid document). A
    lower bound of zero is spelled in the pattern instead: no minus, and a non-zero digit
    somewhere when zero itself is excluded."""
    if not (isinstance(field, fields.Decimal) and field.as_string):
        return {}
    for bound in ("minimum", "maximum"):
        if bound in ret:
            ret[f"x-{bound}"] = ret.pop(bound)
    pattern = ret.get("pattern")
    for validator in _ranges(field):
        if pattern and validator.min == 0:
            pattern = pattern.replace("^-?", "^" if validator.min_inclusive else "^(?=.*[1-9])")
    return {"type": "string", "format": ret.get("format", "decimal"),
            **({"pattern": pattern} if pattern else {})}


def urls(converter, field, ret):
    """A URL, as OpenAPI names its format (apispec writes marshmallow's ``url``)."""
    return {"format": "uri"} if isinstance(field, fields.Url) else {}


def null_or_nested(converter, field, ret):
    """A nested object that may be null is that object or null: apispec's second branch, an
    object of any shape that may be null, would document any object as accepted."""
    if not (isinstance(field, fields.Nested) and field.allow_none and "anyOf" in ret):
        return {}
    only_null = {"type": "object", "nullable": True, "enum": [None]}
    return {"anyOf": [branch if "$ref" in branch else only_null for branch in ret["anyOf"]]}


def keyed_dicts(converter, field, ret):
    """A dictionary whose keys are chosen among a few (the member communes, the days of the
    week) spells each as an optional property, since OpenAPI 3.0 has no ``propertyNames``:
    any other key is refused, and the document says so."""
    if not isinstance(field, fields.Dict) or field.key_field is None:
        return {}
    choices = [validator.choices for validator in field.key_field.validators
               if hasattr(validator, "choices")]
    if not choices:
        return {}
    values = ret.pop("additionalProperties", {})
    return {"properties": {key: values for key in choices[0]}, "additionalProperties": False}


class ContractConverter(OpenAPIConverter):
    """apispec's converter, with what a contract's ``openapi_rules`` say of the whole object
    (``anyOf``, ``oneOf``…): the rules between its fields its ``validates_schema`` checks."""

    def schema2jsonschema(self, schema):
        jsonschema = super().schema2jsonschema(schema)
        return {**jsonschema, **getattr(resolve_schema_cls(schema), "openapi_rules", {})}


class ContractPlugin(MarshmallowPlugin):
    Converter = ContractConverter


def build_openapi(service_cls, version):
    marshmallow_plugin = ContractPlugin()
    spec = APISpec(
        title="communs — shared digital services of Montpellier Méditerranée Métropole",
        version=version,
        openapi_version="3.0.3",
        plugins=[marshmallow_plugin],
        info={
            "description": (
                "One API for the 31 communes, their citizens and companies, and Metropole "
                "operators. Errors are application/problem+json (RFC 9457). Money is a "
                "decimal string with two places; dates are ISO 8601."
            )
        },
    )
    for attribute_function in (decimal_strings, urls, null_or_nested, keyed_dicts):
        marshmallow_plugin.converter.add_attribute_function(attribute_function)
    spec.components.response("UriTooLong", URI_TOO_LONG)
    spec.components.schema("FieldErrors", FIELD_ERRORS)
    spec.components.schema("Problem", PROBLEM)
    for component_id, (_, header) in RESPONSE_HEADERS.items():
        spec.components.header(component_id, header)
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    paths = {}
    for operation_id, route in sorted(routes_of(service_cls), key=lambda item: item[1].path):
        paths.setdefault(route.openapi_path, {})[route.method.lower()] = _operation(
            operation_id, route
        )
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(operation_id, route):
    operation = {
        "operationId": operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "responses": {
            str(route.status): _success(route),
            **{str(status): _problem(route, status) for status in _errors_of(route)},
            "414": {"$ref": "#/components/responses/UriTooLong"},
        },
    }
    if not route.public:
        operation["security"] = [{"bearer": []}]
    parameters = _path_parameters(route)
    if route.query:
        parameters.append({"in": "query", "schema": route.query})
    if route.headers:
        parameters.append({"in": "header", "schema": route.headers})
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        operation["requestBody"] = {
            "required": route.body_required,
            "content": {"application/json": {"schema": route.body}},
        }
    return operation


def _path_parameters(route):
    parameters = []
    for converter, name in PATH_PARAMETER.findall(route.path):
        if name == COMMUNE_PATH_PARAMETER:
            parameters.append(dict(COMMUNE_PARAMETER))
        else:
            schema = dict(CONVERTER_SCHEMAS[converter or None])
            if name in CONTRACT_PATH_FIELDS:
                for bounds in _ranges(CONTRACT_PATH_FIELDS[name]):
                    schema.update(minimum=bounds.min, maximum=bounds.max)
            parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _headers(*component_ids):
    names = ("RequestId", *component_ids)
    return {RESPONSE_HEADERS[name][0]: {"$ref": f"#/components/headers/{name}"}
            for name in names}


def _success(route):
    answer = {"description": route.summary, "headers": _headers()}
    if route.status == 204:
        return answer
    if route.media_type != "application/json":
        # A JSON-LD catalogue is a JSON document still; anything else is text or bytes.
        schema = {"type": "object" if route.media_type.endswith("+json") else "string"}
        return {**answer, "content": {route.media_type: {"schema": schema}}}
    if route.response is None:
        return {**answer, "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}}}
    schema = {"type": "array", "items": route.response} if route.many else route.response
    return {**answer, "content": {"application/json": {"schema": schema}}}


def _problem(route, status):
    return {
        "description": STANDARD_ERRORS[status],
        "headers": _headers(*PROBLEM_HEADERS.get(status, ())),
        "content": _problem_content(route, status),
    }


def _problem_content(route, status):
    """A page's own problems are pages too (the relay's, for a person); whatever the gateway
    answers before the page is made — a path that names no route, a refused query — is a
    problem+json."""
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    if route.media_type != HTML or status not in {*route.errors, 503, 504}:
        return problem
    page = {HTML: {"schema": {"type": "string"}}}
    return {**page, **problem} if status == 404 else page


def _errors_of(route):
    """Every problem status the route can answer: its own ``errors`` and those the gateway's
    route flow gives any route of its kind."""
    # 422 everywhere: a route refuses query parameters it does not declare. 429 everywhere:
    # each caller's requests are limited before the route does anything.
    statuses = set(route.errors) | {422, 429}
    if route.body:
        statuses |= {400, 413, 415}
    if not route.public:
        statuses |= {401}
    if route.roles:
        statuses.add(403)
    # A commune outside the caller's reach, or a path parameter its converter refuses (not a
    # UUID, not a number): the path names nothing.
    if PATH_PARAMETER.search(route.path):
        statuses.add(404)
    statuses |= {503, 504}
    return sorted(statuses)
