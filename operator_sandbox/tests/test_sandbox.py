"""The sandbox application through werkzeug's test client: what it refuses and in which shape,
what it keeps, how its messages end, its callbacks, faults and control API."""

import base64
import socket
import time

import pytest
from werkzeug.test import Client

from operator_sandbox.server import credentials
from operator_sandbox.testing import TEST_CREDENTIALS

PLAN = TEST_CREDENTIALS["OPERATOR_LOGIN"]
TOKEN = TEST_CREDENTIALS["OPERATOR_PASSWORD"]
VOICE = base64.b64encode(f"{TEST_CREDENTIALS['OPERATOR_VOICE_KEY']}:"
                         f"{TEST_CREDENTIALS['OPERATOR_VOICE_SECRET']}".encode()).decode()
BATCHES = f"/xms/v1/{PLAN}/batches"


@pytest.fixture
def options():
    return {"delay_seconds": 0.02, "fault_seconds": 0.05, "callback_attempts": 3,
            "callback_backoff": 0.02, "callback_timeout": 0.5}


@pytest.fixture
def application(options):
    from operator_sandbox.app import OperatorSandbox

    app = OperatorSandbox(credentials(TEST_CREDENTIALS), **options)
    yield app
    app.close()


@pytest.fixture
def http(application):
    return Client(application)


def send(http, token=TOKEN, plan=PLAN, **body):
    body = {"from": "MAIRIE", "to": ["+33612345678"], "body": "Alerte crue", **body}
    return http.post(f"/xms/v1/{plan}/batches", json=body,
                     headers={"Authorization": f"Bearer {token}"})


def messages(http, **filters):
    return http.get("/_sandbox/messages", query_string=filters).json


def settled(http, count, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = messages(http)
        if sum(1 for m in state["messages"] if m["settled_at"]) >= count:
            return state
        time.sleep(0.01)
    raise AssertionError("the messages were not delivered")


def closed_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/receipts"


def test_a_batch_is_answered_as_sinch_answers_and_every_message_is_kept(http):
    answer = send(http, to=["+33612345678", "+33687654321", "+33612345678"],
                  client_reference="c-1", delivery_report="per_recipient_final")
    assert answer.status_code == 201
    batch = answer.json
    assert len(batch["id"]) == 26 and batch["type"] == "mt_text"
    assert (batch["to"], batch["from"], batch["canceled"], batch["client_reference"]) == (
        ["+33612345678", "+33687654321"], "MAIRIE", False, "c-1")
    assert http.get(f"{BATCHES}/{batch['id']}", headers={"Authorization": f"Bearer {TOKEN}"}
                    ).json == batch
    kept = messages(http)["messages"]
    assert [(m["to"], m["status"], m["segments"]) for m in kept] == [
        ("+33612345678", "Queued", 1), ("+33687654321", "Queued", 1)]


@pytest.mark.parametrize("token, plan", [("wrong", PLAN), (TOKEN, "another-plan"), ("", PLAN)])
def test_a_batch_without_the_plan_and_its_token_is_refused(http, token, plan):
    answer = send(http, token=token, plan=plan)
    assert (answer.status_code, answer.json["code"]) == (401, "unauthorized")
    assert messages(http)["messages"] == []


@pytest.mark.parametrize("body, code", [
    ({"to": []}, "syntax_constraint_violation"),
    ({"body": ""}, "syntax_constraint_violation"),
    ({"to": ["0612345678"]}, "syntax_invalid_parameter_format"),
    ({"to": ["+33612345678", "33612345678"]}, "syntax_invalid_parameter_format"),
    ({"to": "+33612345678"}, "syntax_invalid_parameter_format"),
    ({"from": "UN NOM BIEN TROP LONG"}, "syntax_invalid_parameter_format"),
    ({"type": "mt_binary"}, "syntax_constraint_violation"),
    ({"body": "x" * 2001}, "syntax_constraint_violation"),
    ({"delivery_report": "sometimes"}, "syntax_invalid_parameter_format"),
    ({"callback_url": "ftp://example.org/x"}, "syntax_invalid_parameter_format"),
])
def test_a_malformed_batch_is_refused_with_sinchs_error_shape(http, body, code):
    answer = send(http, **body)
    assert answer.status_code == 400
    assert answer.json["code"] == code and answer.json["text"]
    assert messages(http)["messages"] == []


def test_a_body_that_is_not_json_and_a_sender_not_registered_are_refused(http):
    answer = http.post(BATCHES, data="to=+33612345678",
                       headers={"Authorization": f"Bearer {TOKEN}"})
    assert (answer.status_code, answer.json["code"]) == (400, "syntax_invalid_json")
    answer = send(http, **{"from": "AUTRE"})
    assert (answer.status_code, answer.json["code"]) == (403, "sender_not_allowed")


def test_numbers_ending_in_99_fail_for_good_in_98_for_a_while(http):
    batch = send(http, to=["+33612345678", "+33612345699", "+33612345698"]).json
    outcome = {m["to"]: (m["status"], m["code"]) for m in settled(http, 3)["messages"]}
    assert outcome == {"+33612345678": ("Delivered", 0), "+33612345699": ("Failed", 402),
                       "+33612345698": ("Expired", 406)}
    report = http.get(f"{BATCHES}/{batch['id']}/delivery_report/+33612345699",
                      headers={"Authorization": f"Bearer {TOKEN}"}).json
    assert (report["type"], report["status"], report["recipient"]) == (
        "recipient_delivery_report_sms", "Failed", "+33612345699")
    unknown = http.get(f"{BATCHES}/{batch['id']}/delivery_report/+33600000000",
                       headers={"Authorization": f"Bearer {TOKEN}"})
    assert unknown.status_code == 404


@pytest.mark.parametrize("options", [{"delay_seconds": 0.01, "failure_rate": 1.0}])
def test_a_share_of_the_messages_fails_for_a_while(http):
    send(http, to=["+33612345670", "+33612345671"])
    assert {m["status"] for m in settled(http, 2)["messages"]} == {"Expired"}


def test_a_callback_our_side_cannot_take_is_tried_again_then_given_up(http):
    url = closed_url()
    send(http, callback_url=url, delivery_report="per_recipient")
    settled(http, 1)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        callbacks = messages(http)["callbacks"]
        if len(callbacks) == 2 and all(c["attempts"] == 3 for c in callbacks):
            break
        time.sleep(0.02)
    assert [(c["payload"]["status"], c["attempts"], c["delivered"], c["error"])
            for c in callbacks] == [("Dispatched", 3, False, "ConnectionError"),
                                    ("Delivered", 3, False, "ConnectionError")]


def test_faults_answer_500_429_401_or_late_and_after_store_keeps_the_batch(http):
    for fault in ("500", "429", "401"):
        assert http.post("/_sandbox/faults", json={"operation": "batches",
                                                   "fault": fault}).status_code == 201
    assert send(http).status_code == 500
    limited = send(http)
    assert (limited.status_code, limited.json["code"], limited.headers["Retry-After"]) == (
        429, "too_many_requests", "1")
    assert send(http).status_code == 401
    http.post("/_sandbox/faults", json={"operation": "batches", "fault": "timeout"})
    began = time.monotonic()
    assert send(http).status_code == 504 and time.monotonic() - began >= 0.05
    assert messages(http)["messages"] == []
    http.post("/_sandbox/faults", json={"operation": "batches", "fault": "500",
                                        "after_store": True})
    assert send(http).status_code == 500
    assert len(messages(http)["messages"]) == 1
    assert http.post("/_sandbox/faults", json={"operation": "deliver",
                                               "fault": "500"}).status_code == 422


def callout(http, auth=VOICE, **fields):
    body = {"method": "ttsCallout", "ttsCallout": {
        "destination": {"type": "number", "endpoint": "+33612345678"}, "locale": "fr-FR",
        "text": "Alerte crue, évacuez", "enableDice": True, "custom": "r-1", **fields}}
    return http.post("/calling/v1/callouts", json=body, headers={"Authorization": f"Basic {auth}"})


def test_a_callout_needs_the_application_and_a_number(http):
    assert callout(http, auth=base64.b64encode(b"key:wrong").decode()).status_code == 401
    refused = callout(http, destination={"type": "number", "endpoint": "0612"})
    assert refused.status_code == 400 and refused.json["errorCode"] == 40001
    assert callout(http, text="").status_code == 400
    assert callout(http, cli="CITY").status_code == 400
    answer = callout(http)
    assert answer.status_code == 200 and len(answer.json["callId"]) == 32
    (call,) = messages(http, channel="voice")["messages"]
    assert (call["call_id"], call["to"], call["custom"]) == (
        answer.json["callId"], "+33612345678", "r-1")


def test_the_voice_callback_url_is_the_applications_setting(http):
    key = TEST_CREDENTIALS["OPERATOR_VOICE_KEY"]
    path = f"/v1/configuration/callbacks/applications/{key}"
    headers = {"Authorization": f"Basic {VOICE}"}
    assert http.post(path, json={"url": {"primary": "nope"}}, headers=headers).status_code == 400
    assert http.post(path, json={"url": {"primary": "http://127.0.0.1:1/x"}},
                     headers=headers).status_code == 200
    assert http.get(path, headers=headers).json["url"]["primary"] == "http://127.0.0.1:1/x"
    assert http.get("/v1/configuration/callbacks/applications/other",
                    headers=headers).status_code == 404


def test_a_reply_needs_a_message_sent_to_its_number_and_reset_forgets_everything(http):
    assert http.post("/_sandbox/replies", json={"from": "+33612345678",
                                                "body": "OK"}).status_code == 404
    send(http)
    reply = http.post("/_sandbox/replies", json={"from": "+33612345678", "body": "OK"})
    assert reply.status_code == 201
    assert (reply.json["reply"]["type"], reply.json["reply"]["to"]) == ("mo_text", "MAIRIE")
    assert messages(http)["messages"][0]["replies"] == ["OK"]
    http.post("/_sandbox/reset")
    assert messages(http)["messages"] == []
