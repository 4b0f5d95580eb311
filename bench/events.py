"""An accepted subscription change until billing has committed it, measured at the source,
beside a bare kombu publish → consume of one persistent message.

The event's path: the decision's transaction writes the ``subscription.changed`` outbox row
and commits; the worker that wrote it wakes subscriptions' outbox relay, which publishes it
with a confirm; billing's handler claims it in ``processed_events`` (``processed_at``) and
commits the change with that row, after which the commune's draft title bills it. The start is
the moment the bench sees the outbox row committed in subscriptions' database; the ends are
billing's own claim timestamp (its handler has started, its commit follows) and the moment the
bench sees billing's row committed. Both databases are polled every 2 ms from threads started
before the decision, so each figure is within a few ms of the truth.
"""

import threading
import time
import uuid
from datetime import UTC, datetime

from kombu import Connection, Exchange, Queue
from sqlalchemy import create_engine, select

from bench import measures
from bench.http_load import LoadResult
from servicekit.tables import outbox, processed_events

SAMPLES = 30
BARE_SAMPLES = 300
CONSUMER = "billing.on_subscription_changed"
EVENT_TYPE = "subscription.changed"
POLL_SECONDS = 0.002
PATIENCE_SECONDS = 10.0
# Issue 12's targets for the accepted change → billing committed.
TARGET_P50_MS = 10
TARGET_P99_MS = 50


def _percentiles(latencies_ms):
    result = LoadResult(1, 0.0, latencies_ms)
    return {"samples": len(latencies_ms),
            "p50_ms": measures.rounded(result.percentile(50)),
            "p99_ms": measures.rounded(result.percentile(99)),
            "max_ms": measures.rounded(max(latencies_ms, default=None))}


def bare_publish_consume(amqp_uri, samples=BARE_SAMPLES):
    """A persistent message published with a confirm on a durable queue, until its consumer
    on another connection has it: the broker's own share of the event's path."""
    exchange = Exchange(f"bench-events-{uuid.uuid4().hex[:8]}", type="topic", durable=True)
    queue = Queue(exchange.name, exchange=exchange, routing_key="bench", durable=True)
    received = []
    with Connection(amqp_uri) as consuming, Connection(
        amqp_uri, transport_options={"confirm_publish": True}
    ) as publishing:
        producer = publishing.Producer(exchange=exchange)
        queue(consuming.default_channel).declare()
        latencies = []
        with consuming.Consumer(queue, callbacks=[lambda body, message: (
                received.append(time.perf_counter()), message.ack())]):
            for _ in range(samples + 10):  # the first ten open the channels: not counted
                began = time.perf_counter()
                producer.publish({"n": 1}, routing_key="bench", delivery_mode=2,
                                 declare=[queue], retry=False)
                while not received:
                    consuming.drain_events(timeout=5)
                latencies.append((received.pop() - began) * 1000)
        queue(consuming.default_channel).delete()
        exchange(consuming.default_channel).delete()
    return _percentiles(latencies[10:])


class FirstSeen:
    """Polls ``query`` (rows of a key and a value) on a SQLite file from a thread; records when
    each key was first seen, that is committed, with its value."""

    def __init__(self, database_file, query):
        self.engine = create_engine(f"sqlite:///{database_file}")
        self.query = query
        self.seen = {}  # key → (seen at, value)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        with self.engine.connect() as connection:
            while not self._stop.is_set():
                rows = connection.execute(self.query).all()
                connection.rollback()  # a fresh snapshot at every poll
                now = datetime.now(UTC)
                for key, value in rows:
                    self.seen.setdefault(key, (now, value))
                self._stop.wait(POLL_SECONDS)

    def wait_for(self, key=None, patience=PATIENCE_SECONDS):
        """When ``key`` (or, if None, the first key) was seen, and its value; None if not in
        time."""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if key is None and self.seen:
                return next(iter(self.seen.items()))
            if key is not None and key in self.seen:
                return self.seen[key]
            time.sleep(POLL_SECONDS)
        return None

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()
        self.engine.dispose()


def change_to_billing(suite, amqp_uri, samples=SAMPLES):
    """On a different commune each time, a change request accepted through the gateway; from
    its outbox row seen committed in subscriptions' database to billing's row for the event,
    claimed (its ``processed_at``) and seen committed."""
    from contracts.communes import MEMBER_COMMUNES

    session = measures.admin_session(suite)
    measures.register_reference_convention(suite, session)
    communes = measures.communes_to_change(MEMBER_COMMUNES)[:samples]
    claimed, committed, missing = [], [], 0
    for n, insee in enumerate(communes):
        decision_url = measures.file_change_request(suite, session, insee, n)
        since = datetime.now(UTC)
        written = (select(outbox.c.event_id, outbox.c.created_at)
                   .where(outbox.c.event_type == EVENT_TYPE, outbox.c.created_at >= since))
        handled = (select(processed_events.c.event_id, processed_events.c.processed_at)
                   .where(processed_events.c.consumer == CONSUMER,
                          processed_events.c.processed_at >= since))
        with (FirstSeen(suite.database_file("subscriptions"), written) as outbox_rows,
              FirstSeen(suite.database_file("billing"), handled) as billing_rows):
            session.post(decision_url, json={"decision": "accept"},
                         timeout=measures.HTTP_TIMEOUT).raise_for_status()
            event = outbox_rows.wait_for()
            seen = event and billing_rows.wait_for(event[0])
        if not seen:
            missing += 1
            continue
        (_, (written_seen_at, _)), (billing_seen_at, processed_at) = event, seen
        claimed.append((processed_at - written_seen_at).total_seconds() * 1000)
        committed.append((billing_seen_at - written_seen_at).total_seconds() * 1000)
    return {
        "samples": len(communes),
        "claimed": _percentiles(claimed),
        "committed": _percentiles(committed),
        "bare_publish_consume": bare_publish_consume(amqp_uri),
        "target_p50_ms": TARGET_P50_MS,
        "target_p99_ms": TARGET_P99_MS,
        "failures": missing,
        "first_failure": (f"not committed in billing within {PATIENCE_SECONDS:g} s"
                          if missing else None),
    }
