"""The OpenAPI 3 document, generated from the routes' own declarations and contract schemas."""

import inspect

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gateway.http import COMMUNE_PATH_PARAMETER

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
    413: "Body too large",
    415: "The body is not sent as application/json",
    422: "Invalid fields or query parameters, each named in `errors`",
    429: "Too many attempts; see Retry-After",
    503: "A service did not answer in time",
}


def routes_of(service_cls):
    for _, method in inspect.getmembers(service_cls, inspect.isfunction):
        spec = getattr(method, "__route__", None)
        if spec is not None:
            yield method.__name__, spec


def build_openapi(service_cls, version):
    spec = APISpec(
        title="communs — shared digital services of Montpellier Méditerranée Métropole",
        version=version,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": (
                "One API for the 31 communes, their citizens and companies, and Metropole "
                "operators. Errors are application/problem+json (RFC 9457). Money is a "
                "decimal string with two places; dates are ISO 8601."
            )
        },
    )
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
    parameters = []
    if f"<{COMMUNE_PATH_PARAMETER}>" in route.path:
        parameters.append(
            {
                "name": COMMUNE_PATH_PARAMETER,
                "in": "path",
                "required": True,
                "description": "INSEE code of a member commune",
                "schema": {"type": "string", "pattern": r"^\d{5}$", "example": "34134"},
            }
        )
    if route.query:
        parameters.append({"in": "query", "schema": route.query})
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": route.body}},
        }
    return operation


def _success(route):
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
    statuses.add(503)
    return sorted(statuses)
