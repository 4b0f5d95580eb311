"""The sandbox's WSGI application: Sinch's SMS batches and delivery reports, its voice
text-to-speech callouts and callback configuration, and a control API under ``/_sandbox`` for
tests and demonstrations.

State lives in memory, behind one lock. A batch is checked as Sinch checks it (the service plan
and its Bearer token, a registered sender, E.164 numbers, a text) and refused with Sinch's error
shape ``{"code", "text"}``; a callout with the voice API's ``{"status", "errorCode",
"message"}``. Each message is kept (``GET /_sandbox/messages``), "delivered" ``delay_seconds``
later, in a thread of the sandbox, and its receipt POSTed to the batch's ``callback_url`` (a
call's end to the voice application's callback URL): tried again after a connection error, a
timeout, a 5xx or a 429, ``callback_attempts`` times in all, the wait doubling from
``callback_backoff``, as Sinch does (its first retry waits 5 s).

What becomes of a message is decided by its number: ending in 99 it fails for good (SMS
``Failed``, code 402; call ``FAILED``), ending in 98 for a while (SMS ``Expired``, code 406; call
``NOANSWER``), and a share ``failure_rate`` of the others fails for a while too; the rest are
delivered (code 0; a call ``ANSWERED``, one second per 15 characters read). With
``delivery_report: per_recipient`` a ``Dispatched`` report (code 401) is posted first. Codes
other than Sinch's statuses are the sandbox's reading of Sinch's delivery receipt codes.
``POST /_sandbox/replies`` makes a number answer (a ``mo_text`` to the callback URL of the last
batch sent to it: Sinch posts replies to the service plan's callback URL).
"""

import heapq
import json
import math
import random
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlparse

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from servicekit.sandbox_app import SandboxApp, json_response, same_secret
from services.alerting.rules import sms_segments

SEND = "batches"
REPORT = "delivery_report"
CALLOUT = "callouts"
CALLBACKS = "callbacks"
OPERATIONS = (SEND, REPORT, CALLOUT, CALLBACKS)
FAULTS = ("500", "429", "timeout", "401")

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 .\-]{1,11}$")
SHORT_CODE = re.compile(r"^\d{3,8}$")
MAX_RECIPIENTS = 1000
MAX_BODY = 2000
REPORT_KINDS = ("none", "summary", "full", "per_recipient", "per_recipient_final")
LOCALES = re.compile(r"^[a-z]{2}-[A-Z]{2}$")

DISPATCHED = ("Dispatched", 401)
DELIVERED = ("Delivered", 0)
FAILED_FOR_GOOD = ("Failed", 402)
EXPIRED = ("Expired", 406)
CHARACTERS_PER_SECOND = 15


@dataclass
class Message:
    """One SMS to one number, or one call."""

    channel: str  # "sms" or "voice"
    id: str  # the batch's id, or the call's
    to: str
    sender: str | None
    text: str
    created_at: datetime
    status: str
    code: int | str | None = None
    settled_at: datetime | None = None
    callback_url: str | None = None
    report_kind: str = "none"
    client_reference: str | None = None
    custom: str | None = None
    duration: int | None = None
    segments: int | None = None
    replies: list = field(default_factory=list)
    posted: object = field(default=None, repr=False)  # its last callback's future

    def view(self):
        return {
            "channel": self.channel,
            "batch_id" if self.channel == "sms" else "call_id": self.id,
            "to": self.to, "from": self.sender, "text": self.text, "status": self.status,
            "code": self.code, "created_at": _moment(self.created_at),
            "settled_at": _moment(self.settled_at) if self.settled_at else None,
            "callback_url": self.callback_url, "client_reference": self.client_reference,
            "custom": self.custom, "duration": self.duration, "segments": self.segments,
            "replies": list(self.replies),
        }


class OperatorSandbox(SandboxApp):
    """``credentials``: what it accepts (``server.Credentials``)."""

    OPERATIONS = OPERATIONS
    FAULTS = FAULTS

    def __init__(self, credentials, delay_seconds=2.0, failure_rate=0.0, fault_seconds=30.0,
                 callback_attempts=5, callback_backoff=1.0, callback_timeout=5.0, seed=None,
                 now=lambda: datetime.now(UTC)):
        self.credentials = credentials
        self.delay_seconds = delay_seconds
        self.failure_rate = failure_rate
        self.callback_attempts = callback_attempts
        self.callback_backoff = callback_backoff
        self.callback_timeout = callback_timeout
        self._random = random.Random(seed)
        self._closed = threading.Event()
        self._callback_http = requests.Session()
        self._posting = ThreadPoolExecutor(max_workers=8,
                                           thread_name_prefix="operator-sandbox-callback")
        self._delivering = None
        super().__init__([
            Rule("/xms/v1/<plan>/batches", endpoint="send", methods=["POST"]),
            Rule("/xms/v1/<plan>/batches/<batch_id>", endpoint="batch", methods=["GET"]),
            Rule("/xms/v1/<plan>/batches/<batch_id>/delivery_report/<recipient>",
                 endpoint="recipient_report", methods=["GET"]),
            Rule("/calling/v1/callouts", endpoint="callout", methods=["POST"]),
            Rule("/v1/configuration/callbacks/applications/<key>", endpoint="voice_callbacks",
                 methods=["GET", "POST"]),
            Rule("/_sandbox/messages", endpoint="messages", methods=["GET"]),
            Rule("/_sandbox/replies", endpoint="replies", methods=["POST"]),
        ], None, fault_seconds, now)
        self._wake = threading.Condition(self._lock)

    def reset(self):
        super().reset()
        with self._lock:
            self._batches = {}
            self._messages = []
            self._by_sms = {}  # (batch id, number) -> Message
            self._callbacks = []
            self._voice_callback_url = None
            self._due = []
            self._sequence = 0

    def close(self):
        """Stops delivering and posting (what is under way finishes)."""
        self._closed.set()
        with self._lock:
            self._wake.notify_all()
        self._posting.shutdown(wait=False, cancel_futures=True)
        self._callback_http.close()

    # -- Sinch's SMS API --------------------------------------------------------------------

    def on_send(self, request, plan):
        return self._serve(SEND, request, plan, self._send)

    def on_batch(self, request, plan, batch_id):
        def read(_):
            with self._lock:
                batch = self._batches.get(batch_id)
            if batch is None:
                return _sms_error(404, "not_found", f"Batch {batch_id} not found")
            return json_response(batch)

        return self._serve(REPORT, request, plan, read, body=False)

    def on_recipient_report(self, request, plan, batch_id, recipient):
        def read(_):
            number = recipient if recipient.startswith("+") else f"+{recipient}"
            with self._lock:
                message = self._by_sms.get((batch_id, number))
                report = None if message is None else self._sms_report(message)
            if report is None:
                return _sms_error(404, "not_found",
                                  f"No message of batch {batch_id} to {number}")
            return json_response(report)

        return self._serve(REPORT, request, plan, read, body=False)

    def _serve(self, operation, request, plan, handle, body=True):
        """Faults first, as a broken network or server would; then the caller's credentials,
        then the operation."""
        fault = self._called(operation)
        if fault is not None and not fault.after_store:
            return self._fail(fault)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if not (scheme.lower() == "bearer"
                and same_secret(plan, self.credentials.service_plan_id)
                and same_secret(token, self.credentials.api_token)):
            return _sms_error(401, "unauthorized",
                              "Service plan or API token absent or not recognised")
        parsed = None
        if body:
            try:
                parsed = json.loads(request.get_data() or b"")
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                return _sms_error(400, "syntax_invalid_json",
                                  "The request body is not a JSON object")
        response = handle(parsed)
        if fault is not None:
            return self._fail(fault)
        return response

    def _send(self, body):
        problem = self._batch_problem(body)
        if problem is not None:
            return problem
        now = self.now()
        numbers = list(dict.fromkeys(body["to"]))
        batch_id = _batch_id()
        report_kind = body.get("delivery_report") or "none"
        batch = {
            "id": batch_id, "to": numbers, "from": body["from"], "canceled": False,
            "body": body["body"], "type": "mt_text", "created_at": _moment(now),
            "modified_at": _moment(now), "delivery_report": report_kind,
            "flash_message": False,
        }
        for key in ("callback_url", "client_reference"):
            if body.get(key):
                batch[key] = body[key]
        segments = sms_segments(body["body"])
        with self._lock:
            self._batches[batch_id] = batch
            for number in numbers:
                message = Message(
                    "sms", batch_id, number, body["from"], body["body"], now, "Queued",
                    code=400, callback_url=body.get("callback_url"), report_kind=report_kind,
                    client_reference=body.get("client_reference"), segments=segments)
                self._messages.append(message)
                self._by_sms[(batch_id, number)] = message
                if report_kind == "per_recipient":
                    self._schedule(0, self._settle, message, DISPATCHED)
                self._schedule(self.delay_seconds, self._settle, message, self._fate_of_sms(number))
        return json_response(batch, 201)

    def _batch_problem(self, body):
        to, sender, text = body.get("to"), body.get("from"), body.get("body")
        missing = [name for name, value in (("to", to), ("from", sender), ("body", text))
                   if value in (None, "", [])]
        if missing:
            return _sms_error(400, "syntax_constraint_violation",
                              f"Required fields missing: {', '.join(missing)}")
        if body.get("type", "mt_text") != "mt_text":
            return _sms_error(400, "syntax_constraint_violation",
                              "This sandbox sends text batches only (type mt_text)")
        if not isinstance(to, list) or not all(isinstance(number, str) for number in to):
            return _sms_error(400, "syntax_invalid_parameter_format",
                              "to: a list of MSISDNs in E.164")
        if len(to) > MAX_RECIPIENTS:
            return _sms_error(400, "syntax_constraint_violation",
                              f"to: at most {MAX_RECIPIENTS} recipients in a batch")
        invalid = [number for number in to if not E164.match(number)]
        if invalid:
            return _sms_error(400, "syntax_invalid_parameter_format",
                              f"Invalid MSISDN (E.164 expected): {', '.join(invalid[:10])}")
        if not isinstance(sender, str) or not (E164.match(sender) or SHORT_CODE.match(sender)
                                               or ALPHANUMERIC_SENDER.match(sender)):
            return _sms_error(400, "syntax_invalid_parameter_format",
                              "from: an E.164 number, a short code or 1 to 11 letters and digits")
        if sender not in self.credentials.senders:
            # The sandbox's code: Sinch refuses a sender the account may not use with a 403.
            return _sms_error(403, "sender_not_allowed",
                              f"Sender {sender!r} is not registered for this service plan")
        if not isinstance(text, str) or len(text) > MAX_BODY:
            return _sms_error(400, "syntax_constraint_violation",
                              f"body: a text of at most {MAX_BODY} characters")
        if body.get("delivery_report", "none") not in REPORT_KINDS:
            return _sms_error(400, "syntax_invalid_parameter_format",
                              f"delivery_report: one of {', '.join(REPORT_KINDS)}")
        callback_url = body.get("callback_url")
        if callback_url is not None and not _http_url(callback_url):
            return _sms_error(400, "syntax_invalid_parameter_format",
                              "callback_url: an http(s) URL")
        reference = body.get("client_reference")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 2048):
            return _sms_error(400, "syntax_invalid_parameter_format",
                              "client_reference: a text of at most 2048 characters")
        return None

    def _sms_report(self, message):
        report = {
            "type": "recipient_delivery_report_sms", "batch_id": message.id,
            "recipient": message.to, "status": message.status, "code": message.code,
            "at": _moment(message.settled_at or message.created_at),
        }
        if message.settled_at:
            report["operator_status_at"] = _moment(message.settled_at)
        if message.client_reference:
            report["client_reference"] = message.client_reference
        return report

    def _fate_of_sms(self, number):
        if number.endswith("99"):
            return FAILED_FOR_GOOD
        if number.endswith("98") or self._unlucky():
            return EXPIRED
        return DELIVERED

    def _unlucky(self):
        return self.failure_rate > 0 and self._random.random() < self.failure_rate

    # -- Sinch's voice API ------------------------------------------------------------------

    def on_callout(self, request):
        return self._serve_voice(CALLOUT, request, self._callout)

    def on_voice_callbacks(self, request, key):
        def configure(body):
            if not same_secret(key, self.credentials.voice_key):
                return _voice_error(404, 40400, f"Application {key} not found")
            if request.method == "GET":
                with self._lock:
                    url = self._voice_callback_url
                return json_response({"url": {"primary": url, "fallback": None}})
            url = (body.get("url") or {}).get("primary") if isinstance(body.get("url"),
                                                                        dict) else None
            if not _http_url(url):
                return _voice_error(400, 40001, "url.primary: an http(s) URL")
            with self._lock:
                self._voice_callback_url = url
            return Response(status=200)

        return self._serve_voice(CALLBACKS, request, configure, body=request.method == "POST")

    def _serve_voice(self, operation, request, handle, body=True):
        fault = self._called(operation)
        if fault is not None and not fault.after_store:
            return self._fail(fault, voice=True)
        auth = request.authorization
        if not (auth and auth.type == "basic"
                and same_secret(auth.username or "", self.credentials.voice_key)
                and same_secret(auth.password or "", self.credentials.voice_secret)):
            return _voice_error(401, 40100, "Invalid application key or secret")
        parsed = {}
        if body:
            try:
                parsed = json.loads(request.get_data() or b"")
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                return _voice_error(400, 40003, "The request body is not a JSON object")
        response = handle(parsed)
        if fault is not None:
            return self._fail(fault, voice=True)
        return response

    def _callout(self, body):
        if body.get("method") != "ttsCallout":
            return _voice_error(400, 40001, "This sandbox places ttsCallout callouts only")
        callout = body.get("ttsCallout")
        if not isinstance(callout, dict):
            return _voice_error(400, 40002, "ttsCallout is missing")
        destination = callout.get("destination") or {}
        number = destination.get("endpoint") if isinstance(destination, dict) else None
        if not isinstance(destination, dict) or destination.get("type") != "number" \
                or not isinstance(number, str) or not E164.match(number):
            return _voice_error(400, 40001, "destination: {type: number, endpoint: E.164}")
        text = callout.get("text")
        if not isinstance(text, str) or not text.strip():
            return _voice_error(400, 40002, "text is missing")
        cli = callout.get("cli")
        if cli is not None and (not isinstance(cli, str) or not E164.match(cli)):
            return _voice_error(400, 40001, "cli: a number in E.164")
        locale = callout.get("locale") or "en-US"
        if not isinstance(locale, str) or not LOCALES.match(locale):
            return _voice_error(400, 40001, "locale: such as fr-FR")
        call_id = secrets.token_hex(16)
        message = Message("voice", call_id, number, cli, text, self.now(), "INITIATED",
                          custom=callout.get("custom"))
        with self._lock:
            self._messages.append(message)
            self._schedule(self.delay_seconds, self._end_call, message,
                           bool(callout.get("enableDice", True)))
        return json_response({"callId": call_id})

    def _end_call(self, message, dice):
        if message.to.endswith("99"):
            result, reason, duration = "FAILED", "GENERALERROR", 0
        elif message.to.endswith("98") or self._unlucky():
            result, reason, duration = "NOANSWER", "TIMEOUT", 0
        else:
            result, reason = "ANSWERED", "CALLEEHANGUP"
            duration = max(1, math.ceil(len(message.text) / CHARACTERS_PER_SECOND))
        with self._lock:
            now = self.now()
            message.status, message.code, message.duration = result, reason, duration
            message.settled_at = now
            url = self._voice_callback_url
        if not dice or not url:
            return
        self._post(url, message=message, payload={
            "event": "dice", "callid": message.id, "timestamp": _moment(now),
            "reason": reason, "result": result, "version": 1, "custom": message.custom,
            "applicationKey": self.credentials.voice_key, "duration": duration,
            "from": message.sender or "", "to": {"type": "number", "endpoint": message.to},
            "debit": {"currencyId": "EUR", "amount": 0.0},
        })

    # -- delivering -------------------------------------------------------------------------

    def _schedule(self, delay, action, *arguments):
        """Runs ``action(*arguments)`` in ``delay`` seconds, in the sandbox's delivery thread
        (the caller holds the lock)."""
        self._sequence += 1
        heapq.heappush(self._due, (time.monotonic() + (delay or 0), self._sequence, action,
                                   arguments))
        if self._delivering is None:
            self._delivering = threading.Thread(target=self._deliver, daemon=True,
                                                name="operator-sandbox-delivery")
            self._delivering.start()
        self._wake.notify_all()

    def _deliver(self):
        while not self._closed.is_set():
            with self._lock:
                if not self._due:
                    self._wake.wait(0.5)
                    continue
                at = self._due[0][0]
                if at > time.monotonic():
                    self._wake.wait(min(0.5, at - time.monotonic()))
                    continue
                _, _, action, arguments = heapq.heappop(self._due)
            try:
                action(*arguments)
            except Exception:  # noqa: BLE001 - one broken delivery must not stop the others
                pass

    def _settle(self, message, outcome):
        status, code = outcome
        with self._lock:
            message.status, message.code = status, code
            if outcome != DISPATCHED:
                message.settled_at = self.now()
            report = self._sms_report(message)
            url = message.callback_url
            per_recipient = message.report_kind in ("per_recipient", "per_recipient_final")
        if url and per_recipient:
            self._post(url, report, message)

    def _post(self, url, payload, message=None):
        """Posts ``payload`` to ``url`` in the background; a message's callbacks one after the
        other, in the order of its statuses."""
        record = {"url": url, "payload": payload, "attempts": 0, "status": None,
                  "delivered": False, "error": None}
        with self._lock:
            self._callbacks.append(record)
            if self._closed.is_set():
                return
            previous = message.posted if message is not None else None
            try:
                future = self._posting.submit(self._post_now, record, previous)
            except RuntimeError:  # closed meanwhile
                return
            if message is not None:
                message.posted = future

    def _post_now(self, record, previous=None):
        """POSTs a callback, again after what Sinch retries (a connection error, a timeout, a
        5xx, a 429), not after another 4xx."""
        if previous is not None:
            # Submitted before this one: running or done by now, never still queued behind.
            with suppress(Exception):
                previous.exception()
        wait = self.callback_backoff
        for attempt in range(1, self.callback_attempts + 1):
            if self._closed.is_set():
                return
            try:
                answer = self._callback_http.post(record["url"], json=record["payload"],
                                                  timeout=self.callback_timeout)
                status, error = answer.status_code, None
            except requests.RequestException as failure:
                status, error = None, type(failure).__name__
            with self._lock:
                record.update(attempts=attempt, status=status, error=error,
                              delivered=status is not None and 200 <= status < 300)
            if status is not None and (status < 500 and status != 429):
                return
            if attempt < self.callback_attempts and self._closed.wait(wait):
                return
            wait *= 2

    # -- faults -----------------------------------------------------------------------------

    def _fail(self, fault, voice=False):
        if fault.fault == "401":
            if voice:
                return _voice_error(401, 40100, "Invalid application key or secret")
            return _sms_error(401, "unauthorized", "API token revoked")
        if fault.fault == "429":
            headers = {"Retry-After": "1"}
            if voice:
                return _voice_error(429, 42900, "Too many requests", headers)
            return _sms_error(429, "too_many_requests", "Too many requests", headers)
        return super()._fail(fault)

    # -- control ----------------------------------------------------------------------------

    def on_messages(self, request):
        channel, to = request.args.get("channel"), request.args.get("to")
        with self._lock:
            messages = [message.view() for message in self._messages
                        if channel in (None, message.channel) and to in (None, message.to)]
            callbacks = [json.loads(json.dumps(record)) for record in self._callbacks]
            return json_response({
                "messages": messages, "callbacks": callbacks, "calls": dict(self._calls),
                "voice_callback_url": self._voice_callback_url,
            })

    def on_replies(self, request):
        body = self._control_body(request)
        number, text = body.get("from"), body.get("body")
        if not isinstance(number, str) or not E164.match(number) or not isinstance(text, str):
            return json_response({"error": "from (E.164) and body (a text) expected"}, 422)
        with self._lock:
            sent = [message for message in self._messages
                    if message.channel == "sms" and message.to == number]
            if not sent:
                return json_response({"error": f"no SMS was sent to {number}"}, 404)
            message = sent[-1]
            reply = {
                "type": "mo_text", "id": _batch_id(), "from": number, "to": message.sender,
                "body": text, "received_at": _moment(self.now()),
            }
            message.replies.append(text)
            url = message.callback_url
        if url:
            self._post(url, reply)
        return json_response({"reply": reply, "callback_url": url}, 201)


def _sms_error(status, code, text, headers=None):
    return json_response({"code": code, "text": text}, status, headers)


def _voice_error(status, code, message, headers=None):
    names = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
             429: "Too Many Requests"}
    return json_response({"status": f"{status} {names.get(status, '')}".strip(),
                          "errorCode": code, "message": message}, status, headers)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _batch_id():
    """A ULID, as Sinch names its batches: 48 bits of milliseconds, 80 random."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def _http_url(value):
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _moment(moment):
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
