"""Idempotent event handlers: a redelivered ``event_id`` changes nothing.

Nameko acknowledges an event once its handler returns — and also when it raises — and
RabbitMQ redelivers whatever was not acknowledged, sometimes while the first delivery is
still running. So a handler records ``(event_id, consumer)`` in ``processed_events`` in the
same transaction as its effect: a duplicate finds the row and does nothing.

A handler that fails for good (an unreadable event, a bug, a value its database refuses)
leaves the event in ``dead_letters`` for an operator instead of losing it; one that fails for a
passing reason (its database away) asks the broker to deliver the event again a little later,
waiting longer each time, and gives up into ``dead_letters`` after ``MAX_DELIVERIES``: a
classic queue counts nothing, so a failure that never passes would otherwise loop forever.

    @event_handler("identity", "account.created")
    @idempotent
    def on_account_created(self, session, event):
        ...  # event.data is the payload loaded with the contract's schema
"""

import functools
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import eventlet
from marshmallow import EXCLUDE, ValidationError
from nameko.events import EventHandler
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, ProgrammingError

from contracts.envelope import ReceivedEventSchema
from contracts.errors import ServiceUnavailable
from contracts.events import event_type
from servicekit.database import error_text
from servicekit.logging import get_logger
from servicekit.tables import dead_letters, processed_events

log = get_logger(__name__)

# The wait before the second delivery of an event that failed for a passing reason; it doubles
# at each delivery up to MAX_REDELIVERY_DELAY. A waiting event holds one of the service's
# workers, and a stopping service waits for its workers: the cap keeps both short.
REDELIVERY_DELAY = 1.0
MAX_REDELIVERY_DELAY = 5.0
# Deliveries of one event before its passing failure is taken as permanent: about a minute and
# a half of waits with the delays above, longer than a database restart.
MAX_DELIVERIES = 20
# Events a process keeps delivery counts for; the oldest are forgotten first.
COUNTED_EVENTS = 10_000
# A dead letter holds the whole event, which may name a citizen (an ``account.deleted``), and
# the error: an operator has a quarter to look into it, then it goes (GDPR art. 5(1)(e)).
DEAD_LETTER_RETENTION = timedelta(days=90)


class Redeliver(Exception):
    """Raised by a handler to have the broker deliver the same event again."""


@dataclass(frozen=True)
class ReceivedEvent:
    event_id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    producer: str
    commune: str | None
    correlation_id: str | None
    data: dict


# Every service handles each event in several processes at once: schemas and statements are
# built once per process, not per event (marshmallow 4 schemas keep no state between loads).
_ENVELOPE_SCHEMA = ReceivedEventSchema()
_ALREADY_CLAIMED = select(processed_events.c.event_id).where(
    processed_events.c.event_id == bindparam("event_id"),
    processed_events.c.consumer == bindparam("consumer"),
)
_CLAIM = insert(processed_events)


@functools.cache
def _payload_schema(type_name):
    return event_type(type_name).schema(unknown=EXCLUDE)


def read_event(body):
    """The envelope and its payload, loaded with the contract schemas (tolerant of new fields)."""
    envelope = _ENVELOPE_SCHEMA.load(body)
    try:
        schema = _payload_schema(envelope["type"])
    except LookupError as error:
        raise ValidationError({"type": [str(error)]}) from None
    return ReceivedEvent(**{**envelope, "data": schema.load(envelope["data"])})


def claim(session, event_id, consumer, now):
    """Record that ``consumer`` handles ``event_id``; False if it already has."""
    claimed = {"event_id": event_id, "consumer": consumer}
    if session.execute(_ALREADY_CLAIMED, claimed).first():
        return False
    session.execute(_CLAIM, {**claimed, "processed_at": now})
    session.flush()
    return True


def processed(db, event_id, consumer):
    """Whether ``consumer`` has handled ``event_id``, as committed."""
    with db.transaction() as session:
        return session.execute(_ALREADY_CLAIMED, {"event_id": event_id,
                                                  "consumer": consumer}).first() is not None


def redelivery_delay(deliveries):
    """1 s after the first delivery, 2 s after the second… up to MAX_REDELIVERY_DELAY."""
    return min(REDELIVERY_DELAY * 2 ** (deliveries - 1), MAX_REDELIVERY_DELAY)


def passing(error):
    """Whether another delivery may succeed: the database away, busy or cut off, or the
    handler's own ``Redeliver``; a value, a constraint or a statement the database refuses
    stays refused."""
    if isinstance(error, DataError | IntegrityError | ProgrammingError):
        return False
    return isinstance(error, Redeliver | ServiceUnavailable | OperationalError | DBAPIError)


class DeliveryCounts:
    """How many times this process has delivered each event to each consumer without
    success. RabbitMQ counts redeliveries only on quorum queues, and these are classic."""

    def __init__(self, size=COUNTED_EVENTS):
        self._counts = OrderedDict()
        self._size = size

    def delivered(self, consumer, event_id):
        key = (consumer, event_id)
        self._counts[key] = self._counts.pop(key, 0) + 1
        while len(self._counts) > self._size:
            self._counts.popitem(last=False)
        return self._counts[key]

    def forget(self, consumer, event_id):
        self._counts.pop((consumer, event_id), None)


def consumer_name(service, method):
    """How ``processed_events`` and ``dead_letters`` name a handler: ``<service>.<method>``,
    a ``contracts.events.Subscriber`` of the event it handles."""
    return f"{service}.{method}"


def idempotent(handler):
    consumer_suffix = handler.__name__
    failed_deliveries = DeliveryCounts()

    @functools.wraps(handler)
    def handle_once(self, body):
        consumer = consumer_name(self.name, consumer_suffix)
        try:
            event = read_event(body)
        except ValidationError as error:
            return _bury(self.db, consumer, body, f"unreadable event: {error.messages}")
        try:
            with self.db.transaction() as session:
                if not claim(session, event.event_id, consumer, datetime.now(UTC)):
                    log.info("event.duplicate_ignored", event_type=event.type,
                             event_id=str(event.event_id))
                    failed_deliveries.forget(consumer, event.event_id)
                    return None
                result = handler(self, session, event)
        except Exception as error:
            if isinstance(error, IntegrityError):
                # A concurrent delivery of the same event may have committed first; any other
                # constraint the handler broke is a failure like another.
                try:
                    duplicate = processed(self.db, event.event_id, consumer)
                except (ServiceUnavailable, DBAPIError) as lookup_error:
                    duplicate, error = False, lookup_error
                if duplicate:
                    log.info("event.duplicate_ignored", event_type=event.type,
                             event_id=str(event.event_id))
                    failed_deliveries.forget(consumer, event.event_id)
                    return None
            if not passing(error):
                if isinstance(error, DBAPIError):
                    # Its traceback would repeat the values ``error_text`` leaves out.
                    log.error("event.handler_failed", event_type=event.type,
                              event_id=str(event.event_id), error=error_text(error))
                else:
                    log.exception("event.handler_failed", event_type=event.type,
                                  event_id=str(event.event_id))
                return _bury(self.db, consumer, body, error_text(error))
            deliveries = failed_deliveries.delivered(consumer, event.event_id)
            if deliveries >= MAX_DELIVERIES:
                log.error("event.redeliveries_exhausted", event_type=event.type,
                          event_id=str(event.event_id), deliveries=deliveries)
                _bury(self.db, consumer, body,
                      f"gave up after {deliveries} deliveries: {error_text(error)}")
                failed_deliveries.forget(consumer, event.event_id)
                return None
            log.warning("event.redelivery_requested", event_type=event.type,
                        error=type(error).__name__, deliveries=deliveries)
            eventlet.sleep(redelivery_delay(deliveries))
            raise Redeliver(str(error)) from error
        failed_deliveries.forget(consumer, event.event_id)
        return result

    return handle_once


def _bury(db, consumer, body, reason):
    try:
        with db.transaction() as session:
            session.execute(
                insert(dead_letters).values(
                    consumer=consumer, received_at=datetime.now(UTC), body=body, error=reason[:4000]
                )
            )
    except (ServiceUnavailable, DBAPIError) as error:
        # Acknowledged without its dead letter, the event would be lost: it stays queued until
        # the database takes the letter.
        log.warning("event.dead_letter_postponed", consumer=consumer, error=type(error).__name__)
        eventlet.sleep(MAX_REDELIVERY_DELAY)
        raise Redeliver(str(error)) from error
    log.error("event.dead_lettered", consumer=consumer, reason=reason[:200])


def forget_dead_letters(session, now):
    """Deletes the dead letters received more than ``DEAD_LETTER_RETENTION`` before ``now``
    (GDPR art. 5(1)(e), storage limitation); returns how many."""
    return session.execute(
        delete(dead_letters).where(dead_letters.c.received_at < now - DEAD_LETTER_RETENTION)
    ).rowcount


class ReliableEventHandler(EventHandler):
    """Nameko's event handler, except that ``Redeliver`` puts the event back in its queue
    instead of acknowledging it away."""

    def handle_message_processed(self, message, result=None, exc_info=None):
        try:
            if exc_info is not None and isinstance(exc_info[1], Redeliver):
                self.queue_consumer.requeue_message(message)
            else:
                self.queue_consumer.ack_message(message)
        except OSError as error:
            # The broker went away between the handler's commit and this ack. Nameko forgives
            # only amqp's own ConnectionError here; a socket's (reset, broken pipe) would kill
            # the whole container. The broker gives the unacknowledged event again on the next
            # connection, where the inbox finds it handled.
            log.warning("event.ack_lost", routing_key=message.delivery_info.get("routing_key"),
                        error=type(error).__name__)


event_handler = ReliableEventHandler.decorator
