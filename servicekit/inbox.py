"""Idempotent event handlers: a redelivered ``event_id`` changes nothing.

Nameko acknowledges an event once its handler returns — and also when it raises — and
RabbitMQ redelivers whatever was not acknowledged, sometimes while the first delivery is
still running. So a handler records ``(event_id, consumer)`` in ``processed_events`` in the
same transaction as its effect: a duplicate finds the row and does nothing.

A handler that fails for good (an unreadable event, a bug) leaves the event in
``dead_letters`` for an operator instead of losing it; one that fails for a passing reason
(its database away) asks the broker to deliver the event again a little later.

    @event_handler("identity", "account.created")
    @idempotent
    def on_account_created(self, session, event):
        ...  # event.data is the payload loaded with the contract's schema
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import eventlet
from marshmallow import EXCLUDE, ValidationError
from nameko.events import EventHandler
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from contracts.envelope import ReceivedEventSchema
from contracts.events import event_type
from servicekit.logging import get_logger
from servicekit.tables import dead_letters, processed_events

log = get_logger(__name__)

REDELIVERY_DELAY = 1.0


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


def read_event(body):
    """The envelope and its payload, loaded with the contract schemas (tolerant of new fields)."""
    envelope = ReceivedEventSchema().load(body)
    try:
        schema = event_type(envelope["type"]).schema(unknown=EXCLUDE)
    except LookupError as error:
        raise ValidationError({"type": [str(error)]}) from None
    return ReceivedEvent(**{**envelope, "data": schema.load(envelope["data"])})


def claim(session, event_id, consumer, now):
    """Record that ``consumer`` handles ``event_id``; False if it already has."""
    already = session.execute(
        select(processed_events.c.event_id).where(
            processed_events.c.event_id == event_id, processed_events.c.consumer == consumer
        )
    ).first()
    if already:
        return False
    session.execute(
        insert(processed_events).values(event_id=event_id, consumer=consumer, processed_at=now)
    )
    session.flush()
    return True


def idempotent(handler):
    consumer_suffix = handler.__name__

    @functools.wraps(handler)
    def handle_once(self, body):
        consumer = f"{self.name}.{consumer_suffix}"
        try:
            event = read_event(body)
        except ValidationError as error:
            return _bury(self.db, consumer, body, f"unreadable event: {error.messages}")
        try:
            with self.db.transaction() as session:
                if not claim(session, event.event_id, consumer, datetime.now(UTC)):
                    log.info("event.duplicate_ignored", event_type=event.type, event_id=str(event.event_id))
                    return None
                return handler(self, session, event)
        except IntegrityError:
            # A concurrent delivery of the same event committed first.
            log.info("event.duplicate_ignored", event_type=event.type, event_id=str(event.event_id))
            return None
        except (OperationalError, DBAPIError, Redeliver) as error:
            log.warning("event.redelivery_requested", event_type=event.type, error=type(error).__name__)
            eventlet.sleep(REDELIVERY_DELAY)
            raise Redeliver(str(error)) from error
        except Exception as error:
            log.exception("event.handler_failed", event_type=event.type, event_id=str(event.event_id))
            return _bury(self.db, consumer, body, f"{type(error).__name__}: {error}")

    return handle_once


def _bury(db, consumer, body, reason):
    with db.transaction() as session:
        session.execute(
            insert(dead_letters).values(
                consumer=consumer, received_at=datetime.now(UTC), body=body, error=reason[:4000]
            )
        )
    log.error("event.dead_lettered", consumer=consumer, reason=reason[:200])


class ReliableEventHandler(EventHandler):
    """Nameko's event handler, except that ``Redeliver`` puts the event back in its queue
    instead of acknowledging it away."""

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is not None and isinstance(exc_info[1], Redeliver):
            self.queue_consumer.requeue_message(message)
        else:
            self.queue_consumer.ack_message(message)


event_handler = ReliableEventHandler.decorator
