"""What the gateway records in the audit trail, and how it sends each entry to identity, which
keeps it (``contracts.audit``, ``services.identity.audit``).

An entry goes out as an ``audit.recorded`` event, published as the outbox relay publishes (the
same envelope, exchange, confirms and queue declarations), once the answer is decided. A
greenthread of the gateway publishes them, so that no answer waits for the broker — which
blocks publishers when its memory runs short —; one it cannot publish is tried again every
second, while up to ``BACKLOG`` wait behind it in memory. The gateway has no database to hold
them: a full backlog drops the entry, a stop waits ``DRAIN_SECONDS`` for the backlog, and
either loss is logged.
"""

import time
import uuid
from datetime import UTC, datetime

import eventlet
from eventlet.queue import Full, LightQueue
from nameko.extensions import DependencyProvider

from contracts.audit import API_CLIENT, FAILED, OBJECT_ID_MAX_LENGTH, REFUSED, SUCCEEDED
from contracts.communes import is_member
from contracts.events import AUDIT_RECORDED, EVENT_TYPES
from contracts.identity import COMMUNE_AGENT, METROPOLE_ADMIN, RELAY_INTERPRETER
from servicekit.logging import CORRELATION_ID, get_logger
from servicekit.outbox import EventPublisher, make_envelope

log = get_logger(__name__)

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PRIVILEGED_ROLES = frozenset({METROPOLE_ADMIN, COMMUNE_AGENT, RELAY_INTERPRETER})
REFUSALS = frozenset({401, 403})
BACKLOG = 10_000
RETRY_SECONDS = 1.0
DRAIN_SECONDS = 5.0


def privileged(principal):
    """Metropole staff, a commune's agents and systems (API clients), the relay's
    interpreters: those who act on others' data."""
    return principal.kind == API_CLIENT or principal.role in PRIVILEGED_ROLES


def outcome_of(status, out_of_reach):
    """``refused`` for a refused authentication or authorisation — a commune out of the
    caller's reach included, which it is answered as a 404 —, ``succeeded`` for any other
    answer below 400, ``failed`` above."""
    if status in REFUSALS or (status == 404 and out_of_reach):
        return REFUSED
    return SUCCEEDED if status < 400 else FAILED


def is_audited(spec, principal, outcome):
    """Whether a request on a route that is not public goes into the audit trail.

    What must be accountable (GDPR art. 5(2)), and what lets a breach be scoped and notified
    (art. 32(1)(b), 33(3)): every write by a privileged principal, whatever came of it; every
    read or erasure of a citizen's data by the citizen (``spec.audited``, art. 15 and 17);
    every refused authentication or authorisation (OWASP REST Security: "audit before and
    after security related events"). Public routes are never recorded: one carries a secret
    in its path."""
    if spec.public:
        return False
    if outcome == REFUSED or spec.audited:
        return True
    return principal is not None and spec.method in WRITES and privileged(principal)


def entry_of(spec, principal, path_values, status, outcome, correlation_id, now):
    """The entry of one request: who, which commune, what, on which objects, how it ended.
    No payload, no query string, no name, address or token."""
    insee = path_values.get("insee")
    if insee is not None and is_member(insee):
        commune = insee
    else:
        commune = principal.commune if principal is not None else None
    return {
        "id": uuid.uuid4(),
        "occurred_at": now,
        "actor_id": principal.id if principal is not None else None,
        "actor_kind": principal.kind if principal is not None else None,
        "actor_role": principal.role if principal is not None else None,
        "commune": commune,
        "action": f"{spec.method} {spec.openapi_path}",
        "object_ids": {name: str(value)[:OBJECT_ID_MAX_LENGTH]
                       for name, value in path_values.items() if name != "insee"},
        "status": status,
        "outcome": outcome,
        "correlation_id": correlation_id,
    }


class AuditRecorder:
    def __init__(self, trail, correlation_id):
        self._trail = trail
        self._correlation_id = correlation_id

    def record(self, spec, principal, path_values, status, out_of_reach=False):
        """Hands the request's entry to the publishing greenthread if it is audited; never
        raises, never waits."""
        outcome = outcome_of(status, out_of_reach)
        if not is_audited(spec, principal, outcome):
            return
        try:
            entry = entry_of(spec, principal, path_values, status, outcome,
                             self._correlation_id, datetime.now(UTC))
            envelope = make_envelope(AUDIT_RECORDED, entry, entry["occurred_at"],
                                     entry["commune"], self._correlation_id)
        except Exception:
            # A bug of ours: logged with its traceback, and the answer stands.
            log.exception("audit.entry_refused", action=f"{spec.method} {spec.openapi_path}",
                          status=status, correlation_id=self._correlation_id)
            return
        self._trail.send(envelope)


class AuditTrail(DependencyProvider):
    """``audit_trail = AuditTrail()`` in the gateway: one publisher and its backlog per
    process."""

    def setup(self):
        self.events = EventPublisher("gateway", self.container.config, EVENT_TYPES)
        self.backlog = LightQueue(BACKLOG)
        self.unsent = 0  # in the backlog, or being published

    def start(self):
        self.container.spawn_managed_thread(self._publish_forever)

    def stop(self):
        if not self.drained(DRAIN_SECONDS):
            log.error("audit.entries_lost_at_stop", count=self.unsent)

    def get_dependency(self, worker_ctx):
        return AuditRecorder(self, worker_ctx.data.get(CORRELATION_ID))

    def send(self, envelope):
        try:
            self.backlog.put_nowait(envelope)
        except Full:
            log.error("audit.backlog_full", action=envelope["data"]["action"],
                      correlation_id=envelope["correlation_id"])
            return
        self.unsent += 1

    def drained(self, timeout):
        """Whether every entry handed over was published within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.unsent and time.monotonic() < deadline:
            eventlet.sleep(0.01)
        return not self.unsent

    def _publish_forever(self):
        while True:
            envelope = self.backlog.get()
            while not self._published(envelope):
                eventlet.sleep(RETRY_SECONDS)
            self.unsent -= 1

    def _published(self, envelope):
        try:
            self.events.publish(AUDIT_RECORDED.name, envelope, envelope["correlation_id"],
                                call_id=f"gateway.audit.{envelope['event_id']}")
        except Exception as error:
            log.error("audit.publish_failed", action=envelope["data"]["action"],
                      status=envelope["data"]["status"], error=type(error).__name__,
                      correlation_id=envelope["correlation_id"])
            return False
        return True
