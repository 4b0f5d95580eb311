"""The transactional outbox: an event is written in the same transaction as the change that
causes it, then published from there.

``outbox.add(session, ACCOUNT_CREATED, data, occurred_at=…)`` stores the envelope beside the
business rows; nothing reaches the broker unless that transaction commits. A relay
greenthread per service publishes pending rows in order, with publisher confirms and
``mandatory`` routing, and marks them published only once the broker has them. A broker
outage leaves rows pending and retried with backoff: delayed, never dropped. A crash between
the confirm and the mark publishes twice, which the consumers' inbox absorbs.
"""

import functools
import uuid
from datetime import UTC, datetime, timedelta

from kombu import Connection
from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from sqlalchemy import bindparam, delete, insert, select, update

from contracts.envelope import EventEnvelopeSchema
from servicekit import providers
from servicekit.database import Database
from servicekit.logging import CORRELATION_ID, get_logger
from servicekit.providers import sibling
from servicekit.tables import outbox
from servicekit.topology import declare_subscriber_queues

log = get_logger(__name__)

BATCH_SIZE = 100
MAX_BACKOFF = timedelta(minutes=5)
# Published events are kept a month for an operator tracing a request; some name an account or
# a SIRET (docs/personal-data.md), and consumers deduplicate on their own processed_events.
PUBLISHED_RETENTION = timedelta(days=30)
# Looked for hourly, not at every round: the event path waits on the rounds.
FORGET_EVERY = timedelta(hours=1)
# One quick reconnection attempt, then the row waits for the relay's own backoff: a publish
# must not hold the service's transaction (on SQLite, its whole database) while the broker
# is away.
ONE_QUICK_RETRY = {"max_retries": 1, "interval_start": 0.5, "interval_max": 1}


# Built once: every decision a service takes writes, selects and marks its events.
_WRITE = insert(outbox)
_PENDING = (select(outbox)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.created_at)
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True))
_MARK_PUBLISHED = (update(outbox)
                   .where(outbox.c.event_id == bindparam("row_event_id"))
                   .values(published_at=bindparam("row_published_at"),
                           attempts=bindparam("row_attempts")))


def backoff(attempts):
    """1 s, 2 s, 4 s… capped at five minutes."""
    return min(timedelta(seconds=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


_ENVELOPE_SCHEMA = EventEnvelopeSchema()


@functools.cache
def _payload_schema(event_type):
    return event_type.schema()


def make_envelope(event_type, data, occurred_at, commune=None, correlation_id=None):
    """The envelope of ``contracts.envelope``, checked as its consumers will load it."""
    schema = _payload_schema(event_type)
    payload = schema.dump(schema.load(_jsonable(data)))
    envelope = _ENVELOPE_SCHEMA.dump(
        {
            "event_id": uuid.uuid4(),
            "type": event_type.name,
            "version": event_type.version,
            "occurred_at": occurred_at,
            "producer": event_type.producer,
            "commune": commune,
            "correlation_id": correlation_id,
            "data": payload,
        }
    )
    # Dumping checks nothing: a naive occurred_at or a commune outside the 31 would be
    # written, then dead-lettered by every consumer.
    _ENVELOPE_SCHEMA.load(envelope)
    return envelope


def _jsonable(data):
    return {key: str(value) if isinstance(value, uuid.UUID) else value for key, value in data.items()}


class OutboxWriter:
    """What a worker sees: ``add`` an event to the transaction it is in."""

    def __init__(self, producer, correlation_id_of):
        self._producer = producer
        self._correlation_id_of = correlation_id_of
        self.added = False

    def add(self, session, event_type, data, occurred_at, commune=None):
        if event_type.producer != self._producer:
            raise ValueError(f"{event_type.name} is produced by {event_type.producer}")
        self.added = True
        correlation_id = self._correlation_id_of()
        envelope = make_envelope(event_type, data, occurred_at, commune, correlation_id)
        now = datetime.now(UTC)
        session.execute(_WRITE, {
            "event_id": uuid.UUID(envelope["event_id"]),
            "event_type": event_type.name,
            "envelope": envelope,
            "correlation_id": correlation_id,
            "created_at": now,
            "attempts": 0,
            "next_attempt_at": now,
        })
        return envelope


def confirmed_publisher(amqp_uri):
    """Publishes persistent messages with publisher confirms and ``mandatory`` routing, trying
    to reconnect once: it raises when the broker did not take the message."""
    return Publisher(
        amqp_uri,
        use_confirms=True,
        mandatory=True,
        retry=True,
        retry_policy=dict(ONE_QUICK_RETRY),
        transport_options=dict(ONE_QUICK_RETRY),
    )


def event_headers(call_id, correlation_id):
    """What Nameko's event handler reads to carry on the call chain and the request's log
    context."""
    headers = {"nameko.call_id_stack": [call_id]}
    if correlation_id:
        headers[f"nameko.{CORRELATION_ID}"] = correlation_id
    return headers


class EventPublisher:
    """Publishes one producer's envelopes to its ``<producer>.events`` exchange, as every
    event of the suite travels: publisher confirms, each subscriber's queue declared first,
    ``mandatory`` routing where someone subscribes. Raises when the broker did not take it."""

    def __init__(self, producer, config, topology):
        self.producer = producer
        self.topology = topology
        self.exchange = get_event_exchange(producer, config)
        self.amqp_uri = config["AMQP_URI"]
        self.publisher = confirmed_publisher(self.amqp_uri)
        self._declared = set()

    def publish(self, type_name, envelope, correlation_id, call_id):
        event_type = self.topology.get(type_name)
        subscribers = event_type.subscribers if event_type else ()
        self._declare_subscriber_queues(event_type, subscribers)
        self.publisher.publish(
            envelope,
            exchange=self.exchange,
            routing_key=type_name,
            headers=event_headers(call_id, correlation_id),
            declare=[self.exchange],
            # An event no one subscribes to is not an error; one its subscribers cannot
            # receive is: it raises, and the outbox keeps its row pending.
            mandatory=bool(subscribers),
        )

    def _declare_subscriber_queues(self, event_type, subscribers):
        missing = [s for s in subscribers if (event_type.name, s) not in self._declared]
        if not missing:
            return
        with Connection(
            self.amqp_uri, connect_timeout=5, transport_options=dict(ONE_QUICK_RETRY)
        ) as connection:
            declare_subscriber_queues(connection.default_channel, event_type, missing,
                                      self.exchange)
        self._declared.update((event_type.name, subscriber) for subscriber in missing)


class Relay(providers.Relay):
    """Publishes pending outbox rows of one service, oldest first."""

    def __init__(self, producer, access, config, topology, poll_interval):
        super().__init__(poll_interval)
        self.access = access
        self.events = EventPublisher(producer, config, topology)
        self._forgotten_at = None

    def run_round(self):
        self.publish_pending()
        now = datetime.now(UTC)
        if self._forgotten_at is None or now - self._forgotten_at >= FORGET_EVERY:
            self.forget_published(now)
            self._forgotten_at = now

    def forget_published(self, now):
        """Deletes the events published more than ``PUBLISHED_RETENTION`` before ``now``;
        returns how many."""
        with self.access.transaction() as session:
            return session.execute(
                delete(outbox).where(outbox.c.published_at < now - PUBLISHED_RETENTION)
            ).rowcount

    def publish_pending(self):
        """Publish what is due, oldest first; returns how many rows went out.

        A postponed row holds back the rows written after it, so that consumers receive a
        service's events in the order it wrote them.
        """
        published = 0
        while True:
            with self.access.transaction() as session:
                rows = session.execute(_PENDING).all()
                for row in rows:
                    if row.next_attempt_at > datetime.now(UTC):
                        return published
                    try:
                        self._publish(row)
                    except Exception as error:  # the broker is down or refused it: retry later
                        self._postpone(session, row, error)
                        return published
                    session.execute(_MARK_PUBLISHED, {
                        "row_event_id": row.event_id,
                        "row_published_at": datetime.now(UTC),
                        "row_attempts": row.attempts + 1,
                    })
                    published += 1
            if len(rows) < BATCH_SIZE:
                return published

    def _publish(self, row):
        self.events.publish(row.event_type, row.envelope, row.correlation_id,
                            call_id=f"{self.events.producer}.outbox.{row.event_id}")
        log.info("outbox.published", event_type=row.event_type, event_id=str(row.event_id))

    def _postpone(self, session, row, error):
        attempts = row.attempts + 1
        session.execute(
            update(outbox)
            .where(outbox.c.event_id == row.event_id)
            .values(
                attempts=attempts,
                next_attempt_at=datetime.now(UTC) + backoff(attempts),
                last_error=f"{type(error).__name__}: {error}"[:2000],
            )
        )
        log.warning(
            "outbox.publish_postponed",
            event_type=row.event_type,
            event_id=str(row.event_id),
            attempts=attempts,
            error=type(error).__name__,
        )


class Outbox(providers.RelayProvider):
    """``outbox = Outbox()`` beside ``db = Database(...)`` in a service."""

    def __init__(self, poll_interval=2.0):
        self.poll_interval = poll_interval

    def setup(self):
        from contracts.events import EVENT_TYPES

        super().setup()
        self._database = sibling(self.container, Database)
        self._topology = EVENT_TYPES

    def make_relay(self):
        return Relay(
            self.container.service_name,
            self._database.access,
            self.container.config,
            self._topology,
            self.container.config.get("OUTBOX_POLL_INTERVAL", self.poll_interval),
        )

    def make_writer(self, worker_ctx):
        return OutboxWriter(self.container.service_name,
                            lambda: worker_ctx.data.get(CORRELATION_ID))

    def writer_outside_workers(self):
        """For what a service does on its own at start, outside any request."""
        return OutboxWriter(self.container.service_name, lambda: None)
