"""Structured logs: JSON lines off a terminal, a readable console on one.

Every line a worker writes carries the service, the entrypoint and the request's
``correlation_id``: the gateway takes it from ``X-Request-Id`` (or makes one) and Nameko
carries it in the context data of every RPC and event (header ``nameko.correlation_id``).
Log calls name things by id — never a citizen's name, e-mail, address or a secret.
"""

import logging
import logging.handlers
import sys
import time

import structlog
from nameko.extensions import DependencyProvider

CORRELATION_ID = "correlation_id"

_SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def configure_logging(log_format=None, level="INFO", log_file=None, stream=None):
    """Route structlog and the standard library (Nameko, kombu) through one renderer.

    ``log_file``, when given, receives JSON lines whatever the console format is.
    """
    stream = stream or sys.stderr
    if log_format is None:
        log_format = "console" if stream.isatty() else "json"
    console = logging.StreamHandler(stream)
    console.setFormatter(_formatter(log_format))
    handlers = [console]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
        to_file.setFormatter(_formatter("json"))
        handlers.append(to_file)

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("nameko.containers").addFilter(_expected_errors_without_traceback)
    # kombu, amqp and alembic narrate every step at INFO; their warnings are what matters.
    # nameko.web.server writes an access line with the query string; the gateway writes its
    # own, without it.
    for chatty in ("kombu", "amqp", "nameko.messaging", "nameko.web.server", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)

    structlog.configure(
        processors=[
            # First: a line below the level costs nothing more (a bench runs at WARNING).
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def _expected_errors_without_traceback(record):
    """Nameko logs an expected error (a 404, a 422) with its traceback; it is an answer, not
    a fault, so one line is enough."""
    if record.levelno == logging.WARNING and str(record.msg).startswith("(expected)"):
        record.exc_info = None
        record.exc_text = None
    return True


def _formatter(log_format):
    renderer = (
        structlog.dev.ConsoleRenderer()
        if log_format == "console"
        else structlog.processors.JSONRenderer(sort_keys=True)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


def get_logger(name=None):
    return structlog.stdlib.get_logger(name)


def current_correlation_id():
    """The correlation id of the request the current worker serves, if any."""
    return structlog.contextvars.get_contextvars().get(CORRELATION_ID)


OK, EXPECTED, FAILURE = "ok", "expected_error", "failure"


def outcome_of(exc_info, expected_exceptions):
    """``ok``, ``expected_error`` (a contract error answered to the caller), or ``failure``."""
    if exc_info is None:
        return OK
    if expected_exceptions and isinstance(exc_info[1], expected_exceptions):
        return EXPECTED
    return FAILURE


class WorkerStopwatch:
    """When each worker started, for the providers that report how long it took as it ends."""

    def __init__(self):
        self._started = {}

    def start(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()

    def stop(self, worker_ctx):
        """Seconds since ``start``, or None for a worker that was not started."""
        started = self._started.pop(worker_ctx, None)
        return None if started is None else time.perf_counter() - started


class LoggingContext(DependencyProvider):
    """Binds who is working and for which request to every log line of a worker, and ends
    each worker with a ``worker.finished`` line: its outcome and how long it took."""

    def setup(self):
        self._stopwatch = WorkerStopwatch()

    def worker_setup(self, worker_ctx):
        self._stopwatch.start(worker_ctx)
        # A worker no request started (a timer, an event from an old producer) starts its own
        # thread of calls; storing it in the context data sends it on with every RPC it makes.
        correlation_id = worker_ctx.data.setdefault(
            CORRELATION_ID, worker_ctx.origin_call_id or worker_ctx.call_id
        )
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            service=self.container.service_name,
            entrypoint=worker_ctx.entrypoint.method_name,
            correlation_id=correlation_id,
        )

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        seconds = self._stopwatch.stop(worker_ctx)
        outcome = outcome_of(exc_info, getattr(worker_ctx.entrypoint, "expected_exceptions", ()))
        get_logger("servicekit.worker").info(
            "worker.finished", outcome=outcome,
            duration_ms=None if seconds is None else round(seconds * 1000, 2))

    def worker_teardown(self, worker_ctx):
        structlog.contextvars.clear_contextvars()
