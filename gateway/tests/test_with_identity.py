"""The gateway in front of the real identity service, over the broker: what only the two
together can show — API clients, and identity's refusals reaching callers as problems."""

import pytest

from gateway.service import GatewayService
from services.identity.service import IdentityService

pytestmark = pytest.mark.broker

# The first admin the root conftest's suite_config asks identity to create.
ADMIN_USERNAME, ADMIN_PASSWORD = "metropole.admin", "correct horse battery staple"
LAVERUNE, MONTPELLIER = "34134", "34172"
AGENT = {"username": "agent.laverune", "password": "a long enough secret",
         "role": "commune_agent", "commune": LAVERUNE}


@pytest.fixture
def admin_api(start_services, api):
    start_services(IdentityService, GatewayService)
    return api.as_user(ADMIN_USERNAME, ADMIN_PASSWORD)


def client_token(api, client_id, client_secret):
    return api.post("/api/v1/auth/token",
                    json={"client_id": client_id, "client_secret": client_secret})


def test_a_commune_system_gets_a_token_and_reaches_its_commune_only(admin_api, api):
    created = admin_api.post("/api/v1/api-clients",
                             json={"name": "Lavérune finance software", "commune": LAVERUNE})
    assert created.status_code == 201, created.text
    credentials = created.json()
    assert credentials["client_id"] and credentials["client_secret"]

    issued = client_token(api, credentials["client_id"], credentials["client_secret"])
    assert issued.status_code == 200, issued.text
    assert issued.json()["token_type"] == "Bearer"
    system = type(api)(api.base_url)  # a client of its own, as the commune's software is
    system.headers["Authorization"] = f"Bearer {issued.json()['access_token']}"

    me = system.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["kind"] == "api_client"
    assert me.json()["id"] == credentials["client_id"]
    assert me.json()["commune"] == LAVERUNE
    assert system.get(f"/api/v1/communes/{LAVERUNE}/accounts").status_code == 200
    assert system.get(f"/api/v1/communes/{MONTPELLIER}/accounts").status_code == 404
    # A commune's system acts for the commune, not for the Metropole.
    assert system.post("/api/v1/accounts", json=AGENT).status_code == 403


def test_a_wrong_client_secret_is_401(admin_api, api):
    created = admin_api.post("/api/v1/api-clients",
                             json={"name": "Lavérune website", "commune": LAVERUNE}).json()
    answer = client_token(api, created["client_id"], "not the secret")
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_a_taken_username_is_a_409_problem(admin_api):
    assert admin_api.post("/api/v1/accounts", json=AGENT).status_code == 201
    again = admin_api.post("/api/v1/accounts", json={**AGENT, "username": "Agent.Laverune"})
    assert again.status_code == 409, again.text
    assert again.headers["Content-Type"] == "application/problem+json"


def test_repeated_failed_logins_are_throttled_with_a_retry_after(admin_api, api):
    wrong = {"username": ADMIN_USERNAME, "password": "not the password"}
    statuses = [api.post("/api/v1/auth/token", json=wrong).status_code for _ in range(5)]
    assert statuses == [401] * 5
    throttled = api.post("/api/v1/auth/token",
                         json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
    assert throttled.status_code == 429, throttled.text
    assert throttled.headers["Content-Type"] == "application/problem+json"
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
