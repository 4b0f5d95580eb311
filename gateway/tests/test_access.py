"""Who may call what: token checks, roles, and which commune's data a caller reaches; and
who may call each route of identity (the table at the end).

The gateway verifies tokens itself with the JWKS of identity; a refused token must cost
identity nothing, so these tests look at the calls the fake identity received.
"""

import time
from dataclasses import dataclass, field

import jwt
import pytest

from contracts.identity import (
    CITIZEN,
    COMMUNE_AGENT,
    COMPANY,
    METROPOLE_ADMIN,
    TOKEN_AUDIENCE,
)
from gateway.http import route
from gateway.openapi import routes_of
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
        gateway, api, fake_identity, signing_key, suite_config):
    impostor = SigningKey.generate(suite_config, kid=signing_key.kid)
    assert_unauthorized(api.get("/api/v1/me",
                                headers=bearer(impostor.token(ADMIN_ID, METROPOLE_ADMIN))))
    assert fake_identity.called("get_principal") == []


def test_a_token_naming_a_key_identity_does_not_publish_is_401(gateway, api, fake_identity,
                                                                suite_config):
    stranger = SigningKey.generate(suite_config)
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
    # The constant issuer of earlier versions: tokens now come from the suite's public URL.
    {"iss": "communs-identity"},
    {"iss": OMITTED},
    {"exp": OMITTED},
    {"sub": OMITTED},
], ids=["audience", "issuer", "former-issuer", "no-issuer", "no-expiry", "no-subject"])
def test_a_token_not_made_for_this_api_is_401(gateway, api, fake_identity, signing_key, claims):
    token = signing_key.token(AGENT_ID, COMMUNE_AGENT, LAVERUNE, **claims)
    assert_unauthorized(api.get("/api/v1/me", headers=bearer(token)))
    assert fake_identity.called("get_principal") == []


def test_an_unsigned_token_is_401(gateway, api, fake_identity, signing_key):
    unsigned = jwt.encode(
        {"iss": signing_key.issuer, "aud": TOKEN_AUDIENCE, "sub": ADMIN_ID, "kind": "account",
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


# -- who may call each route of identity ------------------------------------------------------
# Every identity route is in this table (the test below checks it), as the other services'
# are in test_subscriptions_billing_access.py.

ANY_ACCOUNT = "any account"
PUBLIC = "anyone, without a token"
ADMIN = (METROPOLE_ADMIN,)
ADMIN_OR_AGENT = (METROPOLE_ADMIN, COMMUNE_AGENT)
CITIZENS = (CITIZEN,)
VERIFICATION_TOKEN = "dGhlIHNlY3JldCBvZiBhIGxpbms"
NEW_CITIZEN = {"email": "ada@example.org", "password": "analytical engine 1843",
               "given_name": "Ada", "family_name": "Lovelace"}
NEW_COMPANY = {"email": "appels.offres@travaux-du-lez.example.fr",
               "password": "a long enough secret", "company_name": "Travaux du Lez",
               "siret": "73282932000074", "contact_name": "Camille Roux"}


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # {insee} stands for the commune the caller tries to reach
    rpc: str
    allowed: object  # roles, ANY_ACCOUNT or PUBLIC
    status: int = 200
    json: dict | None = None
    params: dict = field(default_factory=dict)
    service: str = "identity"

    def url(self, commune=LAVERUNE):
        return self.path.replace("{insee}", commune)


IDENTITY_CALLS = [
    Call("POST", "/api/v1/auth/token", "issue_token", PUBLIC,
         json={"username": "agent.laverune", "password": "a long enough secret"}),
    Call("GET", "/.well-known/jwks.json", "public_keys", PUBLIC),
    Call("GET", "/.well-known/openid-configuration", "openid_configuration", PUBLIC),
    Call("GET", "/api/v1/me", "get_principal", ANY_ACCOUNT),
    Call("GET", "/api/v1/me/userinfo", "userinfo", ANY_ACCOUNT),
    Call("GET", "/api/v1/me/export", "export_personal_data", CITIZENS),
    Call("DELETE", "/api/v1/me", "delete_citizen", CITIZENS, 204),
    Call("POST", "/api/v1/citizens", "sign_up_citizen", PUBLIC, 202, json=NEW_CITIZEN),
    Call("POST", "/api/v1/companies", "sign_up_company", PUBLIC, 202, json=NEW_COMPANY),
    Call("GET", "/api/v1/citizens/email-verification", "verify_email", PUBLIC,
         params={"token": VERIFICATION_TOKEN}),
    Call("POST", "/api/v1/citizens/email-verification", "resend_verification", PUBLIC, 202,
         json={"email": "ada@example.org"}),
    Call("POST", "/api/v1/accounts", "create_account", ADMIN, 201, json=NEW_AGENT),
    Call("POST", "/api/v1/api-clients", "create_api_client", ADMIN, 201,
         json={"name": "Logiciel de finances", "commune": LAVERUNE}),
    Call("GET", "/api/v1/communes/{insee}/accounts", "accounts_of_commune", ADMIN_OR_AGENT),
    Call("GET", "/api/v1/audit/logins", "login_events", ADMIN),
]
IDENTITY_IDS = [f"{call.method} {call.path}" for call in IDENTITY_CALLS]
NOW = "2026-03-02T09:00:00+00:00"


def identity_answers():
    """Plausible answers of identity's RPCs, in their wire form, for a test to override."""
    def principal(kind, principal_id):
        return {"kind": kind, "id": principal_id, "name": "someone", "role": CITIZEN,
                "commune": None, "email": None}

    def account(new_account, created_by):
        return {"id": ADMIN_ID, "username": new_account["username"],
                "role": new_account["role"], "commune": new_account.get("commune"),
                "created_at": NOW}

    return {
        "issue_token": lambda credentials, client_address: {
            "access_token": "a.b.c", "token_type": "Bearer", "expires_in": 900},
        "openid_configuration": lambda: {
            "issuer": "http://127.0.0.1", "jwks_uri": "http://127.0.0.1/.well-known/jwks.json",
            "token_endpoint": "http://127.0.0.1/api/v1/auth/token",
            "userinfo_endpoint": "http://127.0.0.1/api/v1/me/userinfo",
            "response_types_supported": ["token"],
            "grant_types_supported": ["password", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "claims_supported": ["sub"]},
        "get_principal": principal,
        "userinfo": lambda kind, principal_id: {"sub": principal_id,
                                                "preferred_username": "someone"},
        "export_personal_data": lambda citizen: {
            "account": {"id": citizen["account_id"], "email": "ada@example.org",
                        "given_name": "Ada", "family_name": "Lovelace", "email_verified": True, "created_at": NOW,
                        "username": "ada@example.org", "role": CITIZEN, "commune": None,
                        "email_verified_at": NOW},
            "logins": [], "mails": []},
        "delete_citizen": lambda account_id: None,
        "sign_up_citizen": lambda new_citizen: {"detail": "A message is on its way."},
        "sign_up_company": lambda new_company: {"detail": "A message is on its way."},
        "verify_email": lambda token: {"email": "ada@example.org", "verified": True},
        "resend_verification": lambda request: {"detail": "A message is on its way."},
        "create_account": account,
        "create_api_client": lambda new_client, created_by: {
            "client_id": "cli_x", "name": new_client["name"], "role": COMMUNE_AGENT,
            "commune": new_client["commune"], "created_at": NOW, "client_secret": "s"},
        "accounts_of_commune": lambda commune: [],
        "login_events": lambda limit: [],
    }


@pytest.fixture
def identity_table(fake_services):
    """The fakes answer every call of the table."""
    fake_services["identity"].answers.update(
        {name: answer for name, answer in identity_answers().items() if name != "public_keys"})
    return fake_services


def send(api, call, headers, commune=LAVERUNE):
    return api.request(call.method, call.url(commune), headers=headers, json=call.json,
                       params=call.params)


def reached(fakes, call):
    return len(fakes[call.service].called(call.rpc))


def assert_refused(answer, status, fakes, call):
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert reached(fakes, call) == 0


def allows(call, role):
    return call.allowed in (ANY_ACCOUNT, PUBLIC) or role in call.allowed


def test_the_table_covers_every_route_of_identity():
    declared = {(spec.method, spec.openapi_path) for _, spec in routes_of(GatewayService)
                if spec.tag == "identity"}
    assert {(call.method, call.path) for call in IDENTITY_CALLS} == declared


@pytest.mark.parametrize("role, headers_of", [
    (METROPOLE_ADMIN, lambda key: bearer(key.token(ADMIN_ID, METROPOLE_ADMIN))),
    (COMMUNE_AGENT, lambda key: bearer(key.token(AGENT_ID, COMMUNE_AGENT, LAVERUNE))),
    (CITIZEN, lambda key: bearer(key.token("a-citizen", CITIZEN))),
    (COMPANY, lambda key: bearer(key.token("a-company", COMPANY))),
], ids=[METROPOLE_ADMIN, COMMUNE_AGENT, CITIZEN, COMPANY])
@pytest.mark.parametrize("call", IDENTITY_CALLS, ids=IDENTITY_IDS)
def test_each_role_reaches_the_identity_routes_open_to_it(
        gateway, api, identity_table, signing_key, role, headers_of, call):
    answer = send(api, call, headers_of(signing_key))
    if allows(call, role):
        assert answer.status_code == call.status, answer.text
        assert reached(identity_table, call) == 1
    elif call.allowed == ADMIN_OR_AGENT:
        # A citizen's or company's token reaches no commune: it does not exist for them.
        assert_refused(answer, 404, identity_table, call)
    else:
        assert_refused(answer, 403, identity_table, call)


@pytest.mark.parametrize("call", IDENTITY_CALLS, ids=IDENTITY_IDS)
def test_without_a_token_only_the_public_identity_routes_answer(
        gateway, api, identity_table, call):
    answer = send(api, call, {})
    if call.allowed == PUBLIC:
        assert answer.status_code == call.status, answer.text
        assert reached(identity_table, call) == 1
    else:
        assert_refused(answer, 401, identity_table, call)


def test_the_export_asks_eservices_for_the_citizens_requests_only_once_allowed(
        gateway, api, identity_table, agent_headers):
    assert api.get("/api/v1/me/export", headers=agent_headers).status_code == 403
    assert identity_table["eservices"].called("export_personal_data") == []
