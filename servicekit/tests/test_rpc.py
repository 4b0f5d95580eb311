"""Calls between services through the real broker: a deadline on every call, and contract
errors that arrive as themselves."""

import time

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import dummy, entrypoint_hook

from contracts.errors import Invalid, NotFound, ServiceUnavailable, TooManyRequests
from servicekit.logging import CORRELATION_ID, LoggingContext, current_correlation_id
from servicekit.rpc import call
from servicekit.service import rpc

pytestmark = pytest.mark.broker

REFUSALS = {
    "invalid": Invalid({"area_m2": ["Must be positive."], "commune": ["Not a member."]}),
    "throttled": TooManyRequests("Slow down.", retry_after=900),
    "absent": NotFound("No such parcel."),
}


class CadastreService:
    name = "cadastre"
    log_context = LoggingContext()

    @rpc
    def wait(self, seconds):
        eventlet.sleep(seconds)
        return "done"

    @rpc
    def refuse(self, reason):
        if reason in REFUSALS:
            raise REFUSALS[reason]
        raise ValueError("a bug, not an answer")

    @rpc
    def correlation_id(self):
        return current_correlation_id()


class CounterService:
    """Calls the cadastre as the gateway calls services: from a worker, with a deadline."""

    name = "counter"
    log_context = LoggingContext()
    cadastre = RpcProxy("cadastre")
    nobody = RpcProxy("nobody")

    @dummy
    def ask(self, service, method, *args, timeout):
        return call(getattr(self, service), method, *args, timeout=timeout)


@pytest.fixture
def cadastre(container_factory, suite_config):
    container = container_factory(CadastreService, suite_config)
    container.start()
    return container


@pytest.fixture
def counter(container_factory, suite_config):
    container = container_factory(CounterService, suite_config)
    container.start()
    return container


def ask(counter, *call_args, correlation_id="req-counter", timeout=5):
    with entrypoint_hook(counter, "ask", context_data={CORRELATION_ID: correlation_id}) as hook:
        return hook(*call_args, timeout=timeout)


@pytest.mark.usefixtures("cadastre")
def test_a_callee_slower_than_the_deadline_is_unavailable(counter):
    assert ask(counter, "cadastre", "wait", 0) == "done"
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="cadastre service did not answer within 0.3 s"):
        ask(counter, "cadastre", "wait", 5, timeout=0.3)
    assert time.monotonic() - started < 2


def test_a_service_that_never_started_is_unavailable_at_once(counter):
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="nobody service is not running"):
        ask(counter, "nobody", "health", timeout=5)
    assert time.monotonic() - started < 2


def test_the_correlation_id_of_the_caller_reaches_the_callee(cadastre, counter):
    assert ask(counter, "cadastre", "correlation_id", correlation_id="req-7f3a") == "req-7f3a"


@pytest.mark.usefixtures("cadastre")
def test_contract_errors_arrive_as_themselves_with_their_fields(suite_config, counter):
    with ServiceRpcProxy("cadastre", suite_config, timeout=5) as cadastre:
        with pytest.raises(Invalid) as invalid:
            cadastre.refuse("invalid")
        with pytest.raises(TooManyRequests) as throttled:
            cadastre.refuse("throttled")
        with pytest.raises(NotFound) as absent:
            cadastre.refuse("absent")
    assert type(invalid.value) is Invalid
    assert invalid.value.errors == {"area_m2": ["Must be positive."], "commune": ["Not a member."]}
    assert invalid.value.detail == "Some fields are invalid: area_m2, commune"
    assert (throttled.value.retry_after, throttled.value.detail) == (900, "Slow down.")
    assert (type(absent.value), absent.value.detail) == (NotFound, "No such parcel.")

    # The same through a deadline, from another service's worker.
    with pytest.raises(TooManyRequests) as throttled:
        ask(counter, "cadastre", "refuse", "throttled")
    assert throttled.value.retry_after == 900


@pytest.mark.usefixtures("cadastre")
def test_contract_errors_are_logged_as_answers_and_other_errors_as_faults(
    suite_config, configured_logging
):
    stream = configured_logging()
    with ServiceRpcProxy("cadastre", suite_config, timeout=5) as cadastre:
        with pytest.raises(NotFound):
            cadastre.refuse("absent")
        with pytest.raises(RemoteError, match="ValueError"):
            cadastre.refuse("a bug")
    answer, fault = [line for line in stream.records() if line.get("entrypoint") == "refuse"]
    assert (answer["level"], "exception" in answer) == ("warning", False)
    assert (fault["level"], "exception" in fault) == ("error", True)
