"""An accepted subscription change until billing has committed it, measured at the source,
beside a bare kombu publish → consume of one persistent message.

The event's path: the decision's transaction writes the ``subscription.changed`` outbox row
and commits; the worker that wrote it wakes subscriptions' outbox relay, which publishes it
with a confirm; billing's handler claims it in ``processed_events`` (``processed_at``) and
commits the change with that row, after which the commune's draft title bills it. The start is
the moment the bench sees the outbox row committed in subscriptions' database; the ends are
billing's own claim timestamp (its handler has started, its commit follows) and the moment the
bench sees billing's row committed. Both databases are polled every 2 ms from threads started
before the decision, so each figure is within a few ms of the truth. The polls go through the
sqlite3 module, not SQLAlchemy, which costs two thirds more CPU per poll: the bench shares the
two cores with the path it measures, and reports its own CPU per change.
"""

import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime

from kombu import Connection, Exchange, Queue

from bench import measures
from bench.http_load import LoadResult

# Each of the 30 communes other than Lavérune asks for each of the four applications.
SAMPLES = 120
BARE_SAMPLES = 300
CONSUMER = "billing.on_subscription_changed"
EVENT_TYPE = "subscription.changed"
POLL_SECONDS = 0.002
WRITTEN = "SELECT event_id, created_at FROM outbox WHERE event_type = ? AND created_at >= ?"
HANDLED = ("SELECT event_id, processed_at FROM processed_events"
           " WHERE consumer = ? AND processed_at >= ?")
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
    """Polls ``sql`` (rows of a key and a UTC timestamp, with ``parameters``) on a SQLite file
    from a thread; records when each key was first seen, that is committed, with its value."""

    def __init__(self, database_file, sql, parameters):
        self.database_file = database_file
        self.sql = sql
        self.parameters = parameters
        self.seen = {}  # key → (seen at, value)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        # Autocommit: every poll reads the latest committed snapshot.
        connection = sqlite3.connect(self.database_file, isolation_level=None)
        try:
            while not self._stop.is_set():
                rows = connection.execute(self.sql, self.parameters).fetchall()
                now = datetime.now(UTC)
                for key, value in rows:
                    self.seen.setdefault(key, (now, _stored_utc(value)))
                self._stop.wait(POLL_SECONDS)
        finally:
            connection.close()

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


def _stored_utc(value):
    """A timestamp as ``servicekit.sqltypes.UtcDateTime`` stores it on SQLite: naive UTC text."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _as_stored(moment):
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def change_to_billing(suite, amqp_uri, samples=SAMPLES):
    """A change request accepted through the gateway, never twice the same; from
    its outbox row seen committed in subscriptions' database to billing's row for the event,
    claimed (its ``processed_at``) and seen committed."""
    from contracts.communes import MEMBER_COMMUNES

    session = measures.admin_session(suite)
    measures.register_reference_convention(suite, session)
    communes = measures.communes_to_change(MEMBER_COMMUNES)
    # Round after round, each commune asks for an application it has not asked for yet.
    changes = [(insee, index + round_) for round_ in range(len(measures.CHANGE_APPLICATIONS))
               for index, insee in enumerate(communes)][:samples]
    claimed, committed, missing = [], [], 0
    cpu_before = time.process_time()
    for insee, n in changes:
        decision_url = measures.file_change_request(suite, session, insee, n)
        since = _as_stored(datetime.now(UTC))
        with (FirstSeen(suite.database_file("subscriptions"), WRITTEN,
                        (EVENT_TYPE, since)) as outbox_rows,
              FirstSeen(suite.database_file("billing"), HANDLED,
                        (CONSUMER, since)) as billing_rows):
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
        "samples": len(changes),
        "bench_cpu_ms_per_sample": measures.rounded(
            (time.process_time() - cpu_before) * 1000 / max(len(changes), 1)),
        "claimed": _percentiles(claimed),
        "committed": _percentiles(committed),
        "bare_publish_consume": bare_publish_consume(amqp_uri),
        "target_p50_ms": TARGET_P50_MS,
        "target_p99_ms": TARGET_P99_MS,
        "failures": missing,
        "first_failure": (f"not committed in billing within {PATIENCE_SECONDS:g} s"
                          if missing else None),
    }
