"""The operator client against the local operator (``operator_sandbox``) over HTTP: batches
taken and named, what is refused and what may be tried again, receipts posted to a listener of
the test and read back in our words, voice calls, and the tariff."""

import json
import queue
import socket
import threading
import time
from decimal import Decimal

import pytest
from werkzeug.wrappers import Request, Response

from servicekit import config as suite_config
from servicekit.sandboxes import make_wsgi_server
from services.alerting.operator import (
    InvalidReceipt,
    OperatorClient,
    OperatorError,
    OperatorSettings,
    parse_receipt,
    voice_url_for,
)
from services.alerting.rules import communication_cost, sms_segments, voice_minutes

DELIVERED_TO = "+33612345678"
FAILS_FOR_GOOD = "+33612345699"
FAILS_FOR_A_WHILE = "+33612345698"
FLOOD = "Crue de la Mosson : évacuez les berges."


class Listener:
    """Our side of the callbacks: an HTTP server that keeps what is POSTed to it, and answers
    ``answers`` (statuses, one per request) before it answers 200."""

    def __init__(self):
        self.received = queue.Queue()
        self.answers = []
        self.requests = 0
        self.server = make_wsgi_server(self, "127.0.0.1:0", log_requests=False)
        self.url = f"http://127.0.0.1:{self.server.port}/alerting/receipts"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests += 1
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            self.received.put(request.get_data())
        return Response("", status=status)(environ, start_response)

    def receipts(self, count, timeout=5.0):
        """The next ``count`` receipts, parsed."""
        deadline = time.monotonic() + timeout
        got = []
        while len(got) < count:
            try:
                got.append(parse_receipt(self.received.get(
                    timeout=max(0.01, deadline - time.monotonic()))))
            except queue.Empty:
                raise AssertionError(f"{len(got)} of {count} receipts arrived") from None
        return got

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    ours = Listener()
    yield ours
    ours.close()


@pytest.fixture
def client(operator_server, listener):
    return OperatorClient(operator_server.settings(callback_url=listener.url))


def batch(*numbers, text=FLOOD):
    return [{"recipient_id": index, "to": number, "text": text}
            for index, number in enumerate(numbers, 1)]


def final(receipts):
    return {receipt.number: receipt for receipt in receipts if receipt.status != "sent"}


def test_a_batch_is_taken_and_each_recipient_gets_the_operators_id(client, operator_server):
    sent = client.send_sms([
        {"recipient_id": "r1", "to": DELIVERED_TO, "text": FLOOD},
        {"recipient_id": "r2", "to": "+33611111111", "text": FLOOD},
        {"recipient_id": "r3", "to": "+33622222222", "text": "Fin d'alerte."},
    ], client_reference="campaign-42")
    assert set(sent) == {"r1", "r2", "r3"}
    batch_ids = {operator_id.split(":")[0] for operator_id in sent.values()}
    assert len(batch_ids) == 2  # one operator batch per text
    assert sent["r1"].endswith(f":{DELIVERED_TO}")
    assert sent["r1"].split(":")[0] == sent["r2"].split(":")[0] != sent["r3"].split(":")[0]
    messages = operator_server.messages(channel="sms")
    assert [(m["to"], m["from"], m["text"], m["client_reference"]) for m in messages] == [
        (DELIVERED_TO, "MAIRIE", FLOOD, "campaign-42"),
        ("+33611111111", "MAIRIE", FLOOD, "campaign-42"),
        ("+33622222222", "MAIRIE", "Fin d'alerte.", "campaign-42"),
    ]


def test_receipts_are_called_back_and_read_as_sent_delivered_or_failed(client, listener):
    sent = client.send_sms(batch(DELIVERED_TO, FAILS_FOR_GOOD, FAILS_FOR_A_WHILE))
    # The final report of each only (per_recipient_final): that it left we knew at once.
    receipts = listener.receipts(3)
    assert not [r for r in receipts if r.operator_status == "Dispatched"]
    outcome = final(receipts)
    delivered, failed, expired = (outcome[n] for n in (DELIVERED_TO, FAILS_FOR_GOOD,
                                                         FAILS_FOR_A_WHILE))
    assert (delivered.status, delivered.operator_id, delivered.permanent) == (
        "delivered", sent[1], False)
    assert (failed.status, failed.operator_id, failed.permanent) == ("failed", sent[2], True)
    assert (expired.status, expired.operator_id, expired.permanent) == ("failed", sent[3], False)
    assert delivered.at is not None and delivered.channel == "sms"
    assert client.status(sent[1]).status == "delivered"
    assert client.status(sent[2]).permanent is True


def test_a_reply_comes_back_as_an_acknowledgement_of_its_number(client, listener,
                                                                 operator_server):
    client.send_sms(batch(DELIVERED_TO))
    listener.receipts(1)
    operator_server.reply(DELIVERED_TO, "OK bien reçu")
    (reply,) = listener.receipts(1)
    assert (reply.status, reply.number, reply.text, reply.operator_id) == (
        "acknowledged", DELIVERED_TO, "OK bien reçu", None)


def test_without_a_callback_url_no_receipt_is_asked_for_and_the_status_is_read(
        operator_server, listener):
    client = OperatorClient(operator_server.settings())
    sent = client.send_sms(batch(DELIVERED_TO))
    operator_server.wait_until_settled()
    assert client.status(sent[1]).status == "delivered"
    assert operator_server.callbacks() == [] and listener.requests == 0


def test_credentials_the_operator_does_not_know_are_refused_for_good(operator_server):
    client = OperatorClient(operator_server.settings(api_token="not-the-token"))
    with pytest.raises(OperatorError) as refused:
        client.send_sms(batch(DELIVERED_TO))
    assert refused.value.retryable is False
    assert "401" in refused.value.detail and "unauthorized" in refused.value.detail
    assert "not-the-token" not in refused.value.detail
    voice = OperatorClient(operator_server.settings(voice_secret="wrong"))
    with pytest.raises(OperatorError) as refused:
        voice.call(batch(DELIVERED_TO))
    assert refused.value.retryable is False
    assert operator_server.messages() == []


def test_a_sender_the_account_has_not_registered_is_refused_for_good(operator_server):
    client = OperatorClient(operator_server.settings(sender="PIRATE"))
    with pytest.raises(OperatorError) as refused:
        client.send_sms(batch(DELIVERED_TO))
    assert refused.value.retryable is False and "sender_not_allowed" in refused.value.detail


def test_a_number_that_is_not_e164_is_refused_before_anything_is_sent(client, operator_server):
    with pytest.raises(OperatorError) as refused:
        client.send_sms([{"recipient_id": 7, "to": "0612345678", "text": FLOOD},
                         {"recipient_id": 8, "to": DELIVERED_TO, "text": FLOOD}])
    assert (refused.value.retryable, refused.value.refused) == (False, (7,))
    assert operator_server.state()["calls"] == {}


@pytest.mark.parametrize("fault", ["500", "429"])
def test_a_server_error_or_too_many_requests_may_be_tried_again(client, operator_server, fault):
    operator_server.fail("batches", fault)
    with pytest.raises(OperatorError) as failed:
        client.send_sms(batch(DELIVERED_TO))
    assert failed.value.retryable is True
    assert client.send_sms(batch(DELIVERED_TO))[1].endswith(DELIVERED_TO)


def test_an_operator_that_does_not_answer_in_time_may_be_tried_again(operator_server):
    client = OperatorClient(operator_server.settings(timeout=0.3))
    operator_server.fail("batches", "timeout", seconds=1.0)
    began = time.monotonic()
    with pytest.raises(OperatorError) as failed:
        client.send_sms(batch(DELIVERED_TO))
    assert failed.value.retryable is True and "no answer within 0.3 s" in failed.value.detail
    assert time.monotonic() - began < 1.0


def test_an_operator_out_of_reach_may_be_tried_again():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    config = {**suite_config.from_environment({}), "OPERATOR_API_URL": closed,
              "OPERATOR_TIMEOUT": 1.0}
    with pytest.raises(OperatorError) as failed:
        OperatorClient(config).send_sms(batch(DELIVERED_TO))
    assert failed.value.retryable is True and "connection failed" in failed.value.detail


def test_an_answer_lost_after_the_batch_was_taken_is_retryable_and_named_by_its_reference(
        client, operator_server):
    operator_server.fail("batches", "500", after_store=True)
    with pytest.raises(OperatorError) as failed:
        client.send_sms(batch(DELIVERED_TO), client_reference="campaign-7")
    assert failed.value.retryable is True
    (kept,) = operator_server.messages()
    assert kept["client_reference"] == "campaign-7"


def fail_after_the_first_answer(client, operator_server, operation):
    """The operator fails the second call of ``operation`` with a 500."""
    answers = []

    def hook(response, *args, **kwargs):
        answers.append(response)
        if len(answers) == 1:
            operator_server.fail(operation, "500")

    client.http.hooks["response"].append(hook)


def test_an_error_after_some_batches_were_taken_says_which(client, operator_server):
    fail_after_the_first_answer(client, operator_server, "batches")
    with pytest.raises(OperatorError) as failed:
        client.send_sms([{"recipient_id": "a", "to": DELIVERED_TO, "text": FLOOD},
                         {"recipient_id": "b", "to": "+33611111111", "text": "Autre consigne"}])
    assert failed.value.retryable is True
    assert list(failed.value.sent) == ["a"] and failed.value.sent["a"].endswith(DELIVERED_TO)
    assert [m["to"] for m in operator_server.messages()] == [DELIVERED_TO]


def test_a_call_reads_the_text_and_its_end_comes_back_with_our_recipient(client, listener,
                                                                        operator_server):
    client.set_call_callback(listener.url)
    assert operator_server.state()["voice_callback_url"] == listener.url
    called = client.call([
        {"recipient_id": 11, "to": DELIVERED_TO, "text": FLOOD},
        {"recipient_id": 12, "to": FAILS_FOR_A_WHILE, "text": FLOOD},
        {"recipient_id": 13, "to": FAILS_FOR_GOOD, "text": FLOOD},
    ])
    assert set(called) == {11, 12, 13}
    ended = {receipt.recipient_id: receipt for receipt in listener.receipts(3)}
    answered, unanswered, failed = ended["11"], ended["12"], ended["13"]
    assert (answered.channel, answered.status, answered.operator_id, answered.number) == (
        "voice", "delivered", called[11], DELIVERED_TO)
    assert answered.seconds == 3  # 39 characters read at 15 a second
    assert (unanswered.status, unanswered.permanent) == ("failed", False)
    assert (failed.status, failed.permanent) == ("failed", True)
    assert [m["text"] for m in operator_server.messages(channel="voice")] == [FLOOD] * 3
    assert communication_cost(0, voice_minutes([answered.seconds]), "0.045", "0.12") == (
        Decimal("0.12"))


def test_a_call_the_operator_cannot_place_says_which_calls_were_placed(client, operator_server):
    fail_after_the_first_answer(client, operator_server, "callouts")
    with pytest.raises(OperatorError) as failed:
        client.call(batch(DELIVERED_TO, "+33611111111"))
    assert failed.value.retryable is True and list(failed.value.sent) == [1]
    assert [m["to"] for m in operator_server.messages(channel="voice")] == [DELIVERED_TO]


def test_a_receipt_is_posted_again_while_our_side_answers_503(client, listener,
                                                              operator_server):
    listener.answers = [503, 503]
    sent = client.send_sms(batch(DELIVERED_TO))
    receipts = listener.receipts(1)
    assert final(receipts)[DELIVERED_TO].operator_id == sent[1]
    attempts = [c["attempts"] for c in operator_server.callbacks()]
    assert attempts[0] == 3 and all(c["delivered"] for c in operator_server.callbacks())


def test_a_receipt_refused_with_a_4xx_is_not_posted_again(client, listener, operator_server):
    listener.answers = [400]
    client.send_sms(batch(DELIVERED_TO))
    deadline = time.monotonic() + 5
    while not operator_server.callbacks() or not operator_server.callbacks()[0]["attempts"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)  # longer than the sandbox's wait before a second try
    (first,) = operator_server.callbacks()
    assert (first["attempts"], first["status"], first["delivered"]) == (1, 400, False)
    assert listener.requests == 1


def test_parse_receipt_reads_bytes_text_or_objects_and_refuses_the_rest():
    report = {"type": "recipient_delivery_report_sms", "batch_id": "01B", "recipient":
              "33612345678", "status": "Rejected", "code": 403, "at": "2026-05-04T10:00:00Z"}
    for body in (report, json.dumps(report), json.dumps(report).encode()):
        receipt = parse_receipt(body)
        assert (receipt.status, receipt.operator_id, receipt.permanent) == (
            "failed", "01B:+33612345678", True)
    for body in (b"not json", b"[]", {"type": "delivery_report_sms", "batch_id": "01B"},
                 {**report, "status": "Lost"}, {"event": "ice", "callid": "x"},
                 {"event": "dice", "result": "ANSWERED"}):
        with pytest.raises(InvalidReceipt):
            parse_receipt(body)


def test_segments_and_the_price_of_an_sms():
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2
    assert sms_segments("a" * 306) == 2 and sms_segments("a" * 307) == 3
    assert sms_segments("€" * 80) == 1 and sms_segments("€" * 81) == 2  # two GSM characters
    assert sms_segments("ê" * 70) == 1 and sms_segments("ê" * 71) == 2  # UCS-2
    def cost(segments=0, calls=()):
        return communication_cost(segments, voice_minutes(calls), "0.045", "0.12")

    assert cost(sms_segments("évacuez") * 10) == Decimal("0.450")
    assert cost(sms_segments("ê" * 71) * 2) == Decimal("0.180")
    assert cost(calls=[0]) == 0 and cost(calls=[60]) == Decimal("0.12")
    assert cost(calls=[61]) == Decimal("0.24")


def test_settings_come_from_the_suite_config():
    config = suite_config.from_environment({
        "COMMUNS_OPERATOR_API_URL": "https://eu.sms.api.sinch.com/",
        "COMMUNS_OPERATOR_LOGIN": "plan-1", "COMMUNS_OPERATOR_PASSWORD": "token-1",
        "COMMUNS_OPERATOR_VOICE_KEY": "app-1", "COMMUNS_OPERATOR_VOICE_SECRET": "secret-1",
        "COMMUNS_OPERATOR_SENDER": "MONTPELLIER", "COMMUNS_OPERATOR_VOICE_CLI": "+33499000000",
        "COMMUNS_OPERATOR_CALLBACK_URL": "https://services.example/receipts",
        "COMMUNS_OPERATOR_TIMEOUT": "4", "COMMUNS_OPERATOR_SMS_SEGMENT_PRICE": "0.05",
    })
    settings = OperatorSettings.from_config(config)
    assert settings == OperatorSettings(
        "https://eu.sms.api.sinch.com", "plan-1", "token-1", "MONTPELLIER", "app-1", "secret-1",
        voice_cli="+33499000000", callback_url="https://services.example/receipts",
        timeout=4.0)
    assert settings.calling_url == "https://calling.api.sinch.com"
    assert settings.configuration_url == "https://callingapi.sinch.com"
    assert voice_url_for("http://127.0.0.1:8092") == "http://127.0.0.1:8092"
    with pytest.raises(ValueError, match="COMMUNS_OPERATOR_API_URL"):
        OperatorSettings.from_config(suite_config.from_environment(
            {"COMMUNS_OPERATOR_SANDBOX": "false"}))
