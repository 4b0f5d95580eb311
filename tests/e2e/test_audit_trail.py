"""The audit trail across the suite: the gateway records what a Metropole admin does and what
an agent is refused, identity keeps it, and only a Metropole admin reads it back — by commune,
by actor, by outcome — with no payload in it."""

import json

import pytest

from tests.e2e.support import agent_of, wait_for

pytestmark = pytest.mark.broker

LAVERUNE, MONTPELLIER = "34134", "34172"
AUDIT = "/api/v1/ops/audit"


def trail(admin_api, **filters):
    answer = admin_api.get(AUDIT, params=filters)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_an_admins_action_and_an_agents_refusal_are_read_back_by_admins_only(admin_api, api):
    admin_id = admin_api.get("/api/v1/me").json()["id"]
    montpellier_agent = agent_of(admin_api, api, MONTPELLIER, "agent.montpellier")
    agent_id = montpellier_agent.get("/api/v1/me").json()["id"]

    refused = montpellier_agent.post(f"/api/v1/communes/{LAVERUNE}/subscription-requests",
                                     json={"application": "participation", "action": "add"})
    assert refused.status_code == 404, refused.text

    created = wait_for(lambda: trail(admin_api, actor_id=admin_id, outcome="succeeded"),
                       lambda items: any(i["action"] == "POST /api/v1/accounts" for i in items))
    (creation,) = [i for i in created if i["action"] == "POST /api/v1/accounts"]
    assert (creation["actor_role"], creation["commune"], creation["status"]) == (
        "metropole_admin", None, 201)

    in_laverune = wait_for(lambda: trail(admin_api, commune=LAVERUNE), bool)
    assert [(i["actor_id"], i["actor_role"], i["action"], i["status"], i["outcome"],
             i["correlation_id"]) for i in in_laverune] == [
        (agent_id, "commune_agent", "POST /api/v1/communes/{insee}/subscription-requests", 404,
         "refused", refused.headers["X-Request-Id"])]

    read_by_agent = montpellier_agent.get(AUDIT)
    assert read_by_agent.status_code == 403, read_by_agent.text
    refusals = wait_for(lambda: trail(admin_api, actor_id=agent_id, outcome="refused"),
                        lambda items: len(items) == 2)
    assert [(i["action"], i["status"], i["commune"]) for i in refusals] == [
        (f"GET {AUDIT}", 403, MONTPELLIER),
        ("POST /api/v1/communes/{insee}/subscription-requests", 404, LAVERUNE)]

    everything = json.dumps(trail(admin_api))
    for personal in ("agent.montpellier", "a long enough secret", "participation"):
        assert personal not in everything
