"""Each service's operations endpoint: is it alive, is it ready, and its figures.

    GET /health/live   200 while the process runs
    GET /health/ready  200 when its database answers and its broker connection is up; 503
                       otherwise, with a JSON body naming what failed
    GET /metrics       its figures, in Prometheus' text format (``servicekit.metrics``)

The endpoint is a small WSGI server of the service's own, on a port of its own
(``OPS_ADDRESSES``, ``servicekit/config.py``), rather than a Nameko ``@http`` entrypoint:
Nameko's web server is one per process, shared by every service ``communs run`` hosts, and an
operations check must not wait for a free worker of a busy service. A config without an
address for the service (tests) and a port already taken give a free port; ``address`` and
the log line ``ops.started`` say which.
"""

import json

import eventlet
import eventlet.wsgi
from kombu import Connection
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.rpc import Rpc

from servicekit.database import Database
from servicekit.logging import WorkerStopwatch, get_logger, outcome_of
from servicekit.metrics import CONTENT_TYPE, ServiceMetrics, exposition

log = get_logger(__name__)

# A readiness probe answers within this, whatever it waits for.
READY_TIMEOUT = 2.0
# Scrapers and health checks: a handful at a time is plenty.
MAX_CONNECTIONS = 16

KINDS = ((Rpc, "rpc"), (EventHandler, "event"))


def entrypoint_kind(entrypoint):
    """``rpc`` or ``event`` for the entrypoints counted as requests; None for the others
    (timers, the gateway's HTTP routes, which the gateway counts itself)."""
    for entrypoint_class, kind in KINDS:
        if isinstance(entrypoint, entrypoint_class):
            return kind
    return None


def parse_address(address):
    host, _, port = (address or "127.0.0.1:0").rpartition(":")
    return host or "127.0.0.1", int(port)


def listen(address):
    """A listening socket at ``address``, or at a free port of its host if that one is
    taken (another suite, a test): operations must not keep a service from starting."""
    host, port = parse_address(address)
    try:
        # Not eventlet's default SO_REUSEPORT: a second suite would share the port, and the
        # kernel would hand each probe to either of them.
        return eventlet.listen((host, port), reuse_port=False)
    except OSError as error:
        log.warning("ops.address_busy", address=f"{host}:{port}", error=str(error))
        return eventlet.listen((host, 0), reuse_port=False)


def check_broker(amqp_uri, consumer):
    """None if the service consumes its queues and the broker takes a new connection."""
    if consumer is not None and (consumer._gt is None or consumer._gt.dead):
        return "its queue consumer is not running"
    connection = Connection(amqp_uri, connect_timeout=READY_TIMEOUT)
    try:
        connection.connect()
    finally:
        connection.release()
    return None


def check_database(database_access):
    database_access.ping()
    return None


class OpsEndpoint(DependencyProvider):
    """Serves ``/health/live``, ``/health/ready`` and ``/metrics`` for its service, and records
    the end of each RPC and event worker in the service's figures."""

    address = None
    metrics = None

    def setup(self):
        self.service_name = self.container.service_name
        # The database's own setup may not have run yet: its access is read when used.
        self.database = next((provider for provider in self.container.dependencies
                              if isinstance(provider, Database)), None)
        self.metrics = ServiceMetrics(self.service_name, self.database)
        self._stopwatch = WorkerStopwatch()

    def start(self):
        configured = self.container.config.get("OPS_ADDRESSES", {}).get(self.service_name)
        self._socket = listen(configured)
        host, port = self._socket.getsockname()[:2]
        self.address = f"{host}:{port}"
        self._server = self.container.spawn_managed_thread(
            self._serve, identifier=f"{self.service_name}.ops")
        log.info("ops.started", service=self.service_name, address=self.address)

    def _serve(self):
        eventlet.wsgi.server(self._socket, self.wsgi_app, log_output=False,
                             max_size=MAX_CONNECTIONS, socket_timeout=30)

    def stop(self):
        server = getattr(self, "_server", None)
        if server is not None:
            server.kill()
            self._socket.close()
            self._server = None

    kill = stop

    # -- the figures --------------------------------------------------------------------------

    def worker_setup(self, worker_ctx):
        if entrypoint_kind(worker_ctx.entrypoint) is not None:
            self._stopwatch.start(worker_ctx)

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        seconds = self._stopwatch.stop(worker_ctx)
        if seconds is None:
            return
        entrypoint = worker_ctx.entrypoint
        kind = entrypoint_kind(entrypoint)
        event = ((entrypoint.source_service, entrypoint.event_type) if kind == "event"
                 else None)
        self.metrics.record(kind, entrypoint.method_name,
                            outcome_of(exc_info, entrypoint.expected_exceptions),
                            seconds, event=event)

    # -- the endpoint -------------------------------------------------------------------------

    def wsgi_app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _json(start_response, 405, {"detail": "Only GET."})
        if path == "/health/live":
            return _json(start_response, 200, {"service": self.service_name, "status": "live"})
        if path == "/health/ready":
            failed = self.readiness()
            return _json(start_response, 503 if failed else 200, {
                "service": self.service_name,
                "status": "unready" if failed else "ready",
                "failed": failed,
            })
        if path == "/metrics":
            body = exposition(self.metrics.registry)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE),
                                      ("Content-Length", str(len(body)))])
            return [body]
        return _json(start_response, 404, {"detail": f"No {path} here."})

    def readiness(self):
        """What keeps the service from serving, by name (``database``, ``broker``)."""
        checks = {
            "broker": (check_broker, self.container.config[AMQP_URI_CONFIG_KEY],
                       queue_consumer_of(self.container)),
        }
        if self.database is not None:
            checks["database"] = (check_database, self.database.access)
        failed = readiness_of(checks)
        if failed:
            log.warning("ops.unready", service=self.service_name, failed=sorted(failed))
        return failed


def queue_consumer_of(container):
    """The consumer of the container's queues (RPC, events, replies), if it has one."""
    return next((extension for extension in container.subextensions
                 if isinstance(extension, QueueConsumer)), None)


def readiness_of(checks):
    """``{name: problem}`` of the ``{name: (check, *args)}`` that failed, each check run
    beside the others and given ``READY_TIMEOUT``."""
    running = {name: eventlet.spawn(within_deadline, *check) for name, check in checks.items()}
    return {name: problem for name, problem in
            ((name, thread.wait()) for name, thread in running.items()) if problem is not None}


def within_deadline(check, *args):
    """The check's problem, or None; an exception or the deadline is a problem named by its
    type only (a driver's message may carry a URL with a password)."""
    try:
        with eventlet.Timeout(READY_TIMEOUT):
            return check(*args)
    except eventlet.Timeout:
        return f"no answer within {READY_TIMEOUT:g} s"
    except Exception as error:
        return type(error).__name__


def _json(start_response, status, payload):
    body = json.dumps(payload).encode()
    reasons = {200: "OK", 404: "Not Found", 405: "Method Not Allowed",
               503: "Service Unavailable"}
    start_response(f"{status} {reasons[status]}", [("Content-Type", "application/json"),
                                                   ("Content-Length", str(len(body)))])
    return [body]
