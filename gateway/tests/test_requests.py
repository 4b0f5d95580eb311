"""What the gateway accepts as a request: JSON objects within the size limit, fields and
query parameters the contract knows. Anything else is refused before any service is called."""

import json

import pytest

from contracts.identity import COMMUNE_AGENT
from gateway.http import MAX_BODY_BYTES
from gateway.tests.fakes import LAVERUNE

pytestmark = pytest.mark.broker

NEW_AGENT = {"username": "agent.laverune2", "password": "a long enough secret",
             "role": COMMUNE_AGENT, "commune": LAVERUNE}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def identity_creates_accounts(fake_identity):
    fake_identity.answers["create_account"] = lambda new_account, created_by: {
        "id": "6f1c3a52-8d2e-4a4b-9b1e-1f2d3c4b5a69", "username": new_account["username"],
        "role": new_account["role"], "commune": new_account["commune"],
        "created_at": "2026-03-02T09:00:00+00:00"}
    return fake_identity


def padded_to(size, payload):
    """``payload`` as JSON of exactly ``size`` bytes (trailing whitespace is still JSON)."""
    text = json.dumps(payload).encode()
    return text + b" " * (size - len(text))


def in_chunks(data, chunk_size=64 * 1024):
    """A body sent with Transfer-Encoding: chunked, without Content-Length."""
    for start in range(0, len(data), chunk_size):
        yield data[start:start + chunk_size]


def assert_refused(answer, status, fake_identity):
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert fake_identity.called("create_account") == []
    return answer.json()


# -- size -------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413(gateway, api, identity_creates_accounts, admin_headers):
    answer = api.post("/api/v1/accounts", headers={**admin_headers, **JSON},
                      data=padded_to(MAX_BODY_BYTES + 1, NEW_AGENT))
    assert_refused(answer, 413, identity_creates_accounts)


def test_a_body_at_the_limit_is_read(gateway, api, identity_creates_accounts, admin_headers):
    answer = api.post("/api/v1/accounts", headers={**admin_headers, **JSON},
                      data=padded_to(MAX_BODY_BYTES, NEW_AGENT))
    assert answer.status_code == 201, answer.text


def test_a_chunked_body_over_the_limit_is_413(gateway, api, identity_creates_accounts,
                                              admin_headers):
    answer = api.post("/api/v1/accounts", headers={**admin_headers, **JSON},
                      data=in_chunks(padded_to(MAX_BODY_BYTES + 1, NEW_AGENT)))
    assert_refused(answer, 413, identity_creates_accounts)


def test_a_chunked_body_within_the_limit_is_read(gateway, api, identity_creates_accounts,
                                                 admin_headers):
    answer = api.post("/api/v1/accounts", headers={**admin_headers, **JSON},
                      data=in_chunks(json.dumps(NEW_AGENT).encode(), chunk_size=10))
    assert answer.status_code == 201, answer.text


# -- form -------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/xml"])
def test_a_body_not_sent_as_json_is_415(gateway, api, identity_creates_accounts, admin_headers,
                                         content_type):
    answer = api.post("/api/v1/accounts", headers={**admin_headers, "Content-Type": content_type},
                      data=json.dumps(NEW_AGENT))
    assert_refused(answer, 415, identity_creates_accounts)


def test_json_sent_with_a_charset_is_json(gateway, api, identity_creates_accounts, admin_headers):
    answer = api.post("/api/v1/accounts",
                      headers={**admin_headers, "Content-Type": "application/json; charset=utf-8"},
                      data=json.dumps(NEW_AGENT))
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("malformed", [b'{"username": "agent.laverune2",', b"{'a': 1}", b"\xff\xfe",
                                       b""])
def test_a_body_that_is_not_json_is_400(gateway, api, identity_creates_accounts, admin_headers,
                                        malformed):
    answer = api.post("/api/v1/accounts", headers={**admin_headers, **JSON}, data=malformed)
    assert_refused(answer, 400, identity_creates_accounts)


@pytest.mark.parametrize("not_an_object", [[], [NEW_AGENT], "agent", 42, None])
def test_json_that_is_not_an_object_is_422(gateway, api, identity_creates_accounts,
                                           admin_headers, not_an_object):
    answer = api.post("/api/v1/accounts", headers={**admin_headers, **JSON},
                      data=json.dumps(not_an_object))
    body = assert_refused(answer, 422, identity_creates_accounts)
    assert body["errors"] == {"_schema": ["Expected a JSON object."]}


# -- fields -----------------------------------------------------------------------------------


def test_an_unknown_field_is_422_naming_it(gateway, api, identity_creates_accounts,
                                           admin_headers):
    answer = api.post("/api/v1/accounts", headers=admin_headers,
                      json={**NEW_AGENT, "is_superuser": True})
    body = assert_refused(answer, 422, identity_creates_accounts)
    assert body["errors"] == {"is_superuser": ["Unknown field."]}
    assert "is_superuser" in body["detail"]


def test_each_missing_field_is_named(gateway, api, identity_creates_accounts, admin_headers):
    answer = api.post("/api/v1/accounts", headers=admin_headers,
                      json={"username": "agent.laverune2"})
    body = assert_refused(answer, 422, identity_creates_accounts)
    assert set(body["errors"]) == {"password", "role"}


def test_a_field_breaking_a_rule_is_named_with_the_rule(gateway, api, identity_creates_accounts,
                                                        admin_headers):
    answer = api.post("/api/v1/accounts", headers=admin_headers,
                      json={**NEW_AGENT, "commune": "34001"})
    body = assert_refused(answer, 422, identity_creates_accounts)
    assert body["errors"] == {
        "commune": ["Not one of the 31 member communes of the Metropole."]}


# -- query parameters -------------------------------------------------------------------------


@pytest.fixture
def identity_lists_logins(fake_identity):
    fake_identity.answers["login_events"] = lambda limit: []
    return fake_identity


def test_a_declared_query_parameter_is_loaded(gateway, api, identity_lists_logins,
                                              admin_headers):
    answer = api.get("/api/v1/audit/logins", params={"limit": "5"}, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert identity_lists_logins.called("login_events") == [("login_events", (5,), {})]


def test_an_unknown_query_parameter_is_422_naming_it(gateway, api, identity_lists_logins,
                                                     admin_headers):
    answer = api.get("/api/v1/audit/logins", params={"limt": "5"}, headers=admin_headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == {"limt": ["Unknown field."]}
    assert identity_lists_logins.called("login_events") == []


def test_an_invalid_query_parameter_is_422_naming_it(gateway, api, identity_lists_logins,
                                                     admin_headers):
    answer = api.get("/api/v1/audit/logins", params={"limit": "0"}, headers=admin_headers)
    assert answer.status_code == 422, answer.text
    assert set(answer.json()["errors"]) == {"limit"}
    assert identity_lists_logins.called("login_events") == []


def test_a_route_without_query_parameters_refuses_any(gateway, api, fake_identity,
                                                      agent_headers):
    # A filter the route does not have must not be silently ignored: the caller would take
    # every account for the ones it asked for.
    answer = api.get(f"/api/v1/communes/{LAVERUNE}/accounts", params={"role": "commune_agent"},
                     headers=agent_headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == {"role": ["Unknown field."]}
    assert fake_identity.called("accounts_of_commune") == []


# -- correlation ids --------------------------------------------------------------------------


def test_a_sane_request_id_is_kept(gateway, api):
    answer = api.get("/health", headers={"X-Request-Id": "laverune-finance-0001"})
    assert answer.headers["X-Request-Id"] == "laverune-finance-0001"


@pytest.mark.parametrize("offered", [
    "", "short", "has spaces in it", "x" * 129, "<script>1</script>"])
def test_a_missing_or_odd_request_id_is_replaced(gateway, api, offered):
    answer = api.get("/health", headers={"X-Request-Id": offered})
    given = answer.headers["X-Request-Id"]
    assert given != offered
    assert len(given) == 32 and int(given, 16) >= 0


def test_an_error_answer_carries_its_request_id_too(gateway, api):
    answer = api.get("/api/v1/me", headers={"X-Request-Id": "laverune-finance-0002"})
    assert answer.status_code == 401
    assert answer.headers["X-Request-Id"] == "laverune-finance-0002"
