"""What every service of the suite has: its log context, its clock, its operations endpoint
and figures (``servicekit.ops``), a health RPC, and its dead letters for an operator to list
and replay."""

from nameko.dependency_providers import Config
from nameko.rpc import rpc as nameko_rpc
from nameko.timer import timer
from sqlalchemy import func, select

import servicekit.errors  # noqa: F401  (contract errors cross RPC as themselves)
from contracts.errors import CommunsError
from contracts.operations import DEAD_LETTERS_LIMIT, DeadLetterSchema
from servicekit import inbox, replay
from servicekit.clock import ClockProvider
from servicekit.logging import LoggingContext, get_logger
from servicekit.ops import OpsEndpoint
from servicekit.tables import dead_letters as dead_letters_table

log = get_logger(__name__)


def rpc(fn=None, **options):
    """Nameko's ``@rpc``, with contract errors expected: they are answers to the caller
    (logged as a warning), not failures of the service (logged with a traceback)."""
    options.setdefault("expected_exceptions", CommunsError)
    return nameko_rpc(**options) if fn is None else nameko_rpc(**options)(fn)


class CommunsService:
    """Base class of the suite's services; a subclass sets ``name`` and ``db``."""

    config = Config()
    log_context = LoggingContext()
    clock = ClockProvider()
    ops = OpsEndpoint()

    @rpc
    def health(self):
        """Answers when the service consumes its queue and reaches its database."""
        return {"service": self.name, "status": "ok", "database": self.db.ping()}

    @rpc
    def dead_letters(self):
        """The events this service's handlers gave up on, the newest first, and how many there
        are: what finds each one again, never its payload (it may name a citizen)."""
        with self.db.transaction() as session:
            total = session.execute(
                select(func.count()).select_from(dead_letters_table)).scalar_one()
            rows = session.execute(
                select(dead_letters_table.c.id, dead_letters_table.c.consumer,
                       dead_letters_table.c.error, dead_letters_table.c.received_at,
                       dead_letters_table.c.body)
                .order_by(dead_letters_table.c.id.desc()).limit(DEAD_LETTERS_LIMIT)).all()
        return {"total": total, "dead_letters": DeadLetterSchema(many=True).dump(
            [_dead_letter(row) for row in rows])}

    @rpc
    def replay_dead_letter(self, dead_letter_id):
        """Delivers a dead letter's event again to the handler that gave up on it, and to no
        other, once an operator fixed the cause; the letter goes once the broker has it."""
        return replay.replay_dead_letter(self.db, self.config["AMQP_URI"], dead_letter_id)

    # Here rather than in a relay's round: some services that handle events (accessibility,
    # opendata) have no outbox.
    @timer(interval=3600)
    def forget_dead_letters(self):
        with self.db.transaction() as session:
            forgotten = inbox.forget_dead_letters(session, self.clock.now())
        if forgotten:
            log.info("dead_letters.forgotten", count=forgotten)


def _dead_letter(row):
    # An unreadable body may not even be a mapping: then only the row itself names it.
    body = row.body if isinstance(row.body, dict) else {}
    return {"id": row.id, "consumer": row.consumer, "error": row.error[:500],
            "received_at": row.received_at,
            "event_type": _text(body.get("type")), "event_id": _text(body.get("event_id"))}


def _text(value):
    return None if value is None else str(value)[:200]
