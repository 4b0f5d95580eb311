"""What the gateway records in the audit trail, and how it sends each entry to identity, which
keeps it (``contracts.audit``, ``services.identity.audit``).

An entry goes out as an ``audit.recorded`` event, published as the outbox relay publishes (the
same envelope, exchange, confirms and queue declarations), once the answer is decided. The
gateway has no database to hold it meanwhile: a publish that fails is logged, and the answer
stays what it was.
"""

import uuid
from datetime import UTC, datetime

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
    def __init__(self, events, correlation_id):
        self._events = events
        self._correlation_id = correlation_id

    def record(self, spec, principal, path_values, status, out_of_reach=False):
        """Publishes the request's entry if it is audited; never raises."""
        outcome = outcome_of(status, out_of_reach)
        if not is_audited(spec, principal, outcome):
            return
        action = f"{spec.method} {spec.openapi_path}"
        try:
            entry = entry_of(spec, principal, path_values, status, outcome,
                             self._correlation_id, datetime.now(UTC))
            envelope = make_envelope(AUDIT_RECORDED, entry, entry["occurred_at"],
                                     entry["commune"], self._correlation_id)
            self._events.publish(AUDIT_RECORDED.name, envelope, self._correlation_id,
                                 call_id=f"gateway.audit.{envelope['event_id']}")
        except Exception as error:
            log.error("audit.publish_failed", action=action, status=status, outcome=outcome,
                      error=type(error).__name__, correlation_id=self._correlation_id)


class AuditTrail(DependencyProvider):
    """``audit_trail = AuditTrail()`` in the gateway: one publisher per process."""

    def setup(self):
        self.events = EventPublisher("gateway", self.container.config, EVENT_TYPES)

    def get_dependency(self, worker_ctx):
        return AuditRecorder(self.events, worker_ctx.data.get(CORRELATION_ID))
