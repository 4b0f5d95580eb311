"""What the gateway writes into the audit trail: an entry per privileged write, per citizen's
read or erasure of their own data, per refused authentication or authorisation — read here
from the queue identity consumes them from — and never a payload; none for a citizen's
ordinary request or a public route; a publish that fails changes no answer."""

import json
import logging
import uuid

import pytest
from kombu import Connection

from contracts.audit import AuditEntrySchema
from contracts.envelope import EventEnvelopeSchema
from contracts.events import AUDIT_RECORDED
from gateway.audit import AuditTrail, is_audited, outcome_of
from gateway.auth import Principal
from gateway.http import RouteSpec
from gateway.tests.fakes import (
    ADMIN_ID,
    AGENT_ID,
    CITIZEN_ID,
    LAVERUNE,
    MONTPELLIER,
    PROCESS_ID,
    REQUEST_ID,
    bearer,
)
from servicekit.providers import sibling
from servicekit.topology import subscriber_queue

pytestmark = pytest.mark.broker

REQUESTS = f"/api/v1/communes/{LAVERUNE}/subscription-requests"
NEW_REQUEST = {"application": "participation", "action": "add"}
MONTPELLIER_AGENT_ID = str(uuid.UUID(int=36))


@pytest.fixture
def trail(gateway, suite_config):
    """``trail()``: the entries the gateway published since the last call, oldest first."""
    (subscriber,) = AUDIT_RECORDED.subscribers
    exchange = sibling(gateway, AuditTrail).events.exchange
    with Connection(suite_config["AMQP_URI"]) as connection:
        queue = subscriber_queue(AUDIT_RECORDED, subscriber, exchange)(connection)
        queue.declare()

        def published():
            assert sibling(gateway, AuditTrail).drained(10)
            found = []
            while (message := queue.get(no_ack=True)) is not None:
                found.append(json.loads(message.body))
            return found

        yield published


def principal(role, kind="account"):
    return Principal(kind, str(uuid.UUID(int=9)), role, None)


WRITE, READ = RouteSpec("POST", "/x", "", ""), RouteSpec("GET", "/x", "", "")
EXPORT = RouteSpec("GET", "/api/v1/me/export", "", "", audited=True)
PUBLIC = RouteSpec("POST", "/api/v1/relay/<token>/sessions", "", "", public=True)


@pytest.mark.parametrize("spec, caller, status, out_of_reach, recorded", [
    (WRITE, principal("metropole_admin"), 201, False, "succeeded"),
    (WRITE, principal("commune_agent"), 409, False, "failed"),
    (WRITE, principal("relay_interpreter"), 500, False, "failed"),
    (WRITE, principal("commune_agent", kind="api_client"), 399, False, "succeeded"),
    (WRITE, principal("commune_agent"), 404, True, "refused"),
    (WRITE, principal("citizen"), 201, False, None),
    (WRITE, principal("company"), 422, False, None),
    (WRITE, principal("citizen"), 404, False, None),
    (WRITE, principal("citizen"), 404, True, "refused"),
    (WRITE, principal("citizen"), 403, False, "refused"),
    (READ, principal("metropole_admin"), 200, False, None),
    (READ, principal("commune_agent"), 400, False, None),
    (READ, None, 401, False, "refused"),
    (EXPORT, principal("citizen"), 200, False, "succeeded"),
    (EXPORT, principal("citizen"), 503, False, "failed"),
    (PUBLIC, None, 401, False, None),
    (PUBLIC, None, 201, False, None),
])
def test_what_the_trail_records(spec, caller, status, out_of_reach, recorded):
    outcome = outcome_of(status, out_of_reach)
    assert (outcome if is_audited(spec, caller, outcome) else None) == recorded


def entries(envelopes):
    for envelope in envelopes:
        EventEnvelopeSchema().load(envelope)
        AuditEntrySchema().load(envelope["data"])
    return [envelope["data"] for envelope in envelopes]


def test_an_agents_write_is_recorded_with_who_where_what_and_no_payload(
        api, trail, agent_headers):
    answer = api.post(REQUESTS, json=NEW_REQUEST, headers=agent_headers)
    assert answer.status_code == 201, answer.text

    (envelope,) = trail()
    (entry,) = entries([envelope])
    assert (envelope["producer"], envelope["type"], envelope["commune"]) == (
        "gateway", "audit.recorded", LAVERUNE)
    assert envelope["correlation_id"] == answer.headers["X-Request-Id"]
    assert {name: value for name, value in entry.items() if name not in ("id", "occurred_at")} == {
        "actor_id": AGENT_ID, "actor_kind": "account", "actor_role": "commune_agent",
        "commune": LAVERUNE, "action": "POST /api/v1/communes/{insee}/subscription-requests",
        "object_ids": {}, "status": 201, "outcome": "succeeded",
        "correlation_id": answer.headers["X-Request-Id"]}
    assert "participation" not in json.dumps(envelope)


def test_an_admins_write_names_the_objects_of_its_path(api, trail, admin_headers):
    answer = api.post(f"{REQUESTS}/{REQUEST_ID}/decision", json={"decision": "accept"},
                      headers=admin_headers)
    assert answer.status_code == 200, answer.text
    (entry,) = entries(trail())
    assert (entry["actor_id"], entry["actor_role"], entry["object_ids"], entry["outcome"]) == (
        ADMIN_ID, "metropole_admin", {"request_id": REQUEST_ID}, "succeeded")


def test_a_citizens_own_requests_are_not_recorded_but_their_export_and_erasure_are(
        api, trail, citizen_headers, fake_identity):
    proposed = api.post(f"/api/v1/participation/processes/{PROCESS_ID}/proposals",
                        json={"title": "Un marché bio", "body": "Le samedi."},
                        headers=citizen_headers)
    assert proposed.status_code == 201, proposed.text
    assert api.get("/api/v1/me", headers=citizen_headers).status_code == 200
    assert trail() == []

    fake_identity.answers["delete_citizen"] = None
    deleted = api.delete("/api/v1/me", headers=citizen_headers)
    assert deleted.status_code == 204, deleted.text
    (entry,) = entries(trail())
    assert (entry["actor_id"], entry["actor_role"], entry["action"], entry["commune"],
            entry["outcome"]) == (CITIZEN_ID, "citizen", "DELETE /api/v1/me", None, "succeeded")


def test_refusals_are_recorded_and_reads_that_succeed_are_not(
        api, trail, citizen_headers, agent_headers, signing_key):
    assert api.get(REQUESTS, headers=agent_headers).status_code == 200
    assert trail() == []

    forbidden = api.post("/api/v1/accounts", json={}, headers=citizen_headers)
    assert forbidden.status_code == 403, forbidden.text
    no_token = api.get(REQUESTS)
    assert no_token.status_code == 401, no_token.text
    montpellier_agent = bearer(signing_key.token(MONTPELLIER_AGENT_ID, "commune_agent",
                                                 MONTPELLIER))
    out_of_reach = api.get(REQUESTS, headers=montpellier_agent)
    assert out_of_reach.status_code == 404, out_of_reach.text

    found = entries(trail())
    assert [(e["action"], e["actor_id"], e["actor_role"], e["commune"], e["status"],
             e["outcome"]) for e in found] == [
        ("POST /api/v1/accounts", CITIZEN_ID, "citizen", None, 403, "refused"),
        ("GET /api/v1/communes/{insee}/subscription-requests", None, None, LAVERUNE, 401,
         "refused"),
        ("GET /api/v1/communes/{insee}/subscription-requests", MONTPELLIER_AGENT_ID,
         "commune_agent", LAVERUNE, 404, "refused"),
    ]


def test_a_privileged_write_that_fails_is_recorded_as_failed(api, trail, agent_headers):
    invalid = api.post(REQUESTS, json={"application": "nothing"}, headers=agent_headers)
    assert invalid.status_code == 422, invalid.text
    (entry,) = entries(trail())
    assert (entry["status"], entry["outcome"]) == (422, "failed")
    assert "nothing" not in json.dumps(entry)


def test_public_routes_are_never_recorded(api, trail):
    assert api.post("/api/v1/auth/token", json={}).status_code == 422
    assert api.get("/api/v1/openapi.json").status_code == 200
    assert trail() == []


class BrokenPublisher:
    def publish(self, *args, **kwargs):
        raise ConnectionRefusedError("the broker is away")


def test_a_publish_that_fails_leaves_the_answer_and_is_tried_again(
        gateway, api, agent_headers, caplog, trail, monkeypatch):
    caplog.set_level(logging.INFO)
    monkeypatch.setattr("gateway.audit.RETRY_SECONDS", 0.05)
    audit_trail = sibling(gateway, AuditTrail)
    events, audit_trail.events = audit_trail.events, BrokenPublisher()
    answer = api.post(REQUESTS, json=NEW_REQUEST, headers=agent_headers)
    assert answer.status_code == 201, answer.text
    assert not audit_trail.drained(0.5)
    assert "audit.publish_failed" in caplog.text
    assert "ConnectionRefusedError" in caplog.text
    # The broker back, the entry goes: none is lost.
    audit_trail.events = events
    (entry,) = trail()
    assert (entry["data"]["action"], entry["data"]["status"]) == (
        "POST /api/v1/communes/{insee}/subscription-requests", 201)


def test_the_trail_is_read_by_metropole_admins_only(
        gateway, api, admin_headers, agent_headers, fake_identity):
    page = {"items": [], "next_before": None}
    fake_identity.answers["audit_trail"] = lambda query: page
    answer = api.get("/api/v1/ops/audit", params={"commune": LAVERUNE, "outcome": "refused",
                                                  "limit": 10},
                     headers=admin_headers)
    assert (answer.status_code, answer.json()) == (200, page)
    assert fake_identity.called("audit_trail") == [
        ("audit_trail", ({"commune": LAVERUNE, "outcome": "refused", "limit": 10},), {})]

    refused = api.get("/api/v1/ops/audit", headers=agent_headers)
    assert refused.status_code == 403, refused.text
    assert len(fake_identity.called("audit_trail")) == 1
    too_many = api.get("/api/v1/ops/audit", params={"limit": 501}, headers=admin_headers)
    assert too_many.status_code == 422, too_many.text
