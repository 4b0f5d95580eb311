"""The acceptance points of the foundation (issue 2), each shown through the gateway as a
commune's agent or system would meet it, with every service running on the broker."""

import json
import logging
import uuid

import pytest
import structlog

from contracts.catalogue import SERVICES

pytestmark = pytest.mark.broker

LAVERUNE, MONTPELLIER = "34134", "34172"
AGENT_PASSWORD = "Lavérune agent password"


def new_agent(username="agent.laverune"):
    return {"username": username, "password": AGENT_PASSWORD, "role": "commune_agent",
            "commune": LAVERUNE}


def without(fields, name):
    return {key: value for key, value in fields.items() if key != name}


def assert_problem(answer, status):
    """An RFC 9457 problem with the status it says it has."""
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    return body


def usernames_in_laverune(admin_api):
    answer = admin_api.get(f"/api/v1/communes/{LAVERUNE}/accounts")
    assert answer.status_code == 200, answer.text
    return sorted(account["username"] for account in answer.json())


def login_status(api, username):
    return api.post("/api/v1/auth/token",
                    json={"username": username, "password": AGENT_PASSWORD}).status_code


# -- an agent of Lavérune ---------------------------------------------------------------------


def test_an_agent_created_by_the_admin_reads_me_and_reaches_only_laverune(admin_api, api):
    created = admin_api.post("/api/v1/accounts", json=new_agent())
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"/api/v1/accounts/{created.json()['id']}"

    agent = api.as_user("agent.laverune", AGENT_PASSWORD)
    me = agent.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json() == {"kind": "account", "id": created.json()["id"],
                         "name": "agent.laverune", "role": "commune_agent",
                         "commune": LAVERUNE}

    own = agent.get(f"/api/v1/communes/{LAVERUNE}/accounts")
    assert own.status_code == 200, own.text
    assert [account["username"] for account in own.json()] == ["agent.laverune"]
    assert_problem(agent.get(f"/api/v1/communes/{MONTPELLIER}/accounts"), 404)


# -- refused requests write nothing -----------------------------------------------------------


REFUSED_CREATIONS = {
    # (username the body asks for, body as sent, status, the field the problem names)
    "malformed JSON": (  # the closing brace is cut off
        "agent.malformed", json.dumps(new_agent("agent.malformed"))[:-1], 400, None),
    "an unknown field": (
        "agent.unknown", json.dumps({**new_agent("agent.unknown"), "is_superuser": True}),
        422, "is_superuser"),
    "a missing field": (
        "agent.missing", json.dumps(without(new_agent("agent.missing"), "role")), 422, "role"),
}


@pytest.mark.parametrize("case", REFUSED_CREATIONS)
def test_a_refused_creation_says_why_and_writes_nothing(admin_api, api, case):
    username, body, status, field = REFUSED_CREATIONS[case]
    before = usernames_in_laverune(admin_api)

    answer = admin_api.post("/api/v1/accounts", data=body,
                            headers={"Content-Type": "application/json"})

    problem = assert_problem(answer, status)
    if field:
        assert list(problem["errors"]) == [field]
        assert field in problem["detail"]
    assert usernames_in_laverune(admin_api) == before
    assert login_status(api, username) == 401


def test_every_refusal_is_a_problem_document(admin_api, api):
    assert admin_api.post("/api/v1/accounts", json=new_agent()).status_code == 201
    agent = api.as_user("agent.laverune", AGENT_PASSWORD)
    json_type = {"Content-Type": "application/json"}
    refusals = [
        (400, admin_api.post("/api/v1/accounts", data="{", headers=json_type)),
        (401, api.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})),
        (403, agent.post("/api/v1/accounts", json=new_agent("agent.other"))),
        (404, agent.get(f"/api/v1/communes/{MONTPELLIER}/accounts")),
        (404, api.get("/api/v1/nowhere")),
        (405, api.delete("/health")),
        (409, admin_api.post("/api/v1/accounts", json=new_agent())),
        (413, admin_api.post("/api/v1/accounts", data=b" " * (2 * 1024 * 1024),
                             headers=json_type)),
        (415, admin_api.post("/api/v1/accounts", data="username=x",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})),
        (422, admin_api.post("/api/v1/accounts", json={})),
        (422, agent.get("/api/v1/me", params={"fields": "all"})),
    ]
    for status, answer in refusals:
        assert_problem(answer, status)


# -- health -----------------------------------------------------------------------------------


def test_health_lists_the_ten_services_as_answering_with_their_latency(whole_suite, api):
    answer = api.get("/health")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert list(report["services"]) == list(SERVICES)
    assert len(SERVICES) == 10
    for service, status in report["services"].items():
        assert status["answered"] is True, (service, status)
        assert isinstance(status["latency_ms"], float | int) and status["latency_ms"] >= 0
    assert report["status"] == "ok"


def test_a_stopped_service_shows_as_not_answering_while_the_others_do(whole_suite, api):
    (billing,) = [c for c in whole_suite.containers if c.service_name == "billing"]
    billing.stop()

    report = api.get("/health").json()

    assert report["status"] == "degraded"
    assert report["services"]["billing"]["answered"] is False
    assert report["services"]["billing"]["latency_ms"] is None
    assert report["services"]["billing"]["detail"]
    others = {name: status for name, status in report["services"].items() if name != "billing"}
    assert set(others) == set(SERVICES) - {"billing"}
    assert all(status["answered"] for status in others.values()), others


# -- one correlation id per request -----------------------------------------------------------


class Records(logging.Handler):
    """Keeps every record the process logs, to read them as the log file would show them."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def log_records():
    handler = Records()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler.records
    root.removeHandler(handler)


def configured_formatter():
    """The formatter the suite's logging configuration put on the root logger."""
    return next(handler.formatter for handler in logging.getLogger().handlers
                if isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter))


def test_the_logs_of_one_request_share_its_correlation_id_across_services(
        admin_api, log_records):
    request_id = f"acceptance-{uuid.uuid4().hex}"
    created = admin_api.post("/api/v1/accounts", json=new_agent(),
                             headers={"X-Request-Id": request_id})
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-Id"] == request_id

    formatter = configured_formatter()
    lines = [formatter.format(record) for record in log_records]
    story = [json.loads(line) for line in lines if request_id in line]
    assert all(entry["correlation_id"] == request_id for entry in story), story
    assert {"gateway", "identity"} <= {entry.get("service") for entry in story}, story
    assert {"http.request", "account.created"} <= {entry["event"] for entry in story}
    # Found by its id, the story carries no secret.
    assert not [line for line in lines if AGENT_PASSWORD in line]


def test_a_request_without_a_request_id_is_given_one(whole_suite, api):
    first, second = api.get("/health"), api.get("/health")
    assert first.headers["X-Request-Id"] and second.headers["X-Request-Id"]
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
