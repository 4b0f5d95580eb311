"""TéléAlerte's SMS and voice operator: Sinch's SMS REST API and its Voice API's text-to-speech
callouts, which ``operator_sandbox`` serves on one machine.

The protocol modelled, from Sinch's published references:

- SMS: ``POST {api}/xms/v1/{service_plan_id}/batches`` with ``Authorization: Bearer {token}``
  and a JSON batch ``{"from", "to": [E.164…], "body", "type": "mt_text", "delivery_report":
  "per_recipient_final", "callback_url", "client_reference"}``; the answer (201) is the batch, whose
  ``id`` names it. One batch carries one text, so a batch of ours is sent as one operator batch
  per distinct text, and a message is named by its batch and its number:
  ``"{batch_id}:{+33…}"``. Errors are ``{"code", "text"}`` (``syntax_invalid_json``,
  ``syntax_invalid_parameter_format``, ``syntax_constraint_violation`` with 400; 403 codes for
  a refused account or sender).
  https://developers.sinch.com/docs/sms/api-reference/sms/batches ;
  https://developers.sinch.com/docs/sms/api-reference/status-codes/
- Per-message status: ``GET {api}/xms/v1/{plan}/batches/{batch_id}/delivery_report/{number}``,
  a *recipient delivery report* (``status``: Queued, Dispatched, Delivered, Failed, Expired,
  Rejected, Aborted, Cancelled, Deleted, Unknown; ``code``; ``at``).
  https://developers.sinch.com/docs/sms/api-reference/sms/tag/Delivery-reports/
- Delivery receipts: with ``delivery_report: per_recipient`` the same report is POSTed as JSON
  to the batch's ``callback_url`` (``"type": "recipient_delivery_report_sms"``), at each status;
  with ``per_recipient_final``, which we ask for, at the final one only (half the callbacks of
  a campaign: that it left, we know when the batch is accepted);
  replies (MO) arrive the same way as ``"type": "mo_text"`` with ``from`` and ``body``. Sinch
  retries a callback answered with a 5xx or 429, not other 4xx.
  https://developers.sinch.com/docs/sms/api-reference/sms/tag/Webhooks/
- Voice: ``POST {voice}/calling/v1/callouts`` with HTTP Basic (the voice application's key and
  secret) and ``{"method": "ttsCallout", "ttsCallout": {"cli", "destination": {"type":
  "number", "endpoint"}, "locale", "text", "enableDice": true, "custom"}}``; the answer is
  ``{"callId"}``. When the call ends the *Disconnected Call Event* (``"event": "dice"``,
  ``callid``, ``result`` ANSWERED / BUSY / NOANSWER / FAILED, ``reason``, ``duration``,
  ``custom``) is POSTed to the application's callback URL, set with ``POST
  /v1/configuration/callbacks/applications/{key}`` (``set_call_callback``).
  https://developers.sinch.com/docs/voice/api-reference/callbacks ;
  https://developers.sinch.com/docs/voice/api-reference/errors/

Which failures of a delivery are for good is our reading: Expired and Unknown (the phone was
out of reach), a busy or unanswered call are worth another try; the others are not.

What the client raises is ``OperatorError(detail, retryable)``: a timeout, a broken
connection, a 429 or a 5xx are retryable (whether the operator took the batch is then unknown:
``client_reference`` lets the caller find out); a 4xx is not. Nothing is retried here: the
caller decides, with its outbox and its recipients' states. An error after some batches or
calls of ``send_sms`` / ``call`` were accepted carries them in ``sent``, so that they are not
sent twice.
"""

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from servicekit.http_client import ELIDED, TEXT_LIMIT, RetryingClient, Transient

SEND = "batches"
REPORT = "delivery_report"
CALLOUT = "callouts"
CALLBACKS = "callbacks"

SINCH_VOICE_URL = "https://calling.api.sinch.com"
# Sinch's voice configuration (callback URLs) has a host of its own.
SINCH_CONFIGURATION_URL = "https://callingapi.sinch.com"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
LOCALE = "fr-FR"

SENT, DELIVERED, FAILED, ACKNOWLEDGED = "sent", "delivered", "failed", "acknowledged"
SMS_STATUSES = {
    "Queued": SENT, "Dispatched": SENT, "Delivered": DELIVERED,
    "Expired": FAILED, "Unknown": FAILED, "Failed": FAILED, "Rejected": FAILED,
    "Aborted": FAILED, "Cancelled": FAILED, "Deleted": FAILED,
}
CALL_RESULTS = {"ANSWERED": DELIVERED, "BUSY": FAILED, "NOANSWER": FAILED, "FAILED": FAILED,
                "N/A": FAILED}
# Failures another try may mend: out of reach for a while, busy, not answered.
TEMPORARY = {"Expired", "Unknown", "BUSY", "NOANSWER", "N/A"}

def voice_url_for(api_url):
    """Sinch's voice API for Sinch's SMS hosts; elsewhere (the sandbox) the same server."""
    api_url = api_url.rstrip("/")
    return SINCH_VOICE_URL if api_url.endswith(".sms.api.sinch.com") else api_url


class OperatorError(Exception):
    """A call the operator did not take. ``retryable``: it may take it later (or took it
    without our knowing); ``sent``: what an interrupted ``send_sms`` / ``call`` had sent."""

    def __init__(self, detail, retryable=False, sent=None, refused=()):
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable
        self.sent = dict(sent or {})
        self.refused = tuple(refused)


class InvalidReceipt(ValueError):
    """A callback body that is neither a delivery report, a reply nor a call's end."""


@dataclass(frozen=True)
class OperatorSettings:
    api_url: str
    service_plan_id: str
    api_token: str
    sender: str
    voice_key: str
    voice_secret: str
    voice_url: str | None = None
    voice_cli: str | None = None
    callback_url: str | None = None
    timeout: float = 10.0
    locale: str = LOCALE

    @classmethod
    def from_config(cls, config):
        if not config.get("OPERATOR_API_URL"):
            raise ValueError("no operator: set COMMUNS_OPERATOR_API_URL, or let `communs run` "
                             "start the local one (COMMUNS_OPERATOR_SANDBOX)")
        return cls(
            api_url=config["OPERATOR_API_URL"].rstrip("/"),
            service_plan_id=config["OPERATOR_LOGIN"],
            api_token=config["OPERATOR_PASSWORD"],
            sender=config["OPERATOR_SENDER"],
            voice_key=config["OPERATOR_VOICE_KEY"],
            voice_secret=config["OPERATOR_VOICE_SECRET"],
            voice_url=(config.get("OPERATOR_VOICE_URL") or "").rstrip("/") or None,
            voice_cli=config.get("OPERATOR_VOICE_CLI") or None,
            callback_url=config.get("OPERATOR_CALLBACK_URL") or None,
            timeout=float(config.get("OPERATOR_TIMEOUT") or 10),
        )

    @property
    def calling_url(self):
        return self.voice_url or voice_url_for(self.api_url)

    @property
    def configuration_url(self):
        url = self.calling_url
        return SINCH_CONFIGURATION_URL if url.endswith(".api.sinch.com") else url


@dataclass(frozen=True)
class Receipt:
    """What a callback (or a status read) says of one message or call, in our words.

    ``status``: ``sent``, ``delivered``, ``failed`` or ``acknowledged`` (a reply);
    ``permanent``: a failure another try will not mend. ``operator_id`` is what ``send_sms`` or
    ``call`` returned for it (none for a reply: the number that answered is ``number``).
    ``recipient_id`` is ours, when the operator gives it back (a call's ``custom``)."""

    channel: str  # "sms" or "voice"
    status: str
    operator_status: str
    operator_id: str | None
    number: str | None
    at: datetime | None = None
    permanent: bool = False
    code: int | str | None = None
    recipient_id: str | None = None
    text: str | None = None  # a reply's
    seconds: int | None = None  # a call's duration
    client_reference: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


def message_id(batch_id, number):
    return f"{batch_id}:{number}"


def split_message_id(operator_id):
    batch_id, _, number = operator_id.partition(":")
    if not batch_id or not number:
        raise ValueError(f"not an SMS id of ours: {operator_id!r}")
    return batch_id, number


def parse_receipt(request_body):
    """A ``Receipt`` from what the operator POSTed to our callback URL (bytes, text or the
    decoded JSON object); ``InvalidReceipt`` for anything else."""
    body = request_body
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            raise InvalidReceipt("not JSON") from None
    if not isinstance(body, Mapping):
        raise InvalidReceipt("not a JSON object")
    kind = body.get("type")
    if kind == "recipient_delivery_report_sms":
        return _delivery_report(body)
    if kind == "mo_text":
        number = _e164(body.get("from"))
        if not number:
            raise InvalidReceipt("a reply without its number (from)")
        return Receipt("sms", ACKNOWLEDGED, "mo_text", None, number,
                       at=_moment(body.get("received_at")), text=body.get("body") or "",
                       client_reference=body.get("client_reference"), raw=dict(body))
    if body.get("event") == "dice":
        return _call_ended(body)
    raise InvalidReceipt(f"neither a delivery report, a reply nor a call's end: "
                         f"type={kind!r}, event={body.get('event')!r}")


def _delivery_report(body):
    batch_id, number = body.get("batch_id"), _e164(body.get("recipient"))
    status = body.get("status")
    if not batch_id or not number or status not in SMS_STATUSES:
        raise InvalidReceipt(f"a delivery report without its batch, number or a known status "
                             f"({status!r})")
    ours = SMS_STATUSES[status]
    return Receipt("sms", ours, status, message_id(batch_id, number), number,
                   at=_moment(body.get("at")), code=body.get("code"),
                   permanent=ours == FAILED and status not in TEMPORARY,
                   client_reference=body.get("client_reference"), raw=dict(body))


def _call_ended(body):
    call_id, result = body.get("callid") or body.get("callId"), body.get("result")
    if not call_id or result not in CALL_RESULTS:
        raise InvalidReceipt(f"a call's end without its id or a known result ({result!r})")
    ours = CALL_RESULTS[result]
    to = body.get("to") if isinstance(body.get("to"), Mapping) else {}
    duration = body.get("duration")
    return Receipt("voice", ours, result, call_id, _e164(to.get("endpoint")),
                   at=_moment(body.get("timestamp")), code=body.get("reason"),
                   permanent=ours == FAILED and result not in TEMPORARY,
                   recipient_id=body.get("custom") or None,
                   seconds=int(duration) if isinstance(duration, int | float) else None,
                   raw=dict(body))


class OperatorClient(RetryingClient):
    """``settings``: ``OperatorSettings``, or a suite config to read them from. ``record`` is
    handed every HTTP call (``servicekit.http_client.Exchange``), the secrets elided."""

    error = OperatorError
    unavailable = OperatorError

    def __init__(self, settings, record=lambda exchange: None, http=None):
        if isinstance(settings, Mapping):
            settings = OperatorSettings.from_config(settings)
        super().__init__(settings, record=record, http=http)

    # -- what is sent ----------------------------------------------------------------------

    def send_sms(self, batch, callback_url=None, client_reference=None):
        """Sends ``batch`` (``[{recipient_id, to, text}]``): ``{recipient_id: operator id}``.
        Receipts go to ``callback_url`` (or the settings'); none is asked for without one."""
        items = _checked(batch)
        callback_url = callback_url or self.settings.callback_url
        by_text = {}
        for item in items:
            by_text.setdefault(item["text"], []).append(item)
        sent = {}
        for text, group in by_text.items():
            numbers = list(dict.fromkeys(item["to"] for item in group))
            body = {"from": self.settings.sender, "to": numbers, "body": text,
                    "type": "mt_text"}
            if callback_url:
                body.update(delivery_report="per_recipient_final", callback_url=callback_url)
            if client_reference:
                body["client_reference"] = client_reference
            try:
                answer = self._sms("POST", "/batches", body, expected=(200, 201))
                batch_id = answer.get("id") if isinstance(answer, dict) else None
                if not batch_id:
                    raise OperatorError(f"{SEND}: the operator's answer names no batch",
                                        retryable=True)
            except OperatorError as error:
                error.sent = dict(sent)
                raise
            sent.update({item["recipient_id"]: message_id(batch_id, item["to"])
                         for item in group})
        return sent

    def call(self, batch):
        """Calls each of ``batch`` (``[{recipient_id, to, text}]``) and reads it its text:
        ``{recipient_id: call id}``. The call's end reaches the callback set by
        ``set_call_callback``, with our ``recipient_id`` in ``custom``."""
        items = _checked(batch)
        sent = {}
        for item in items:
            callout = {"destination": {"type": "number", "endpoint": item["to"]},
                       "locale": self.settings.locale, "text": item["text"],
                       "enableDice": True, "custom": str(item["recipient_id"])}
            if self.settings.voice_cli:
                callout["cli"] = self.settings.voice_cli
            try:
                answer = self._voice("POST", self.settings.calling_url + "/calling/v1/callouts",
                                     {"method": "ttsCallout", "ttsCallout": callout}, CALLOUT)
                call_id = answer.get("callId") if isinstance(answer, dict) else None
                if not call_id:
                    raise OperatorError(f"{CALLOUT}: the operator's answer names no call",
                                        retryable=True)
            except OperatorError as error:
                error.sent = dict(sent)
                raise
            sent[item["recipient_id"]] = call_id
        return sent

    def set_call_callback(self, url):
        """Where the operator posts the end of each call (the voice application's setting)."""
        self._voice("POST", f"{self.settings.configuration_url}/v1/configuration/callbacks/"
                    f"applications/{self.settings.voice_key}", {"url": {"primary": url}},
                    CALLBACKS)

    def status(self, operator_id):
        """Where one SMS is (``Receipt``), read from the operator rather than waited for."""
        batch_id, number = split_message_id(operator_id)
        answer = self._sms("GET", f"/batches/{batch_id}/delivery_report/{number}", None,
                           operation=REPORT)
        try:
            return parse_receipt({"type": "recipient_delivery_report_sms", "batch_id": batch_id,
                                  "recipient": number, **(answer or {})})
        except InvalidReceipt as invalid:
            raise OperatorError(f"{REPORT}: {invalid}", retryable=True) from None

    # -- calls -----------------------------------------------------------------------------

    def _sms(self, method, path, body, expected=(200,), operation=SEND):
        settings = self.settings
        url = f"{settings.api_url}/xms/v1/{settings.service_plan_id}{path}"
        headers = {"Authorization": f"Bearer {settings.api_token}", "Accept": "application/json"}
        return self._send(operation, method, url, body, headers, expected)

    def _voice(self, method, url, body, operation):
        pair = f"{self.settings.voice_key}:{self.settings.voice_secret}".encode()
        headers = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii"),
                   "Accept": "application/json"}
        return self._send(operation, method, url, body, headers, (200, 201, 204))

    def _send(self, operation, method, url, body, headers, expected):
        if body is not None:
            headers = {**headers, "Content-Type": "application/json; charset=utf-8"}
        data = None if body is None else json.dumps(body).encode("utf-8")
        try:
            response = self._exchange(operation, method, url, body or {}, lambda: self.http.request(
                method, url, data=data, headers=headers, timeout=self.settings.timeout))
        except Transient as failure:
            raise OperatorError(str(failure), retryable=True) from failure
        answer = _json(response)
        if response.status_code not in expected:
            raise OperatorError(
                f"{operation}: the operator refused (HTTP {response.status_code}): "
                f"{self._scrub(_reason(response, answer))}", retryable=False)
        return answer

    def _read(self, response):
        answer = _json(response)
        return answer if answer is not None else response.text[:TEXT_LIMIT]

    def _scrub(self, value):
        if isinstance(value, dict):
            return {key: ELIDED if str(key).lower() in ("authorization", "api_token", "secret")
                    else self._scrub(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._scrub(item) for item in value]
        if isinstance(value, str):
            for secret in (self.settings.api_token, self.settings.voice_secret):
                if secret:
                    value = value.replace(secret, ELIDED)
        return value


def _checked(batch):
    """The batch's items, each with a recipient id, an E.164 number and a text."""
    items, refused = [], []
    for item in batch:
        to, text = item.get("to"), item.get("text")
        if item.get("recipient_id") is None or not isinstance(to, str) or not E164.match(to) \
                or not isinstance(text, str) or not text.strip():
            refused.append(item.get("recipient_id"))
        else:
            items.append(item)
    if refused:
        raise OperatorError(f"not sent: recipients without an E.164 number or a text: "
                            f"{refused}", retryable=False, refused=refused)
    return items


def _json(response):
    try:
        return response.json()
    except ValueError:
        return None


def _reason(response, answer):
    if isinstance(answer, dict):
        code = answer.get("code") or answer.get("errorCode") or answer.get("status")
        text = answer.get("text") or answer.get("message") or answer.get("error")
        if code or text:
            return f"{code}: {text}" if code and text else str(code or text)
    return response.text[:200] or f"HTTP {response.status_code}"


def _e164(number):
    """A number as the operator writes it (``+33…`` or ``33…``) in E.164."""
    if not isinstance(number, str) or not number.strip():
        return None
    number = number.strip()
    return number if number.startswith("+") else f"+{number}"


def _moment(value):
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
