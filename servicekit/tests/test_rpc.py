"""Calls between services through the real broker: a deadline on every call — 503 for a
service that is not running, 504 for one that does not answer —, requests that expire with
it, and contract errors that arrive as themselves."""

import time

import eventlet
import pytest
import requests
from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import dummy, entrypoint_hook

from contracts.errors import (
    GatewayTimeout,
    Invalid,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)
from gateway.http import route
from gateway.limits import RateLimits
from servicekit.logging import CORRELATION_ID, LoggingContext, current_correlation_id
from servicekit.rpc import call, consumer_count
from servicekit.service import rpc

pytestmark = pytest.mark.broker

REFUSALS = {
    "invalid": Invalid({"area_m2": ["Must be positive."], "commune": ["Not a member."]}),
    "throttled": TooManyRequests("Slow down.", retry_after=900),
    "absent": NotFound("No such parcel."),
}


# What the cadastre was asked to note, in this process.
NOTED = []


class CadastreService:
    name = "cadastre"
    log_context = LoggingContext()

    @rpc
    def note(self, token):
        NOTED.append(token)
        return token

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
def test_a_running_callee_slower_than_the_deadline_is_a_gateway_timeout(counter):
    assert ask(counter, "cadastre", "wait", 0) == "done"
    started = time.monotonic()
    with pytest.raises(GatewayTimeout, match="cadastre service did not answer within 0.3 s"):
        ask(counter, "cadastre", "wait", 5, timeout=0.3)
    assert time.monotonic() - started < 2


def test_a_stopped_callee_is_unavailable_at_the_deadline_and_never_runs_the_request_later(
        container_factory, suite_config, cadastre, counter):
    assert ask(counter, "cadastre", "note", "before") == "before"
    cadastre.stop()
    # Its queue stays, durable, with no one consuming it.
    assert consumer_count(suite_config["AMQP_URI"], "rpc-cadastre") == 0

    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="The cadastre service is not running"):
        ask(counter, "cadastre", "note", "given up", timeout=0.5)
    assert time.monotonic() - started < 2

    back = container_factory(CadastreService, suite_config)
    back.start()
    assert ask(counter, "cadastre", "note", "after") == "after"
    # The request published before "after" expired with its deadline, in the queue.
    assert NOTED[-2:] == ["before", "after"]
    assert "given up" not in NOTED


class FrontService:
    """A gateway in front of the hanging cadastre, with few workers."""

    name = "front"
    cadastre = RpcProxy("cadastre")
    rate_limits = RateLimits()

    @route("GET", "/parcels/slow", summary="A call the cadastre never answers", tag="tests",
           public=True)
    def slow(self, request, **_):
        return call(self.cadastre, "wait", 30, timeout=0.5)

    @route("GET", "/parcels/quick", summary="A call the cadastre answers", tag="tests",
           public=True)
    def quick(self, request, **_):
        return {"answer": call(self.cadastre, "wait", 0, timeout=5)}


@pytest.mark.usefixtures("cadastre")
def test_a_hanging_callee_does_not_exhaust_the_callers_workers(
        container_factory, suite_config, web_config_port):
    workers = 3
    container_factory(FrontService, {**suite_config, "max_workers": workers}).start()
    base = f"http://127.0.0.1:{web_config_port}"
    requests_made = 2 * workers + 1

    def get_slow(_):
        started = time.monotonic()
        answer = requests.get(f"{base}/parcels/slow", timeout=20)
        return answer.status_code, answer.json()["detail"], time.monotonic() - started

    started = time.monotonic()
    answers = list(eventlet.GreenPool(requests_made).imap(get_slow, range(requests_made)))
    elapsed = time.monotonic() - started

    assert {(status, detail) for status, detail, _ in answers} == {
        (504, "The cadastre service did not answer within 0.5 s.")}
    # Each batch of `workers` requests waits one deadline, never the callee's 30 s.
    assert elapsed < 3 * 0.5 + 2, elapsed
    assert min(seconds for _, _, seconds in answers) >= 0.5
    quick = requests.get(f"{base}/parcels/quick", timeout=5)
    assert (quick.status_code, quick.json()) == (200, {"answer": "done"})


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
    # Each worker's closing line (worker.finished) may come after its reply: not counted here.
    answer, fault = [line for line in stream.records() if line.get("entrypoint") == "refuse"
                     and line["event"] != "worker.finished"]
    assert (answer["level"], "exception" in answer) == ("warning", False)
    assert (fault["level"], "exception" in fault) == ("error", True)

