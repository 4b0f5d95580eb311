"""The gateway's operations routes: alive, ready, its figures, and the dead letters of every
service for Metropole admins — who may call each, and what a silent service turns into."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from contracts.catalogue import SERVICES
from contracts.errors import Conflict, NotFound, ServiceUnavailable
from contracts.operations import (
    DeadLettersReportSchema,
    ReadinessSchema,
    ReplayedDeadLetterSchema,
)
from gateway.openapi import routes_of
from gateway.service import GatewayService
from gateway.tests.fakes import DEAD_LETTER_EVENT_ID, dead_letters_answer

pytestmark = pytest.mark.broker

DEAD_LETTERS = "/api/v1/ops/dead-letters"
REPLAY = "/api/v1/ops/dead-letters/{service}/{dead_letter_id}/replay"
PUBLIC = "public"
ADMIN = "metropole_admin"
# Every route tagged "operations", and who may call it.
OPERATIONS_ROUTES = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", DEAD_LETTERS): ADMIN,
    ("POST", REPLAY): ADMIN,
    ("GET", "/api/v1/ops/audit"): ADMIN,
}


def figure(text, name, **labels):
    """The sum of the samples called ``name`` whose labels include ``labels``; None if none."""
    values = [sample.value for family in text_string_to_metric_families(text)
              for sample in family.samples
              if sample.name == name and labels.items() <= sample.labels.items()]
    return sum(values) if values else None


@pytest.fixture
def with_dead_letters(fake_services):
    for name, fake in fake_services.items():
        fake.answers["dead_letters"] = dead_letters_answer(2 if name == "eservices" else 0)
    return fake_services


def test_the_table_covers_every_operations_route():
    declared = {(spec.method, spec.openapi_path): PUBLIC if spec.public else ADMIN
                for _, spec in routes_of(GatewayService) if spec.tag == "operations"}
    assert declared == OPERATIONS_ROUTES
    (dead_letters,) = [spec for _, spec in routes_of(GatewayService)
                       if spec.openapi_path == DEAD_LETTERS]
    assert dead_letters.roles == (ADMIN,)


def test_the_gateway_is_live_and_ready_without_a_token(gateway, api):
    live = api.get("/health/live")
    assert (live.status_code, live.json()) == (200, {"service": "gateway", "status": "live"})
    ready = api.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ReadinessSchema().load(ready.json()) == {"service": "gateway", "status": "ready",
                                                    "failed": {}}


def test_the_figures_count_requests_by_route_template_and_status(
        gateway, api, admin_headers, fake_subscriptions):
    def unknown(insee):
        raise NotFound("No such commune.")

    assert api.get("/api/v1/communes/34134", headers=admin_headers).status_code == 200
    fake_subscriptions.answers["get_commune"] = unknown
    assert api.get("/api/v1/communes/34172", headers=admin_headers).status_code == 404
    assert api.get("/api/v1/communes/34134").status_code == 401

    answer = api.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    figures = answer.text
    route = "/api/v1/communes/{insee}"
    assert figure(figures, "communs_gateway_requests_total", method="GET", route=route,
                  status="200") == 1
    assert figure(figures, "communs_gateway_requests_total", route=route, status="404") == 1
    assert figure(figures, "communs_gateway_requests_total", route=route, status="401") == 1
    assert figure(figures, "communs_gateway_request_duration_seconds_count",
                  route=route) == 3
    # Never a path with its ids in it.
    assert "/api/v1/communes/34134" not in figures
    # A 404 is subscriptions' answer, not a failed call.
    assert figure(figures, "communs_gateway_rpc_errors_total") is None


def test_the_figures_count_calls_to_a_service_that_does_not_answer(
        gateway, api, admin_headers, fake_subscriptions):
    def silent(insee):
        raise ServiceUnavailable("The subscriptions service did not answer within 10 s.")

    fake_subscriptions.answers["get_commune"] = silent
    assert api.get("/api/v1/communes/34134", headers=admin_headers).status_code == 503
    figures = api.get("/metrics").text
    assert figure(figures, "communs_gateway_rpc_errors_total", service="subscriptions",
                  error="unavailable") == 1
    assert figure(figures, "communs_gateway_requests_total", status="503") == 1


def test_a_metropole_admin_lists_the_dead_letters_of_every_service(
        gateway, api, admin_headers, with_dead_letters):
    answer = api.get(DEAD_LETTERS, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    report = DeadLettersReportSchema().load(answer.json())
    assert report["status"] == "complete"
    assert set(report["services"]) == set(SERVICES)
    eservices = report["services"]["eservices"]
    assert eservices["total"] == 2
    assert [letter["id"] for letter in eservices["dead_letters"]] == [2, 1]
    assert str(eservices["dead_letters"][0]["event_id"]) == DEAD_LETTER_EVENT_ID
    assert report["services"]["identity"] == {"answered": True, "total": 0,
                                              "dead_letters": [], "detail": None}
    for fake in with_dead_letters.values():
        assert len(fake.called("dead_letters")) == 1


def test_a_service_that_does_not_answer_is_reported_not_a_500(
        gateway, api, admin_headers, with_dead_letters):
    def silent():
        raise ServiceUnavailable("The billing service did not answer within 5 s.")

    with_dead_letters["billing"].answers["dead_letters"] = silent
    answer = api.get(DEAD_LETTERS, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["status"] == "partial"
    assert report["services"]["billing"] == {
        "answered": False, "total": None, "dead_letters": [],
        "detail": "The billing service did not answer within 5 s."}
    assert report["services"]["eservices"]["answered"] is True


@pytest.mark.parametrize("headers", ["agent_headers", "citizen_headers", "company_headers",
                                     "interpreter_headers"])
def test_only_a_metropole_admin_sees_the_dead_letters(
        gateway, api, with_dead_letters, request, headers):
    answer = api.get(DEAD_LETTERS, headers=request.getfixturevalue(headers))
    assert answer.status_code == 403, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert all(fake.called("dead_letters") == [] for fake in with_dead_letters.values())


def test_without_a_token_the_dead_letters_are_401(gateway, api, with_dead_letters):
    answer = api.get(DEAD_LETTERS)
    assert answer.status_code == 401, answer.text
    assert all(fake.called("dead_letters") == [] for fake in with_dead_letters.values())


# -- replaying a dead letter


def replay_path(service, dead_letter_id):
    return REPLAY.format(service=service, dead_letter_id=dead_letter_id)


@pytest.fixture
def replayed(fake_services):
    fake_services["eservices"].answers["replay_dead_letter"] = lambda dead_letter_id: {
        "dead_letter_id": dead_letter_id, "event_id": DEAD_LETTER_EVENT_ID,
        "consumer": "eservices.on_account_deleted"}
    return fake_services


def test_a_metropole_admin_replays_a_dead_letter_of_one_service(
        gateway, api, admin_headers, replayed):
    answer = api.post(replay_path("eservices", 2), headers=admin_headers)
    assert answer.status_code == 202, answer.text
    assert ReplayedDeadLetterSchema().load(answer.json()) == {
        "service": "eservices", "dead_letter_id": 2, "event_id": DEAD_LETTER_EVENT_ID,
        "consumer": "eservices.on_account_deleted"}
    assert replayed["eservices"].called("replay_dead_letter") == [("replay_dead_letter", (2,), {})]
    assert all(fake.called("replay_dead_letter") == []
               for name, fake in replayed.items() if name != "eservices")


@pytest.mark.parametrize("refusal, status", [
    (NotFound("No dead letter 2."), 404),
    (Conflict("eservices.on_account_deleted no longer handles account.deleted."), 409),
], ids=["no such letter", "a consumer gone"])
def test_a_replay_the_service_refuses_is_its_problem(
        gateway, api, admin_headers, replayed, refusal, status):
    def refuse(dead_letter_id):
        raise refusal

    replayed["eservices"].answers["replay_dead_letter"] = refuse
    answer = api.post(replay_path("eservices", 2), headers=admin_headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_a_replay_in_no_service_of_the_suite_is_404_without_a_call(
        gateway, api, admin_headers, replayed):
    answer = api.post(replay_path("gateway", 2), headers=admin_headers)
    assert answer.status_code == 404, answer.text
    assert all(fake.called("replay_dead_letter") == [] for fake in replayed.values())


@pytest.mark.parametrize("headers", ["agent_headers", "citizen_headers"])
def test_only_a_metropole_admin_replays_a_dead_letter(gateway, api, replayed, request, headers):
    answer = api.post(replay_path("eservices", 2), headers=request.getfixturevalue(headers))
    assert answer.status_code == 403, answer.text
    assert replayed["eservices"].called("replay_dead_letter") == []
