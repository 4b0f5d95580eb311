"""The OpenAPI 3 document, generated from the routes' own declarations and contract schemas."""

import inspect
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from gateway.http import COMMUNE_PATH_PARAMETER

PATH_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
# What each werkzeug converter of a route's path lets through.
CONVERTER_SCHEMAS = {
    None: {"type": "string"},
    "int": {"type": "integer", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
}
COMMUNE_PARAMETER = {
    "name": COMMUNE_PATH_PARAMETER,
    "in": "path",
    "required": True,
    "description": "INSEE code of a member commune",
    "schema": {"type": "string", "pattern": r"^\d{5}$", "example": "34134"},
}

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "for 422: each invalid field and what is wrong with it",
        },
    },
}

STANDARD_ERRORS = {
    400: "Malformed request (the body is not JSON)",
    401: "Missing, invalid or expired access token",
    403: "The caller's role may not do this",
    404: "Not found, or outside the caller's commune",
    409: "Conflicts with the current state",
    410: "Gone for good (a replaced link); the detail says where to go instead",
    413: "Body too large",
    415: "The body is not sent as application/json",
    422: "Invalid fields or query parameters, each named in `errors`",
    429: "Too many attempts; see Retry-After",
    503: "A service this route needs is not running; the detail names it",
    504: "A service this route needs did not answer in time",
}


def routes_of(service_cls):
    for _, method in inspect.getmembers(service_cls, inspect.isfunction):
        spec = getattr(method, "__route__", None)
        if spec is not None:
            yield method.__name__, spec


def decimal_strings(converter, field, ret):
    """Decimals travel as strings ("150.11"): documented so, their bounds kept as extensions,
    since JSON Schema bounds apply to numbers only (a string bound is an invalid document)."""
    if not (isinstance(field, fields.Decimal) and field.as_string):
        return {}
    for bound in ("minimum", "maximum"):
        if bound in ret:
            ret[f"x-{bound}"] = ret.pop(bound)
    return {"type": "string", "format": ret.get("format", "decimal")}


def build_openapi(service_cls, version):
    marshmallow_plugin = MarshmallowPlugin()
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
    marshmallow_plugin.converter.add_attribute_function(decimal_strings)
    spec.components.schema("Problem", PROBLEM)
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
            **{str(status): _problem(STANDARD_ERRORS[status]) for status in _errors_of(route)},
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
            schema = CONVERTER_SCHEMAS[converter or None]
            parameters.append(
                {"name": name, "in": "path", "required": True, "schema": dict(schema)}
            )
    return parameters


def _success(route):
    if route.status == 204:
        return {"description": route.summary}
    if route.media_type != "application/json":
        return {"description": route.summary,
                "content": {route.media_type: {"schema": {"type": "string"}}}}
    if route.response is None:
        return {
            "description": "OK",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    schema = {"type": "array", "items": route.response} if route.many else route.response
    return {"description": route.summary, "content": {"application/json": {"schema": schema}}}


def _problem(description):
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _errors_of(route):
    # 422 everywhere: a route refuses query parameters it does not declare.
    statuses = set(route.errors) | {422}
    if route.body:
        statuses |= {400, 413, 415}
    if not route.public:
        statuses |= {401}
    if route.roles:
        statuses.add(403)
    if f"<{COMMUNE_PATH_PARAMETER}>" in route.path:
        statuses.add(404)
    statuses |= {503, 504}
    return sorted(statuses)
