"""The OpenAPI document: valid OpenAPI 3, complete, and made from the very schemas that
validate requests — so what it says a request needs is what the gateway asks for."""

import inspect
import re
from importlib.metadata import version

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.web.handlers import HttpRequestHandler
from openapi_spec_validator import validate

from gateway.openapi import build_openapi, routes_of
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
def test_each_route_documents_its_body_answer_and_problems(document, operation_id, route):
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
        # Unknown fields are refused, and the document says so.
        assert documented_body["additionalProperties"] is False
    else:
        assert "requestBody" not in operation

    assert str(route.status) in operation["responses"]
    expected_problems = {422, 503, 504}
    if route.body:
        expected_problems |= {400, 413, 415}
    if not route.public:
        expected_problems.add(401)
    if route.roles:
        expected_problems.add(403)
    if "{insee}" in route.openapi_path:
        expected_problems.add(404)
    expected_problems |= set(route.errors)
    problems = {int(status): answer for status, answer in operation["responses"].items()
                if int(status) >= 400}
    assert set(problems) == expected_problems
    for answer in problems.values():
        assert answer["content"] == {"application/problem+json": {"schema": PROBLEM_REF}}

    assert ("security" in operation) == (not route.public)


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
    assert population["parameters"][1]["schema"]["type"] == "integer"


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
