"""Helpers for dependency providers: finding the other providers of their container, and
running a relay greenthread beside the service's workers."""

import abc

from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider

from servicekit.logging import get_logger

log = get_logger(__name__)


def sibling(container, provider_class):
    """The container's (bound) provider of ``provider_class``."""
    for provider in container.dependencies:
        if isinstance(provider, provider_class):
            return provider
    raise LookupError(f"{container.service_name} has no {provider_class.__name__}")


class Relay(abc.ABC):
    """A greenthread's loop: ``run_round`` at every poll, and as soon as ``wake`` is called."""

    def __init__(self, poll_interval):
        self.poll_interval = poll_interval
        self._wake = LightQueue(maxsize=1)

    def wake(self):
        """Run a round now rather than at the next poll."""
        if self._wake.empty():
            self._wake.put_nowait(True)

    def run_forever(self):
        while True:
            try:
                self._wake.get(timeout=self.poll_interval)
            except Empty:
                pass
            try:
                self.run_round()
            except Exception:
                log.exception("relay.round_failed", relay=type(self).__name__)

    @abc.abstractmethod
    def run_round(self):
        """Relays what is due: publishes the events, sends the mail."""


class RelayProvider(DependencyProvider, metaclass=abc.ABCMeta):
    """Runs the ``Relay`` that ``make_relay`` builds for the service, and wakes it after each
    worker that gave its writer something to relay (and did not fail): under a load of
    workers that write nothing for it (an alert campaign's thousands of receipts), the relay
    keeps to its poll."""

    relay = None

    def setup(self):
        self._writers = {}

    @abc.abstractmethod
    def make_relay(self):
        """The service's ``Relay``, built when the container starts."""

    @abc.abstractmethod
    def make_writer(self, worker_ctx):
        """What a worker sees: an object whose ``add`` sets its ``added``."""

    def get_dependency(self, worker_ctx):
        writer = self._writers[worker_ctx] = self.make_writer(worker_ctx)
        return writer

    def start(self):
        self.relay = self.make_relay()
        self._thread = self.container.spawn_managed_thread(
            self.relay.run_forever, identifier=type(self).__name__.lower()
        )

    def stop(self):
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.kill()

    kill = stop

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        writer = self._writers.pop(worker_ctx, None)
        if exc_info is None and self.relay is not None and getattr(writer, "added", False):
            self.relay.wake()
