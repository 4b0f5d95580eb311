"""Who may call what: token checks, roles, and which commune's data a caller reaches.

The gateway verifies tokens itself with the JWKS of identity; a refused token must cost
identity nothing, so these tests look at the calls the fake identity received.
"""

import time

import jwt
import pytest

from contracts.identity import (
    CITIZEN,
    COMMUNE_AGENT,
    METROPOLE_ADMIN,
    TOKEN_AUDIENCE,
    TOKEN_ISSUER,
)
from gateway.http import route
from gateway.service import GatewayService
from gateway.tests.fakes import (
    ADMIN_ID,
    AGENT_ID,
    LAVERUNE,
    MONTPELLIER,
    OMITTED,
    SigningKey,
    bearer,
)

pytestmark = pytest.mark.broker

NEW_AGENT = {"username": "agent.laverune2", "password": "a long enough secret",
             "role": COMMUNE_AGENT, "commune": LAVERUNE}


def assert_unauthorized(answer):
    assert answer.status_code == 401, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="communs"'


# -- tokens -----------------------------------------------------------------------------------


def test_a_valid_token_speaks_for_its_principal(gateway, api, agent_headers, fake_identity):
    answer = api.get("/api/v1/me", headers=agent_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == AGENT_ID
    assert fake_identity.called("get_principal") == [("get_principal", ("account", AGENT_ID), {})]


def test_no_token_is_401_and_asks_identity_nothing(gateway, api, fake_identity):
    assert_unauthorized(api.get("/api/v1/me"))
    assert fake_identity.calls == []


@pytest.mark.parametrize("authorization", [
    "Basic bWV0cm9wb2xlLmFkbWluOnNlY3JldA==",
    "Bearer",
    "Bearer    ",
    "Token abc.def.ghi",
])
def test_a_malformed_authorization_header_is_401_and_asks_identity_nothing(
        gateway, api, fake_identity, authorization):
    assert_unauthorized(api.get("/api/v1/me", headers={"Authorization": authorization}))
    assert fake_identity.calls == []


@pytest.mark.parametrize("garbage", [
    "not-a-token",
    "a.b.c",
    "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",  # {"alg": "ES256"} and no key id: nothing can verify it
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsifQ.e30.AAAA",  # HS256: not how identity signs
])
def test_a_garbage_token_is_401_and_asks_identity_nothing(gateway, api, fake_identity, garbage):
    assert_unauthorized(api.get("/api/v1/me", headers=bearer(garbage)))
    assert fake_identity.calls == []


def test_a_token_signed_by_another_key_with_the_same_key_id_is_401(
        gateway, api, fake_identity, signing_key):
    impostor = SigningKey.generate(kid=signing_key.kid)
    assert_unauthorized(api.get("/api/v1/me",
                                headers=bearer(impostor.token(ADMIN_ID, METROPOLE_ADMIN))))
    assert fake_identity.called("get_principal") == []


def test_a_token_naming_a_key_identity_does_not_publish_is_401(gateway, api, fake_identity):
    stranger = SigningKey.generate()
    assert_unauthorized(api.get("/api/v1/me",
                                headers=bearer(stranger.token(ADMIN_ID, METROPOLE_ADMIN))))
    assert fake_identity.called("get_principal") == []


def test_an_expired_token_is_401(gateway, api, fake_identity, signing_key):
    expired = signing_key.token(AGENT_ID, COMMUNE_AGENT, LAVERUNE,
                                iat=int(time.time()) - 1000, nbf=int(time.time()) - 1000,
                                exp=int(time.time()) - 100)
    assert_unauthorized(api.get("/api/v1/me", headers=bearer(expired)))
    assert fake_identity.called("get_principal") == []


@pytest.mark.parametrize("claims", [
    {"aud": "another-api"},
    {"iss": "another-issuer"},
    {"exp": OMITTED},
    {"sub": OMITTED},
], ids=["audience", "issuer", "no-expiry", "no-subject"])
def test_a_token_not_made_for_this_api_is_401(gateway, api, fake_identity, signing_key, claims):
    token = signing_key.token(AGENT_ID, COMMUNE_AGENT, LAVERUNE, **claims)
    assert_unauthorized(api.get("/api/v1/me", headers=bearer(token)))
    assert fake_identity.called("get_principal") == []


def test_an_unsigned_token_is_401(gateway, api, fake_identity, signing_key):
    unsigned = jwt.encode(
        {"iss": TOKEN_ISSUER, "aud": TOKEN_AUDIENCE, "sub": ADMIN_ID, "kind": "account",
         "role": METROPOLE_ADMIN, "commune": None, "iat": int(time.time()),
         "exp": int(time.time()) + 600},
        None, algorithm="none", headers={"kid": signing_key.kid})
    assert_unauthorized(api.get("/api/v1/me", headers=bearer(unsigned)))
    assert fake_identity.called("get_principal") == []


def test_the_public_keys_are_fetched_once_not_per_request(
        gateway, api, fake_identity, agent_headers, admin_headers):
    for headers in (agent_headers, admin_headers, agent_headers):
        assert api.get("/api/v1/me", headers=headers).status_code == 200
    assert len(fake_identity.called("public_keys")) == 1


# -- roles ------------------------------------------------------------------------------------


def test_an_agent_may_not_create_accounts(gateway, api, fake_identity, agent_headers):
    answer = api.post("/api/v1/accounts", headers=agent_headers, json=NEW_AGENT)
    assert answer.status_code == 403, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert fake_identity.called("create_account") == []


def test_an_admin_creates_an_account_and_is_told_where_it_is(
        gateway, api, fake_identity, admin_headers):
    account_id = "6f1c3a52-8d2e-4a4b-9b1e-1f2d3c4b5a69"
    fake_identity.answers["create_account"] = lambda new_account, created_by: {
        "id": account_id, "username": new_account["username"], "role": new_account["role"],
        "commune": new_account["commune"], "created_at": "2026-03-02T09:00:00+00:00"}
    answer = api.post("/api/v1/accounts", headers=admin_headers, json=NEW_AGENT)
    assert answer.status_code == 201, answer.text
    assert answer.headers["Location"] == f"/api/v1/accounts/{account_id}"
    assert answer.json()["id"] == account_id
    # The body travels as sent (the service loads it again); the creator is the token's.
    assert fake_identity.called("create_account") == [
        ("create_account", (NEW_AGENT,), {"created_by": ADMIN_ID})]


def test_an_agent_may_not_read_the_login_audit(gateway, api, fake_identity, agent_headers):
    assert api.get("/api/v1/audit/logins", headers=agent_headers).status_code == 403
    assert fake_identity.called("login_events") == []


# -- commune reach ----------------------------------------------------------------------------


def test_an_agent_reaches_its_own_commune(gateway, api, fake_identity, agent_headers):
    answer = api.get(f"/api/v1/communes/{LAVERUNE}/accounts", headers=agent_headers)
    assert answer.status_code == 200, answer.text
    assert fake_identity.called("accounts_of_commune") == [
        ("accounts_of_commune", (LAVERUNE,), {})]


def test_another_commune_does_not_exist_for_an_agent(gateway, api, fake_identity, agent_headers):
    other = api.get(f"/api/v1/communes/{MONTPELLIER}/accounts", headers=agent_headers)
    absent = api.get("/api/v1/communes/99999/accounts", headers=agent_headers)
    assert other.status_code == 404
    # Nothing tells Montpellier apart from a commune that does not exist.
    assert other.json() == absent.json()
    assert fake_identity.called("accounts_of_commune") == []


def test_an_admin_reaches_every_member_commune(gateway, api, fake_identity, admin_headers):
    for commune in (LAVERUNE, MONTPELLIER):
        answer = api.get(f"/api/v1/communes/{commune}/accounts", headers=admin_headers)
        assert answer.status_code == 200, answer.text
    assert [args for _, args, _ in fake_identity.called("accounts_of_commune")] == [
        (LAVERUNE,), (MONTPELLIER,)]


def test_a_code_that_is_no_member_commune_is_404_even_for_an_admin(
        gateway, api, fake_identity, admin_headers):
    # 34001 (Abeilhan) is in the Hérault but not in the Metropole.
    for code in ("34001", "99999", "lavérune"):
        answer = api.get(f"/api/v1/communes/{code}/accounts", headers=admin_headers)
        assert answer.status_code == 404, (code, answer.text)
    assert fake_identity.called("accounts_of_commune") == []


@pytest.mark.parametrize("role", [CITIZEN, "company"])
def test_citizens_and_companies_reach_no_commune_route(
        gateway, api, fake_identity, signing_key, role):
    headers = bearer(signing_key.token("a-citizen", role))
    answer = api.get(f"/api/v1/communes/{LAVERUNE}/accounts", headers=headers)
    assert answer.status_code == 404
    assert fake_identity.called("accounts_of_commune") == []


class GatewayWithAPublishedCommuneRoute(GatewayService):
    """Published things (datasets, consultations) will be read without a token under a
    commune's path; this route stands for them until they come."""

    @route("GET", "/api/v1/communes/<insee>/published", summary="Published things",
           tag="test", public=True)
    def published(self, request, insee, **_):
        return {"commune": insee}


def test_a_public_commune_route_is_open_to_anyone_for_a_member_commune(start_gateway, api):
    start_gateway(GatewayWithAPublishedCommuneRoute)
    for commune in (LAVERUNE, MONTPELLIER):
        answer = api.get(f"/api/v1/communes/{commune}/published")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"commune": commune}
    assert api.get("/api/v1/communes/99999/published").status_code == 404
