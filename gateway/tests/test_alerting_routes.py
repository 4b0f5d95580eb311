"""What TéléAlerte's campaign routes send to the service (the commune, the campaign, the body
as sent, the caller, the Idempotency-Key, the delivery filters); a campaign followed live as
Server-Sent Events; its CAP document; and the operator's callback route, open without a token
and passing its JSON on as it came."""

import json

import eventlet
import pytest

from contracts.alerting import CampaignSchema, DeliveryPageSchema
from contracts.errors import Conflict, Invalid, NotFound, ServiceUnavailable
from gateway.routes.alerting import KEEP_ALIVE, STREAM_FAILED, campaign_events, sse_event
from gateway.tests.fakes import (
    AGENT_ID,
    CAMPAIGN_ID,
    CAP_DOCUMENT,
    LAVERUNE,
    MONTPELLIER,
    NEW_CAMPAIGN,
    OPERATOR_TOKEN,
    campaign,
)

COMMUNE = f"/api/v1/communes/{LAVERUNE}/alerting"
CAMPAIGNS = f"{COMMUNE}/campaigns"
CAMPAIGN = f"{CAMPAIGNS}/{CAMPAIGN_ID}"
EVENTS = f"{CAMPAIGN}/events"
CALLBACK = f"/api/v1/alerting/operator-callbacks/{OPERATOR_TOKEN}"
# A delivery receipt as Sinch posts it: the operator's JSON, none of our contracts.
RECEIPT = {"type": "recipient_delivery_report_sms", "batch_id": "01FC66621VHDBN119Z8PMV1QPQ",
           "recipient": "33612345678", "status": "Delivered", "code": 0,
           "at": "2026-11-27T09:00:01.250Z", "client_reference": None}


@pytest.fixture
def fake_alerting(fake_services):
    return fake_services["alerting"]


def assert_problem(answer, status):
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    return answer.json()


def events_of(text):
    """The stream's events as (event, id, data decoded), a comment as ("comment", None, it)."""
    events = []
    for block in text.split("\n\n"):
        if not block:
            continue
        if block.startswith(":"):
            events.append(("comment", None, block[1:].strip()))
            continue
        fields = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            fields[name] = f"{fields[name]}\n{value}" if name in fields else value
        events.append((fields["event"], fields.get("id"), json.loads(fields["data"])))
    return events


# -- the formatter and the stream, without HTTP --------------------------------------------


def test_an_event_is_its_name_id_and_data_as_one_json_line():
    event = sse_event("campaign", {"status": "running", "headline": "Crue à Lavérune"}, 3)
    assert event.decode() == (
        'event: campaign\nid: 3\ndata: {"status":"running","headline":"Crue à Lavérune"}\n\n')


def test_an_event_without_id_and_text_of_several_lines():
    assert sse_event("note", "first\nsecond") == b"event: note\ndata: first\ndata: second\n\n"


class Clock:
    """A clock that moves only when the stream sleeps."""

    def __init__(self):
        self.now = 0.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def stream(first, answers, clock, interval=5, keep_alive=15, max_seconds=3600):
    answers = iter(answers)

    def read():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return list(campaign_events(first, read, interval=interval, keep_alive=keep_alive,
                                max_seconds=max_seconds, sleep=clock.sleep, clock=clock))


def test_each_change_is_sent_and_silence_is_kept_alive_until_the_end():
    running, completed = campaign(), campaign("completed")
    clock = Clock()
    # Read at 5, 10 … 30 s unchanged, completed at 35 s.
    sent = stream(running, [running] * 6 + [completed], clock)
    assert sent == [sse_event("campaign", running, 1), KEEP_ALIVE, KEEP_ALIVE,
                    sse_event("campaign", completed, 2),
                    sse_event("end", {"status": "completed"})]
    assert clock.slept == [5] * 7


def test_every_new_state_is_a_new_event_and_a_stopped_campaign_ends_the_stream():
    queued, delivered = campaign(), campaign(totals={**campaign()["totals"], "queued": 0})
    paused, stopped = campaign("paused"), campaign("stopped")
    sent = stream(queued, [delivered, paused, stopped, AssertionError("read after end")],
                  Clock())
    assert sent == [
        sse_event("campaign", queued, 1), sse_event("campaign", delivered, 2),
        sse_event("campaign", paused, 3), sse_event("campaign", stopped, 4),
        sse_event("end", {"status": "stopped"})]


def test_a_finished_campaign_is_one_event_and_the_end_without_reading_again():
    completed = campaign("completed")
    assert stream(completed, [], Clock()) == [sse_event("campaign", completed, 1),
                                              sse_event("end", {"status": "completed"})]


def test_the_stream_stops_after_its_longest_duration_without_end():
    running = campaign()
    clock = Clock()
    sent = stream(running, [running] * 10, clock, interval=5, keep_alive=100, max_seconds=12)
    # Read at 5 and 10 s; at 15 s the time is up, and the client reconnects.
    assert sent == [sse_event("campaign", running, 1)]
    assert clock.now == 15


def test_a_failed_read_is_an_error_event_and_the_end_of_the_stream():
    running = campaign()
    late = ServiceUnavailable("The alerting service did not answer within 10 s.")
    assert stream(running, [running, late], Clock()) == [
        sse_event("campaign", running, 1),
        sse_event("error", {"detail": "The alerting service did not answer within 10 s."})]


def test_an_unexpected_failure_tells_nothing_of_the_inside():
    running = campaign()
    sent = stream(running, [RuntimeError("password=hunter2 at /srv/db")], Clock())
    assert sent[-1] == sse_event("error", {"detail": STREAM_FAILED})
    assert b"hunter2" not in b"".join(sent)


# -- over HTTP ------------------------------------------------------------------------------

broker = pytest.mark.broker


@broker
def test_launching_sends_the_body_as_sent_the_caller_and_the_idempotency_key(
        gateway, api, agent_headers, fake_alerting):
    body = {**NEW_CAMPAIGN, "status": "Exercise", "variables": {"heure": "18 h"}}
    answer = api.post(CAMPAIGNS, headers={**agent_headers, "Idempotency-Key": "crue-1"},
                      json=body)
    assert answer.status_code == 201, answer.text
    CampaignSchema().load(answer.json())
    assert answer.headers["Location"] == CAMPAIGN
    assert api.post(CAMPAIGNS, headers=agent_headers, json=NEW_CAMPAIGN).status_code == 201
    assert fake_alerting.called("launch_campaign") == [
        ("launch_campaign", (LAVERUNE, body, AGENT_ID), {"idempotency_key": "crue-1"}),
        ("launch_campaign", (LAVERUNE, NEW_CAMPAIGN, AGENT_ID), {"idempotency_key": None}),
    ]


@broker
@pytest.mark.parametrize(("headers", "body", "field"), [
    ({}, {**NEW_CAMPAIGN, "channels": ["fax"]}, "channels"),
    ({}, {**NEW_CAMPAIGN, "groups": []}, "groups"),
    ({}, {key: value for key, value in NEW_CAMPAIGN.items() if key != "scenario"},
     "scenario"),
    ({"Idempotency-Key": "é" * 3}, NEW_CAMPAIGN, "Idempotency-Key"),
])
def test_a_bad_launch_reaches_no_service(gateway, api, agent_headers, fake_alerting, headers,
                                         body, field):
    answer = api.post(CAMPAIGNS, headers={**agent_headers, **headers}, json=body)
    assert field in assert_problem(answer, 422)["errors"]
    assert fake_alerting.called("launch_campaign") == []


@broker
def test_campaigns_and_a_campaign_with_its_counts(gateway, api, agent_headers, fake_alerting):
    assert api.get(CAMPAIGNS, headers=agent_headers).json() == [campaign()]
    answer = api.get(CAMPAIGN, headers=agent_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["counts"]["sms"]["delivered"] == 1
    assert fake_alerting.called("campaigns") == [("campaigns", (LAVERUNE,), {})]
    assert fake_alerting.called("campaign") == [("campaign", (LAVERUNE, CAMPAIGN_ID), {})]


@broker
def test_deliveries_are_asked_for_with_their_filters(gateway, api, agent_headers,
                                                     fake_alerting):
    answer = api.get(f"{CAMPAIGN}/deliveries", headers=agent_headers,
                     params={"channel": "sms", "status": "failed", "limit": "20"})
    assert answer.status_code == 200, answer.text
    DeliveryPageSchema().load(answer.json())
    assert api.get(f"{CAMPAIGN}/deliveries", headers=agent_headers).status_code == 200
    assert fake_alerting.called("campaign_deliveries") == [
        ("campaign_deliveries", (LAVERUNE, CAMPAIGN_ID, {"channel": "sms", "status": "failed",
                                                         "limit": 20, "offset": 0}), {}),
        ("campaign_deliveries", (LAVERUNE, CAMPAIGN_ID, {"limit": 100, "offset": 0}), {}),
    ]
    for params, field in (({"channel": "fax"}, "channel"), ({"status": "lost"}, "status"),
                          ({"group": "ecoles"}, "group")):
        answer = api.get(f"{CAMPAIGN}/deliveries", headers=agent_headers, params=params)
        assert field in assert_problem(answer, 422)["errors"]
    assert len(fake_alerting.called("campaign_deliveries")) == 2


@broker
@pytest.mark.parametrize(("action", "rpc", "status"), [
    ("pause", "pause_campaign", "paused"),
    ("resume", "resume_campaign", "running"),
    ("stop", "stop_campaign", "stopped"),
    ("resend", "resend_campaign", "running"),
])
def test_each_command_sends_the_campaign_and_the_caller(gateway, api, agent_headers,
                                                        fake_alerting, action, rpc, status):
    answer = api.post(f"{CAMPAIGN}/{action}", headers=agent_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == status
    assert fake_alerting.called(rpc) == [(rpc, (LAVERUNE, CAMPAIGN_ID, AGENT_ID), {})]


@broker
def test_a_command_the_state_does_not_allow_is_a_409(gateway, api, agent_headers,
                                                     fake_alerting):
    def finished(insee, campaign_id, by):
        raise Conflict("The campaign is completed: it cannot be paused.")

    fake_alerting.answers["pause_campaign"] = finished
    answer = api.post(f"{CAMPAIGN}/pause", headers=agent_headers)
    assert assert_problem(answer, 409)["detail"] == "The campaign is completed: it cannot be " \
                                                    "paused."


@broker
def test_the_cap_document_is_served_as_cap_xml(gateway, api, agent_headers, fake_alerting):
    answer = api.get(f"{CAMPAIGN}/cap.xml", headers=agent_headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].split(";")[0] == "application/cap+xml"
    assert answer.text == CAP_DOCUMENT
    assert fake_alerting.called("campaign_cap") == [
        ("campaign_cap", (LAVERUNE, CAMPAIGN_ID), {})]


@broker
def test_an_agent_of_another_commune_finds_no_campaign(gateway, api, agent_headers,
                                                       fake_alerting):
    other = f"/api/v1/communes/{MONTPELLIER}/alerting/campaigns"
    assert_problem(api.post(other, headers=agent_headers, json=NEW_CAMPAIGN), 404)
    for path in ("", f"/{CAMPAIGN_ID}", f"/{CAMPAIGN_ID}/events", f"/{CAMPAIGN_ID}/cap.xml"):
        assert_problem(api.get(other + path, headers=agent_headers), 404)
    assert_problem(api.post(f"{other}/{CAMPAIGN_ID}/stop", headers=agent_headers), 404)
    assert fake_alerting.calls == []


# -- the live stream over HTTP


@broker
def test_a_campaign_is_followed_live_until_it_completes(start_gateway, api, agent_headers,
                                                        fake_alerting):
    start_gateway(ALERTING_SSE_INTERVAL=0.05)
    now = {"status": "running"}
    fake_alerting.answers["campaign"] = lambda insee, campaign_id: campaign(now["status"])
    with api.get(EVENTS, headers=agent_headers, stream=True, timeout=10) as answer:
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"].split(";")[0] == "text/event-stream"
        assert answer.headers["Cache-Control"] == "no-cache"
        assert answer.headers["X-Accel-Buffering"] == "no"
        chunks = answer.iter_content(chunk_size=None)
        received = b""
        # The first state arrives while the campaign runs: nothing is held back.
        while b"\n\n" not in received:
            received += next(chunks)
        assert events_of(received.decode()) == [("campaign", "1", campaign("running"))]
        eventlet.sleep(0.2)
        now["status"] = "completed"
        # The stream ends by itself: reading it to the end returns.
        received += b"".join(chunks)
    assert events_of(received.decode()) == [
        ("campaign", "1", campaign("running")), ("campaign", "2", campaign("completed")),
        ("end", None, {"status": "completed"})]
    calls = fake_alerting.called("campaign")
    assert len(calls) >= 3  # the first, some unchanged, the completed one
    assert all(call == ("campaign", (LAVERUNE, CAMPAIGN_ID), {}) for call in calls)


@broker
def test_a_quiet_campaign_is_kept_alive(start_gateway, api, agent_headers, fake_alerting):
    start_gateway(ALERTING_SSE_INTERVAL=0.02, ALERTING_SSE_KEEPALIVE=0.05,
                  ALERTING_SSE_MAX_SECONDS=0.3)
    fake_alerting.answers["campaign"] = lambda insee, campaign_id: campaign()
    answer = api.get(EVENTS, headers=agent_headers, timeout=10)
    assert answer.status_code == 200, answer.text
    events = events_of(answer.text)
    assert events[0] == ("campaign", "1", campaign())
    assert set(events[1:]) == {("comment", None, "keep-alive")}
    # Its time is up: it stops, without ``end``, for the client to reconnect.
    assert 2 <= len(events) - 1 <= 15


@broker
def test_a_wrong_campaign_is_a_problem_before_any_stream(gateway, api, agent_headers,
                                                         fake_alerting):
    def no_such_campaign(insee, campaign_id):
        raise NotFound("No such campaign.")

    fake_alerting.answers["campaign"] = no_such_campaign
    answer = api.get(EVENTS, headers=agent_headers, timeout=10)
    assert assert_problem(answer, 404)["detail"] == "No such campaign."
    assert len(fake_alerting.called("campaign")) == 1


@broker
def test_a_service_that_fails_mid_stream_ends_it_with_an_error(start_gateway, api,
                                                               agent_headers, fake_alerting):
    start_gateway(ALERTING_SSE_INTERVAL=0.02)
    answers = iter([campaign(), campaign()])

    def then_late(insee, campaign_id):
        for answer in answers:
            return answer
        raise ServiceUnavailable("The alerting service did not answer within 10 s.")

    fake_alerting.answers["campaign"] = then_late
    answer = api.get(EVENTS, headers=agent_headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert events_of(answer.text) == [
        ("campaign", "1", campaign()),
        ("error", None, {"detail": "The alerting service did not answer within 10 s."})]


# -- the operator's callbacks


@broker
def test_the_operator_posts_without_a_token_and_its_json_goes_on_as_it_came(
        gateway, api, fake_alerting):
    answer = api.post(CALLBACK, json=RECEIPT)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"recorded": True}
    assert fake_alerting.called("operator_callback") == [
        ("operator_callback", (OPERATOR_TOKEN, RECEIPT), {})]


@broker
def test_a_wrong_token_is_a_404_and_a_body_that_is_no_receipt_a_422(gateway, api,
                                                                    fake_alerting):
    def check(token, body):
        if token != OPERATOR_TOKEN:
            raise NotFound("No such callback.")
        raise Invalid({"type": ["Not a delivery report, an inbound or a call event."]})

    fake_alerting.answers["operator_callback"] = check
    assert_problem(api.post("/api/v1/alerting/operator-callbacks/guess", json=RECEIPT), 404)
    assert "type" in assert_problem(api.post(CALLBACK, json={"hello": 1}), 422)["errors"]


@broker
@pytest.mark.parametrize(("data", "content_type", "status"), [
    ("{not json", "application/json", 400),
    ("", "application/json", 400),
    ("type=delivery_report_sms", "application/x-www-form-urlencoded", 415),
])
def test_a_body_that_is_not_json_reaches_no_service(gateway, api, fake_alerting, data,
                                                    content_type, status):
    assert_problem(api.post(CALLBACK, data=data, headers={"Content-Type": content_type}),
                   status)
    assert fake_alerting.called("operator_callback") == []


@broker
def test_a_service_that_does_not_answer_is_a_5xx_the_operator_retries(
        start_gateway, api, fake_alerting):
    start_gateway(RPC_TIMEOUT=0.3)
    fake_alerting.answers["operator_callback"] = lambda token, body: eventlet.sleep(30)
    answer = api.post(CALLBACK, json=RECEIPT, timeout=10)
    assert "did not answer within 0.3 s" in assert_problem(answer, 504)["detail"]

    def broken(token, body):
        raise RuntimeError("database is down")

    fake_alerting.answers["operator_callback"] = broken
    assert_problem(api.post(CALLBACK, json=RECEIPT, timeout=10), 500)
