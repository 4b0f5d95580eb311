"""A relay is woken by the workers that gave it something to relay, and only by them."""

from servicekit.providers import Relay, RelayProvider


class CountingRelay(Relay):
    def __init__(self):
        super().__init__(poll_interval=60)
        self.wakes = 0

    def wake(self):
        self.wakes += 1

    def run_round(self):
        """Nothing to relay here."""


class Writer:
    def __init__(self):
        self.added = False

    def add(self):
        self.added = True


class Provider(RelayProvider):
    def make_relay(self):
        return CountingRelay()

    def make_writer(self, worker_ctx):
        return Writer()


def test_only_a_worker_that_added_something_and_succeeded_wakes_the_relay():
    provider = Provider()
    provider.setup()
    provider.relay = provider.make_relay()
    idle, writing, failing = object(), object(), object()
    provider.get_dependency(idle)
    provider.get_dependency(writing).add()
    provider.get_dependency(failing).add()

    provider.worker_result(idle)
    assert provider.relay.wakes == 0
    provider.worker_result(writing)
    assert provider.relay.wakes == 1
    provider.worker_result(failing, exc_info=(ValueError, ValueError(), None))
    assert provider.relay.wakes == 1
    assert provider._writers == {}  # nothing kept of the workers done
