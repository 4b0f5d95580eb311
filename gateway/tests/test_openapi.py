"""The OpenAPI document: valid OpenAPI 3, complete, and made from the very schemas that
validate requests — so what it says a request needs is what the gateway asks for."""

import inspect
import json
import re
import uuid
from importlib.metadata import version

import pytest
from marshmallow import INCLUDE, ValidationError
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.web.handlers import HttpRequestHandler
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from werkzeug import exceptions as werkzeug_exceptions

from contracts.accessibility import WEEKDAYS, NewReceptionPointSchema
from contracts.billing import NewExtraSchema
from contracts.communes import MEMBER_COMMUNES
from contracts.errors import ALL_ERRORS, Invalid, InvalidRows, TooManyRequests, Unauthorized
from contracts.eservices import FieldDefinitionSchema
from contracts.identity import NewAccountSchema, TokenRequestSchema
from contracts.opendata import TableSchemaChoiceSchema
from contracts.participation import PHASES, ModerationSchema, NewProcessSchema
from contracts.subscriptions import (
    ConventionApplicationSchema,
    DecisionSchema,
    NewConventionSchema,
)
from gateway.openapi import build_openapi, routes_of
from gateway.problems import problem_from_exception
from gateway.service import GatewayService

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def document():
    return build_openapi(GatewayService, version("communs"))


def component(document, reference):
    name = reference["$ref"].removeprefix("#/components/schemas/")
    return document["components"]["schemas"][name]


def http_entrypoints(service_cls):
    """(METHOD, OpenAPI path) of every HTTP entrypoint the service has, declared through
    ``route`` or not."""
    for _, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, HttpRequestHandler):
                yield entrypoint.method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", entrypoint.url)


def test_the_document_is_valid_openapi_3(document):
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_http_entrypoint_is_documented_and_nothing_else(document):
    documented = {(method.upper(), path) for path, operations in document["paths"].items()
                  for method in operations}
    assert documented == set(http_entrypoints(GatewayService))


ROUTES = sorted(routes_of(GatewayService), key=lambda item: item[0])


@pytest.mark.parametrize(("operation_id", "route"), ROUTES, ids=[name for name, _ in ROUTES])
def test_each_route_documents_its_body_answer_and_security(document, operation_id, route):
    operation = document["paths"][route.openapi_path][route.method.lower()]
    assert operation["operationId"] == operation_id

    if route.body:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        # A field's name on the wire is its data_key when it has one.
        fields = {field.data_key or name: field for name, field in route.body().fields.items()}
        documented_body = component(document, schema)
        assert set(documented_body["properties"]) == set(fields)
        assert set(documented_body.get("required", ())) == {
            name for name, field in fields.items() if field.required}
        # Unknown fields are refused, and the document says so; a body of another's making
        # (the operator's callbacks) is taken whole, and the document says that too.
        assert documented_body["additionalProperties"] is (route.body.Meta.unknown == INCLUDE)
    else:
        assert "requestBody" not in operation

    assert str(route.status) in operation["responses"]
    assert ("security" in operation) == (not route.public)


def problems_a_route_can_answer(route):
    """What the gateway's route flow answers for a route of this kind, beside its own errors:
    422 for an undeclared query parameter and 429 past the caller's rate on every route; a body
    unreadable (400), too large (413) or not JSON (415); no token or a bad one (401); a role
    the route does not admit (403); a path naming nothing, such as a commune out of reach or a
    parameter that is no UUID (404); a service stopped (503) or too slow (504)."""
    statuses = {422, 429, 503, 504} | set(route.errors)
    if route.body:
        statuses |= {400, 413, 415}
    if not route.public:
        statuses.add(401)
    if route.roles:
        statuses.add(403)
    if "{" in route.openapi_path:
        statuses.add(404)
    return statuses


def header_refs(answer):
    return {name: header["$ref"] for name, header in answer["headers"].items()}


@pytest.mark.parametrize(("operation_id", "route"), ROUTES, ids=[name for name, _ in ROUTES])
def test_every_problem_a_route_can_answer_is_documented_as_a_problem(document, operation_id,
                                                                     route):
    operation = document["paths"][route.openapi_path][route.method.lower()]
    problems = {int(status): answer for status, answer in operation["responses"].items()
                if int(status) >= 400}
    # The HTTP server's own refusal of a request line too long to read: no body, no header.
    assert problems.pop(414) == {"$ref": "#/components/responses/UriTooLong"}
    assert set(document["components"]["responses"]["UriTooLong"]) == {"description"}

    assert set(problems) == problems_a_route_can_answer(route)
    for status, answer in problems.items():
        expected_content = {"application/problem+json": {"schema": PROBLEM_REF}}
        if route.media_type == "text/html" and status in {*route.errors, 503, 504}:
            # A page's own problems are pages, for a person; a 404 may also be the gateway's,
            # for a path that names no route.
            page = {"text/html": {"schema": {"type": "string"}}}
            expected_content = {**page, **expected_content} if status == 404 else page
        assert answer["content"] == expected_content
        expected_headers = {"X-Request-Id": "#/components/headers/RequestId"}
        if status == 401:
            expected_headers["WWW-Authenticate"] = "#/components/headers/WWWAuthenticate"
        if status == 429:
            expected_headers["Retry-After"] = "#/components/headers/RetryAfter"
        assert header_refs(answer) == expected_headers
    assert header_refs(operation["responses"][str(route.status)]) == {
        "X-Request-Id": "#/components/headers/RequestId"}


def test_the_documented_headers_are_what_problems_carry(document):
    headers = document["components"]["headers"]
    retry_after = problem_from_exception(TooManyRequests(retry_after=30))
    assert retry_after.headers["Retry-After"] == "30"
    assert headers["RetryAfter"]["schema"] == {"type": "integer", "minimum": 0}
    unauthorized = problem_from_exception(Unauthorized())
    assert re.match(headers["WWWAuthenticate"]["schema"]["pattern"],
                    unauthorized.headers["WWW-Authenticate"])
    assert re.match(headers["RequestId"]["schema"]["pattern"], uuid.uuid4().hex)
    assert all(header["required"] for header in headers.values())


def test_the_bearer_jwt_scheme_is_declared_and_required_by_every_non_public_operation(
        document):
    assert document["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    for operation_id, route in ROUTES:
        operation = document["paths"][route.openapi_path][route.method.lower()]
        if route.public:
            assert "security" not in operation, operation_id
        else:
            assert operation["security"] == [{"bearer": []}], operation_id
    assert "security" not in document


def test_query_parameters_come_from_the_query_schema(document):
    (parameter,) = document["paths"]["/api/v1/audit/logins"]["get"]["parameters"]
    assert (parameter["name"], parameter["in"]) == ("limit", "query")
    assert (parameter["schema"]["minimum"], parameter["schema"]["maximum"]) == (1, 1000)


def test_the_commune_path_parameter_is_an_insee_code(document):
    (parameter,) = document["paths"]["/api/v1/communes/{insee}/accounts"]["get"]["parameters"]
    assert (parameter["name"], parameter["in"], parameter["required"]) == ("insee", "path", True)


# The gateway routes of subscriptions and billing (docs: ../notes/issue3-interface.md).
SUBSCRIPTIONS_AND_BILLING = {
    ("get", "/api/v1/communes"),
    ("get", "/api/v1/communes/{insee}"),
    ("patch", "/api/v1/communes/{insee}"),
    ("put", "/api/v1/communes/{insee}/populations/{vintage}"),
    ("post", "/api/v1/conventions"),
    ("get", "/api/v1/conventions"),
    ("post", "/api/v1/conventions/{convention_id}/amendments"),
    ("post", "/api/v1/communes/{insee}/subscription-requests"),
    ("get", "/api/v1/communes/{insee}/subscription-requests"),
    ("post", "/api/v1/communes/{insee}/subscription-requests/{request_id}/decision"),
    ("post", "/api/v1/communes/{insee}/termination"),
    ("get", "/api/v1/communes/{insee}/terminations"),
    ("get", "/api/v1/billing/shares"),
    ("get", "/api/v1/communes/{insee}/billing/titles"),
    ("post", "/api/v1/billing/titles/issue"),
    ("get", "/api/v1/billing/titles/late"),
    ("post", "/api/v1/billing/titles/{number}/correction"),
    ("post", "/api/v1/communes/{insee}/billing/extras"),
    ("get", "/api/v1/communes/{insee}/billing/extras"),
}


def test_the_routes_of_subscriptions_and_billing_are_listed(document):
    listed = {(method, path) for path, operations in document["paths"].items()
              for method in operations}
    assert SUBSCRIPTIONS_AND_BILLING <= listed


def test_every_path_parameter_is_declared_with_its_type(document):
    decision = document["paths"][
        "/api/v1/communes/{insee}/subscription-requests/{request_id}/decision"]["post"]
    assert [(p["name"], p["schema"].get("format")) for p in decision["parameters"]] == [
        ("insee", None), ("request_id", "uuid")]
    population = document["paths"]["/api/v1/communes/{insee}/populations/{vintage}"]["put"]
    # The vintages PopulationSchema admits, which the route checks the path's against.
    assert population["parameters"][1]["schema"] == {"type": "integer", "minimum": 1990,
                                                     "maximum": 2100}


def test_the_idempotency_key_header_is_documented(document):
    (header,) = document["paths"]["/api/v1/billing/titles/issue"]["post"]["parameters"]
    assert (header["name"], header["in"], header["required"]) == ("Idempotency-Key", "header",
                                                                  False)
    assert header["schema"]["pattern"] == r"^[\x20-\x7e]{1,255}$"


def test_a_year_is_a_required_query_parameter_of_annex_1(document):
    (year,) = document["paths"]["/api/v1/billing/shares"]["get"]["parameters"]
    assert (year["name"], year["in"], year["required"]) == ("year", "query", True)


def test_decimals_are_documented_as_the_strings_they_are(document):
    extra = document["components"]["schemas"]["NewExtra"]["properties"]
    for name in ("quantity", "unit_price"):
        assert (extra[name]["type"], extra[name]["format"]) == ("string", "decimal")
        assert "minimum" not in extra[name]


# -- served -----------------------------------------------------------------------------------


@pytest.mark.broker
def test_the_gateway_serves_the_document_without_a_token(gateway, api, document):
    answer = api.get("/api/v1/openapi.json")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    validate(answer.json())
    assert answer.json() == document


@pytest.mark.broker
@pytest.mark.parametrize(("path", "schema_name"), [
    ("/api/v1/accounts", "NewAccount"),
    ("/api/v1/api-clients", "NewApiClient"),
    ("/api/v1/conventions", "NewConvention"),
    ("/api/v1/billing/titles/issue", "IssueTitles"),
])
def test_what_the_document_requires_is_what_a_request_is_told_it_misses(
        gateway, api, admin_headers, fake_identity, path, schema_name):
    served = api.get("/api/v1/openapi.json").json()
    reference = served["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    assert reference["schema"] == {"$ref": f"#/components/schemas/{schema_name}"}
    required = set(component(served, reference["schema"])["required"])

    answer = api.post(path, headers=admin_headers, json={})
    assert answer.status_code == 422, answer.text
    assert set(answer.json()["errors"]) == required
    assert fake_identity.calls == [("public_keys", (), {})]


def test_no_two_route_mixins_name_a_method_alike():
    """A mixin's method of the same name as another's would hide its route."""
    owners = {}
    for mixin in GatewayService.__mro__[1:]:
        for name, member in vars(mixin).items():
            if hasattr(member, "__route__"):
                owners.setdefault(name, []).append(mixin.__name__)
    assert {name: found for name, found in owners.items() if len(found) > 1} == {}


# -- what JSON Schema can say of a contract, the document says ---------------------------------

DECIMALS = ["150.11", "0", "0.00", "0.01", "7", "-1", "-0.5", "1.234", "1e3", " 1", "+1",
            "\u0661\u0662", "1234567890.99", "12345678901", "", "."]


@pytest.mark.parametrize(("schema", "name"), [
    (NewExtraSchema, "unit_price"),
    (NewExtraSchema, "quantity"),
    (ConventionApplicationSchema, "annual_cost"),
    (FieldDefinitionSchema, "minimum"),
])
def test_a_decimal_string_is_documented_with_the_pattern_of_what_it_accepts(document, schema,
                                                                            name):
    field = schema().fields[name]
    documented = document["components"]["schemas"][component_name(schema)]["properties"][name]
    assert (documented["type"], documented["format"]) == ("string", "decimal")
    for value in DECIMALS:
        try:
            field.deserialize(value)
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == bool(re.search(documented["pattern"], value)), value


def component_name(schema):
    return schema.__name__.removesuffix("Schema")


@pytest.mark.parametrize(("schema", "name", "keys"), [
    (NewReceptionPointSchema, "weekly_hours", list(WEEKDAYS)),
    (NewProcessSchema, "phases", list(PHASES)),
    (NewConventionSchema, "initial_subscriptions", sorted(MEMBER_COMMUNES)),
])
def test_a_dictionary_of_a_few_keys_documents_each_and_no_other(document, schema, name, keys):
    documented = document["components"]["schemas"][component_name(schema)]["properties"][name]
    assert list(documented["properties"]) == keys
    assert documented["additionalProperties"] is False


def test_a_nested_object_that_may_be_null_is_that_object_or_null_only(document):
    location = document["components"]["schemas"]["NewProposal"]["properties"]["location"]
    assert location["anyOf"] == [{"$ref": "#/components/schemas/Location"},
                                 {"type": "object", "nullable": True, "enum": [None]}]


def test_a_member_commune_is_one_of_the_31_codes(document):
    assert document["components"]["schemas"]["NewApiClient"]["properties"]["commune"][
        "enum"] == sorted(MEMBER_COMMUNES)
    (insee,) = document["paths"]["/api/v1/communes/{insee}/accounts"]["get"]["parameters"]
    assert insee["schema"]["enum"] == sorted(MEMBER_COMMUNES)


LAVERUNE = "34134"
# Bodies each contract's rules between fields accept or refuse; the document must agree.
RULED_BODIES = [
    (TokenRequestSchema, {"username": "ada", "password": "secret"}),
    (TokenRequestSchema, {"client_id": "portal", "client_secret": "secret"}),
    (TokenRequestSchema, {}),
    (TokenRequestSchema, {"username": "ada"}),
    (TokenRequestSchema, {"username": "ada", "password": "secret", "client_id": "portal"}),
    (NewAccountSchema, {"username": "agent.laverune", "password": "a long enough secret",
                        "role": "commune_agent", "commune": LAVERUNE}),
    (NewAccountSchema, {"username": "agent.laverune", "password": "a long enough secret",
                        "role": "commune_agent"}),
    (NewAccountSchema, {"username": "agent.laverune", "password": "a long enough secret",
                        "role": "commune_agent", "commune": None}),
    (NewAccountSchema, {"username": "admin.two", "password": "a long enough secret",
                        "role": "metropole_admin"}),
    (NewAccountSchema, {"username": "admin.two", "password": "a long enough secret",
                        "role": "metropole_admin", "commune": LAVERUNE}),
    (DecisionSchema, {"decision": "accept"}),
    (DecisionSchema, {"decision": "refuse"}),
    (DecisionSchema, {"decision": "refuse", "reason": "Outside the convention."}),
    (ModerationSchema, {"hidden": False}),
    (ModerationSchema, {"hidden": True}),
    (ModerationSchema, {"hidden": True, "reason": None}),
    (ModerationSchema, {"hidden": True, "reason": "Insulting."}),
    (TableSchemaChoiceSchema, {"name": "scdl/deliberations"}),
    (TableSchemaChoiceSchema, {"descriptor": {"fields": []}}),
    (TableSchemaChoiceSchema, {}),
    (TableSchemaChoiceSchema, {"name": "scdl/deliberations", "descriptor": {}}),
    (FieldDefinitionSchema, {"name": "age", "label": "Age", "type": "integer"}),
    (FieldDefinitionSchema, {"name": "size", "label": "Size", "type": "choice"}),
    (FieldDefinitionSchema, {"name": "size", "label": "Size", "type": "choice", "choices": []}),
    (FieldDefinitionSchema, {"name": "size", "label": "Size", "type": "choice",
                             "choices": ["S", "M"]}),
    (NewProcessSchema, {"title": "Parc", "description": "Un parc", "kind": "petition",
                        "phases": {}}),
    (NewProcessSchema, {"title": "Parc", "description": "Un parc", "kind": "petition",
                        "phases": {}, "threshold": 100}),
    (NewProcessSchema, {"title": "Parc", "description": "Un parc",
                        "kind": "participatory_budget", "phases": {}, "budget": None}),
    (NewProcessSchema, {"title": "Parc", "description": "Un parc",
                        "kind": "participatory_budget", "phases": {}, "budget": "5000.00"}),
]


@pytest.mark.parametrize(("schema", "body"), RULED_BODIES,
                         ids=[f"{schema.__name__}-{index}"
                              for index, (schema, _) in enumerate(RULED_BODIES)])
def test_the_rules_between_fields_are_in_the_document(document, schema, body):
    documented = OAS30Validator({"$ref": f"#/components/schemas/{component_name(schema)}",
                                 "components": document["components"]})
    try:
        schema().load(body)
        accepted = True
    except ValidationError:
        accepted = False
    assert documented.is_valid(body) == accepted


PROBLEMS = [
    *(error() for error in ALL_ERRORS if not issubclass(error, Invalid)),
    Invalid({"name": ["Missing data for required field."]}),
    InvalidRows({"content": ["2 rows are invalid."]}, "2 rows are invalid.",
                [[2, "phone", "Not a phone number."]], 2),
    werkzeug_exceptions.NotFound(),
    werkzeug_exceptions.MethodNotAllowed(valid_methods=["GET"]),
    werkzeug_exceptions.RequestEntityTooLarge(),
    werkzeug_exceptions.BadRequest(),
    RuntimeError("unexpected"),
]


@pytest.mark.parametrize("error", PROBLEMS, ids=[type(error).__name__ for error in PROBLEMS])
def test_every_problem_the_gateway_answers_is_of_a_documented_type(document, error):
    answer = json.loads(problem_from_exception(error).get_data())
    documented = document["components"]["schemas"]["Problem"]["properties"]["type"]
    assert answer["type"] in documented["enum"]
