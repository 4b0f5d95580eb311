"""Each service's operations endpoint on a real container: alive, ready or not (and why), its
own figures after RPCs and events, and its dead letters without their payload."""

import time
from datetime import UTC, datetime

import pytest
import requests
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from prometheus_client.parser import text_string_to_metric_families

from contracts.errors import NotFound
from contracts.operations import DeadLetterSchema
from servicekit.database import Database
from servicekit.inbox import event_handler, idempotent
from servicekit.ops import READY_TIMEOUT, OpsEndpoint, check_broker, within_deadline
from servicekit.outbox import make_envelope
from servicekit.providers import sibling
from servicekit.service import CommunsService, rpc
from servicekit.tests.support import (
    PARCEL_REGISTERED,
    PRODUCER,
    DatabaseWithBusinessTables,
    closed_port,
    parcel,
    wait_until,
)

pytestmark = [pytest.mark.broker, pytest.mark.usefixtures("parcel_topology")]

# A citizen's name in an event's payload: it must never reach the dead letters' listing.
PERSONAL = "Ada Lovelace"


class CadastreDeskService(CommunsService):
    name = "cadastre_desk"
    db = DatabaseWithBusinessTables()

    @rpc
    def area(self, parcel_id):
        return 120

    @rpc
    def parcel(self, parcel_id):
        raise NotFound("No such parcel.")

    @event_handler(PRODUCER, PARCEL_REGISTERED.name)
    @idempotent
    def on_parcel_registered(self, session, event):
        if event.data["area_m2"] == 0:
            raise ValueError("a parcel of no area")
        return "noted"


class ArchiveDeskService(CommunsService):
    name = "archive_desk"
    db = Database()


class FarAwayDatabaseService(CommunsService):
    name = "far_away"
    db = Database()


def ops_url(container, path):
    return f"http://{sibling(container, OpsEndpoint).address}{path}"


def metrics_of(container):
    answer = requests.get(ops_url(container, "/metrics"), timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return answer.text


def figure(text, name, **labels):
    """The sum of the samples called ``name`` whose labels include ``labels``; None if none."""
    values = [sample.value for family in text_string_to_metric_families(text)
              for sample in family.samples
              if sample.name == name and labels.items() <= sample.labels.items()]
    return sum(values) if values else None


def envelope(data):
    return make_envelope(PARCEL_REGISTERED, data, datetime(2024, 3, 4, 10, 30, tzinfo=UTC),
                         "34134")


@pytest.fixture
def start(container_factory, suite_config):
    def start(service_cls, **overrides):
        container = container_factory(service_cls, {**suite_config, **overrides})
        container.start()
        return container

    return start


def test_a_running_service_is_live_and_ready(start):
    container = start(CadastreDeskService)
    live = requests.get(ops_url(container, "/health/live"), timeout=5)
    assert (live.status_code, live.json()) == (200, {"service": "cadastre_desk",
                                                     "status": "live"})
    ready = requests.get(ops_url(container, "/health/ready"), timeout=5)
    assert (ready.status_code, ready.json()) == (
        200, {"service": "cadastre_desk", "status": "ready", "failed": {}})
    assert requests.get(ops_url(container, "/nowhere"), timeout=5).status_code == 404
    assert requests.post(ops_url(container, "/health/live"), timeout=5).status_code == 405


def test_a_service_whose_database_does_not_answer_is_live_but_not_ready(start):
    container = start(FarAwayDatabaseService, DB_MIGRATE_ON_START=False, DATABASE_URLS={
        "far_away": f"postgresql://postgres@127.0.0.1:{closed_port()}/far_away"})
    assert requests.get(ops_url(container, "/health/live"), timeout=5).status_code == 200
    started = time.monotonic()
    ready = requests.get(ops_url(container, "/health/ready"), timeout=10)
    assert time.monotonic() - started < READY_TIMEOUT + 1
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["status"] == "unready"
    assert set(body["failed"]) == {"database"}
    # Named by the error's type only: a driver's message may hold the URL and its password.
    assert "postgres@" not in ready.text
    # Its figures still answer, without the tables it cannot read.
    figures = metrics_of(container)
    assert "# TYPE communs_requests_total counter" in figures
    assert figure(figures, "communs_dead_letters") is None


def test_a_broker_that_takes_no_connection_is_named():
    problem = within_deadline(
        check_broker, f"amqp://guest:guest@127.0.0.1:{closed_port()}/", None)
    assert problem is not None


def test_the_figures_count_rpcs_by_outcome(start, suite_config):
    container = start(CadastreDeskService)
    with ServiceRpcProxy("cadastre_desk", suite_config, timeout=5) as desk:
        assert desk.area("p-1") == 120
        assert desk.area("p-2") == 120
        with pytest.raises(NotFound):
            desk.parcel("p-3")
    figures = metrics_of(container)
    assert ('communs_requests_total{entrypoint="area",kind="rpc",outcome="ok",'
            'service="cadastre_desk"} 2.0') in figures
    assert figure(figures, "communs_requests_total", entrypoint="parcel",
                  outcome="expected_error") == 1
    assert figure(figures, "communs_requests_total", entrypoint="parcel",
                  outcome="ok") is None
    assert figure(figures, "communs_request_duration_seconds_count", entrypoint="area") == 2
    assert figure(figures, "communs_outbox_pending_events", service="cadastre_desk") == 0
    assert figure(figures, "communs_dead_letters", service="cadastre_desk") == 0


def test_a_failed_event_shows_in_the_figures_and_in_the_dead_letters(start, suite_config):
    container = start(CadastreDeskService)
    dispatch = event_dispatcher(suite_config)
    buried = envelope(parcel(area_m2=0))
    buried["data"]["owner"] = PERSONAL  # a field the schema ignores, kept in the stored body
    dispatch(PRODUCER, PARCEL_REGISTERED.name, buried)
    dispatch(PRODUCER, PARCEL_REGISTERED.name, envelope(parcel(area_m2=80)))

    wait_until(lambda: figure(metrics_of(container), "communs_events_handled_total",
                              source=PRODUCER, event_type=PARCEL_REGISTERED.name) == 2,
               what="both events counted")
    figures = metrics_of(container)
    # The handler kept the failed event for an operator: the worker itself ended well.
    assert figure(figures, "communs_dead_letters", service="cadastre_desk") == 1
    assert figure(figures, "communs_requests_total", kind="event",
                  entrypoint="on_parcel_registered") == 2

    with ServiceRpcProxy("cadastre_desk", suite_config, timeout=5) as desk:
        listing = desk.dead_letters()
    assert listing["total"] == 1
    (letter,) = DeadLetterSchema(many=True).load(listing["dead_letters"])
    assert letter["event_type"] == PARCEL_REGISTERED.name
    assert letter["event_id"] == buried["event_id"]
    assert letter["consumer"] == "cadastre_desk.on_parcel_registered"
    assert letter["error"] == "ValueError: a parcel of no area"
    assert PERSONAL not in str(listing)


def test_services_in_one_process_each_answer_their_own_figures(start, suite_config):
    cadastre = start(CadastreDeskService)
    archive = start(ArchiveDeskService)
    assert sibling(cadastre, OpsEndpoint).address != sibling(archive, OpsEndpoint).address
    with ServiceRpcProxy("cadastre_desk", suite_config, timeout=5) as desk:
        desk.area("p-1")
    with ServiceRpcProxy("archive_desk", suite_config, timeout=5) as desk:
        desk.health()
    cadastre_figures, archive_figures = metrics_of(cadastre), metrics_of(archive)
    assert 'entrypoint="area"' in cadastre_figures
    assert 'service="archive_desk"' not in cadastre_figures
    assert 'entrypoint="health"' in archive_figures
    assert 'service="cadastre_desk"' not in archive_figures


def test_a_taken_address_gives_way_to_a_free_port(start):
    # A fixed port, as in production: the kernel shares only those between SO_REUSEPORT
    # sockets, never a port it chose.
    fixed = f"127.0.0.1:{closed_port()}"
    first = start(ArchiveDeskService, OPS_ADDRESSES={"archive_desk": fixed})
    taken = sibling(first, OpsEndpoint).address
    assert taken == fixed
    # A second suite on the same machine: it must not share the port (SO_REUSEPORT would
    # let the kernel hand each probe to either service).
    second = start(CadastreDeskService, OPS_ADDRESSES={"cadastre_desk": taken})
    address = sibling(second, OpsEndpoint).address
    assert address != taken
    for _ in range(5):
        assert requests.get(f"http://{taken}/health/live",
                            timeout=5).json()["service"] == "archive_desk"
    assert requests.get(f"http://{address}/health/live",
                        timeout=5).json()["service"] == "cadastre_desk"
