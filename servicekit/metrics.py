"""One service's figures, in Prometheus' text format.

Each service keeps them in a ``CollectorRegistry`` of its own rather than the library's global
one: when ``communs run`` hosts every service in one process, each operations endpoint
(``servicekit.ops``) must still answer its own service's figures only.

Workers are counted as they end (``ServiceMetrics.record``); the outbox backlog and the dead
letters are read from the service's database when the figures are asked for, so a scrape
shows the tables as they are, and a service that never scraped pays nothing for them.
"""

import eventlet
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from sqlalchemy import func, select

from servicekit.logging import get_logger
from servicekit.tables import dead_letters, outbox

log = get_logger(__name__)

# Prometheus' classic text format, which every scraper reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Between an RPC on a warm service (a few ms) and the gateway's deadline (10 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A scrape must not wait long on a database that is slow to answer.
TABLES_TIMEOUT = 2.0

def exposition(registry):
    """The registry's figures as the body of a ``/metrics`` answer."""
    return generate_latest(registry)


class ServiceMetrics:
    """The requests, latencies and handled events of one service, and its tables' backlog."""

    def __init__(self, service, database=None):
        self.service = service
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "communs_requests", "RPC and event entrypoints run, by outcome",
            ("service", "kind", "entrypoint", "outcome"), registry=self.registry)
        self.latency = Histogram(
            "communs_request_duration_seconds", "Time a worker took, from start to result",
            ("service", "kind", "entrypoint"), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.events = Counter(
            "communs_events_handled", "Events handled, by their producer and type",
            ("service", "source", "event_type", "outcome"), registry=self.registry)
        if database is not None:
            self.registry.register(StoredBacklog(service, database))

    def record(self, kind, entrypoint, outcome, seconds, event=None):
        """One worker's end; ``event`` is ``(source, event_type)`` for an event handler."""
        self.requests.labels(self.service, kind, entrypoint, outcome).inc()
        self.latency.labels(self.service, kind, entrypoint).observe(seconds)
        if event is not None:
            self.events.labels(self.service, *event, outcome).inc()


class StoredBacklog:
    """A collector of what waits in the service's tables: events not yet published, and
    events its handlers gave up on."""

    def __init__(self, service, database):
        self.service = service
        self.database = database  # the service's ``Database`` provider

    def describe(self):
        # Nothing read at registration: the database may not answer yet.
        return []

    def collect(self):
        try:
            with eventlet.Timeout(TABLES_TIMEOUT):
                with self.database.access.transaction() as session:
                    pending = session.execute(
                        select(func.count()).select_from(outbox)
                        .where(outbox.c.published_at.is_(None))).scalar_one()
                    buried = session.execute(
                        select(func.count()).select_from(dead_letters)).scalar_one()
        except (Exception, eventlet.Timeout) as error:
            # The rest of the figures still answer; /health/ready names the database.
            log.warning("metrics.tables_unread", service=self.service,
                        error=type(error).__name__)
            return
        backlog = GaugeMetricFamily(
            "communs_outbox_pending_events", "Events written but not yet published",
            labels=("service",))
        backlog.add_metric((self.service,), pending)
        yield backlog
        letters = GaugeMetricFamily(
            "communs_dead_letters", "Events a handler gave up on, kept for an operator",
            labels=("service",))
        letters.add_metric((self.service,), buried)
        yield letters
