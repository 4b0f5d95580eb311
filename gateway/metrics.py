"""The gateway's figures: requests by route template and status, their latency, and the calls
to services that got no answer or failed.

They live in a registry of the gateway's own (as each service's do, ``servicekit.metrics``),
served at ``GET /metrics`` on the gateway's HTTP port.
"""


from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider
from prometheus_client import CollectorRegistry, Counter, Histogram
from werkzeug.wrappers import Response

from contracts.errors import CommunsError, ServiceUnavailable
from gateway.http import ApiEntrypoint
from gateway.problems import problem_from_exception
from servicekit.logging import WorkerStopwatch
from servicekit.metrics import LATENCY_BUCKETS
from servicekit.ops import check_broker, queue_consumer_of, readiness_of


class GatewayFigures:
    """What a gateway worker sees: its figures, ``rpc_failed`` to count a call that went
    wrong, and ``readiness()``, what keeps the gateway from serving (its broker)."""

    def __init__(self, readiness):
        self.readiness = readiness
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "communs_gateway_requests", "HTTP requests answered, by route template and status",
            ("method", "route", "status"), registry=self.registry)
        self.latency = Histogram(
            "communs_gateway_request_duration_seconds", "Time to answer, by route template",
            ("method", "route"), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.rpc_errors = Counter(
            "communs_gateway_rpc_errors", "Calls to a service that got no answer in time "
            "(unavailable) or failed inside it (failure)", ("service", "error"),
            registry=self.registry)

    def rpc_failed(self, service, error):
        """Counts ``error`` raised by a call to ``service``; a contract error is the
        service's answer (404, 409…), not a failure of the call, and is not counted."""
        if isinstance(error, ServiceUnavailable):
            self.rpc_errors.labels(service, "unavailable").inc()
        elif not isinstance(error, CommunsError):
            self.rpc_errors.labels(service, "failure").inc()


class GatewayMetrics(DependencyProvider):
    """Records each route's answer as its worker ends."""

    def setup(self):
        self.figures = GatewayFigures(self.readiness)
        self._stopwatch = WorkerStopwatch()

    def readiness(self):
        return readiness_of({"broker": (check_broker, self.container.config[AMQP_URI_CONFIG_KEY],
                                        queue_consumer_of(self.container))})

    def get_dependency(self, worker_ctx):
        return self.figures

    def worker_setup(self, worker_ctx):
        if isinstance(worker_ctx.entrypoint, ApiEntrypoint):
            self._stopwatch.start(worker_ctx)

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        seconds = self._stopwatch.stop(worker_ctx)
        if seconds is None:
            return
        entrypoint = worker_ctx.entrypoint
        if exc_info is not None:
            status = problem_from_exception(exc_info[1]).status_code
        else:
            status = result.status_code if isinstance(result, Response) else 200
        spec = getattr(getattr(self.container.service_cls, entrypoint.method_name),
                       "__route__", None)
        # The template, never the path: a path holds ids, and figures must stay few.
        route = spec.openapi_path if spec else entrypoint.url
        self.figures.requests.labels(entrypoint.method, route, str(status)).inc()
        self.figures.latency.labels(entrypoint.method, route).observe(seconds)
