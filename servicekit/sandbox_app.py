"""What the sandboxes' WSGI applications (``chorus_sandbox.app``, ``prefecture_sandbox.app``)
share: dispatching a request to ``on_<endpoint>``, the faults a test or demonstration injects
through ``/_sandbox/faults``, the ``/_sandbox/health`` and ``/_sandbox/reset`` routes, and the
JSON and time helpers of their control APIs. Serving and starting them is
``servicekit.sandboxes``; what each one answers on its outside system's routes is its own.

A subclass gives ``OPERATIONS`` and ``FAULTS`` (what ``/_sandbox/faults`` accepts), its own
rules, and ``reset()``, which sets its own state after this class's.
"""

import hmac
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from servicekit.clock import LEGAL_TIME_ZONE


@dataclass
class Fault:
    """The next ``times`` calls of ``operation`` fail with ``fault``; ``after_store``: the
    call is done first. A ``timeout`` holds the caller ``seconds`` (or the sandbox's
    ``fault_seconds``)."""

    operation: str
    fault: str
    times: int = 1
    after_store: bool = False
    seconds: float | None = None

    @classmethod
    def from_body(cls, body):
        """From a control request's body, once ``fault_problems`` found none."""
        return cls(body["operation"], body["fault"], body.get("times", 1),
                   bool(body.get("after_store")), body.get("seconds"))

    def view(self):
        return {"operation": self.operation, "fault": self.fault, "times": self.times,
                "after_store": self.after_store, "seconds": self.seconds}


def fault_problems(body, operations, faults):
    """What is wrong with a control request's fault, as texts (none: it may be added)."""
    problems = []
    if body.get("operation") not in operations:
        problems.append(f"operation: one of {', '.join(operations)}")
    if body.get("fault") not in faults:
        problems.append(f"fault: one of {', '.join(faults)}")
    times = body.get("times", 1)
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        problems.append("times: a whole number from 1")
    seconds = body.get("seconds")
    if seconds is not None and (not isinstance(seconds, int | float) or seconds < 0):
        problems.append("seconds: a number of seconds")
    return problems


class SandboxApp:
    """A WSGI application whose state lives in memory behind one lock; ``rules`` are the
    outside system's routes and the sandbox's own control routes, each served by
    ``on_<endpoint>``."""

    OPERATIONS = ()
    FAULTS = ("500", "timeout")
    fault_type = Fault

    def __init__(self, rules, step_seconds, fault_seconds, now):
        self.step_seconds = step_seconds
        self.fault_seconds = fault_seconds
        self.now = now
        self._lock = threading.RLock()
        self.reset()
        self.url_map = Map([
            *rules,
            Rule("/_sandbox/health", endpoint="health", methods=["GET"]),
            Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST", "DELETE"]),
            Rule("/_sandbox/reset", endpoint="reset", methods=["POST"]),
        ])

    def reset(self):
        """Forget everything: the faults and call counts here, a subclass's own state in its
        override, which calls this first."""
        with self._lock:
            self._faults = []
            self._calls = Counter()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, arguments = self.url_map.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **arguments)
        except HTTPException as error:
            response = json_response(
                {"error": error.name, "error_description": error.description}, error.code)
        return response(environ, start_response)

    # -- faults ----------------------------------------------------------------------------

    def _called(self, operation):
        """Counts a call of ``operation``; the fault it meets, if one is waiting."""
        with self._lock:
            self._calls[operation] += 1
            return self._take_fault(operation)

    def _take_fault(self, operation):
        for fault in self._faults:
            if fault.operation == operation:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _fault_seconds(self, fault):
        return self.fault_seconds if fault.seconds is None else fault.seconds

    def _fail(self, fault):
        """The answer of a ``500`` or a ``timeout`` (late, then 504)."""
        if fault.fault == "timeout":
            time.sleep(self._fault_seconds(fault))
            return json_response({"error": "Gateway Timeout"}, 504)
        return json_response({"error": "Internal Server Error"}, 500)

    # -- control ---------------------------------------------------------------------------

    def _control_body(self, request):
        """A control request's JSON object; an empty or unreadable body says nothing."""
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            body = None
        return body if isinstance(body, dict) else {}

    def on_health(self, request):
        return json_response({"status": "ok"})

    def on_faults(self, request):
        if request.method != "POST":
            with self._lock:
                if request.method == "DELETE":
                    self._faults.clear()
                return json_response({"faults": [fault.view() for fault in self._faults]})
        body = self._control_body(request)
        if isinstance(body, Response):
            return body
        problems = fault_problems(body, self.OPERATIONS, self.FAULTS)
        if problems:
            return json_response({"error": "; ".join(problems)}, 422)
        fault = self.fault_type.from_body(body)
        with self._lock:
            self._faults.append(fault)
        return json_response({"fault": fault.view()}, 201)

    def on_reset(self, request):
        self.reset()
        return json_response({"reset": True})


def json_response(payload, status=200, headers=None):
    return Response(json.dumps(payload, ensure_ascii=False), status=status, headers=headers,
                    content_type="application/json;charset=utf-8")


def same_secret(given, expected):
    """Whether two texts are equal, in a time that does not tell how much of them is."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def local_moment(moment, timespec="seconds"):
    """``moment`` in French time, ISO 8601 with its offset."""
    return moment.astimezone(LEGAL_TIME_ZONE).isoformat(timespec=timespec)


def parse_moment(text):
    """An ISO 8601 date and time (French time without an offset) or a date (its midnight)."""
    moment = datetime.fromisoformat(text) if "T" in text or " " in text else datetime.combine(
        date.fromisoformat(text), datetime.min.time())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LEGAL_TIME_ZONE)
    return moment.astimezone(UTC)
