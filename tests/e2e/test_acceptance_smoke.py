import pytest

pytestmark = pytest.mark.broker


def test_admin_creates_an_agent_who_reaches_only_its_commune(admin_api, api):
    created = admin_api.post(
        "/api/v1/accounts",
        json={"username": "agent.laverune", "password": "a long enough secret",
              "role": "commune_agent", "commune": "34134"},
    )
    assert created.status_code == 201, created.text
    agent = api.as_user("agent.laverune", "a long enough secret")
    me = agent.get("/api/v1/me")
    assert me.json()["commune"] == "34134"
    assert agent.get("/api/v1/communes/34172/accounts").status_code == 404
