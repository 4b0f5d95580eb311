"""Fault tests, part 2: messages, the database and the outside systems (issue 12).

Each test runs the suite's real services (subscriptions' outbox, billing's inbox, the
gateway) as Nameko containers in this process, on a vhost of its own on the real broker and,
where marked, on databases of their own on the real PostgreSQL; it injects one fault, records
its row of the test list (reliability-perf-anchors.md §4) and then asserts that nothing was
lost or done twice.
"""

import statistics
import time
import uuid
from datetime import UTC, date, datetime
from urllib.parse import urlparse

import eventlet
import pytest
import requests
from eventlet.greenpool import GreenPool
from kombu import Connection
from marshmallow import Schema, fields
from nameko.rpc import ReplyListener, rpc
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from contracts import events
from contracts.errors import ServiceUnavailable
from contracts.events import COMMUNE_UPDATED, SUBSCRIPTION_CHANGED, EventType, Subscriber
from contracts.identity import METROPOLE_ADMIN
from gateway.service import GatewayService

# The gateway's fixtures: a signing key, the principals its fake identity knows, and a fake of
# every service but the one a test runs for real.
from gateway.tests.conftest import fake_services, principals, signing_key  # noqa: F401
from gateway.tests.fakes import ADMIN_ID, bearer
from servicekit import inbox, topology
from servicekit.clock import ClockProvider
from servicekit.database import Database, make_engine
from servicekit.outbox import Outbox, make_envelope
from servicekit.providers import sibling
from servicekit.tables import dead_letters, outbox, processed_events
from servicekit.tests.conftest import POSTGRES_URL, postgres_database  # noqa: F401
from servicekit.tests.support import wait_until
from services.billing import ledger
from services.billing.models import Document, SubscriptionChange
from services.billing.service import BillingService
from services.billing.tests.support import (
    CONVENTION_ID,
    LAVERUNE,
    convention_registered,
    populations,
)
from services.subscriptions.service import SubscriptionsService
from tests.chaos.conftest import scale
from tests.chaos.latency_proxy import TcpProxy

OCCURRED_AT = datetime(2022, 6, 1, 10, 0, tzinfo=UTC)
HANDLER = "on_subscription_changed"
CONSUMER = f"billing.{HANDLER}"  # how billing's inbox names the handler
LAVERUNE_SIRET = "21340134200018"


# -- helpers ------------------------------------------------------------------------------------


def start(container_factory, service_cls, config, **overrides):
    container = container_factory(service_cls, {**config, **overrides})
    container.start()
    return container


def access_of(container):
    return sibling(container, Database).access


def count(container, table, *where):
    with access_of(container).transaction() as session:
        query = select(func.count()).select_from(table)
        return session.execute(query.where(*where) if where else query).scalar_one()


def change_data(insee=LAVERUNE, application="eadmin"):
    return {"commune": insee, "application": application, "change": "added",
            "effective_from": date(2023, 1, 1), "convention_id": CONVENTION_ID,
            "request_id": str(uuid.uuid4())}


def subscription_changes(number):
    return [make_envelope(SUBSCRIPTION_CHANGED, change_data(), OCCURRED_AT, LAVERUNE)
            for _ in range(number)]


def write_through_outbox(producer, event_type, data_list):
    """Adds the events to the producer's outbox in one transaction, as its own code does; its
    relay publishes them. Returns their event ids."""
    writer = sibling(producer, Outbox).writer_outside_workers()
    with access_of(producer).transaction() as session:
        return [writer.add(session, event_type, data, OCCURRED_AT, commune=LAVERUNE)["event_id"]
                for data in data_list]


def pending(producer):
    return count(producer, outbox, outbox.c.published_at.is_(None))


def messages_in(config, queue):
    with Connection(config["AMQP_URI"]) as connection:
        return connection.default_channel.queue_declare(queue, passive=True).message_count


def billing_queue(event_type=SUBSCRIPTION_CHANGED, handler=HANDLER):
    return event_type.queue_name(Subscriber("billing", handler))


class Deliveries:
    """An ``entrypoint_waiter`` callback: every delivery's event id and outcome, until each of
    ``expected`` event ids has been delivered ``times`` times (only deliveries that did not
    fail count when ``applied``), or until ``total`` deliveries."""

    def __init__(self, expected=(), times=1, total=None, applied=False):
        self.expected = set(expected)
        self.times = times
        self.total = total
        self.applied = applied
        self.seen = []

    def __call__(self, worker_ctx, result, exc_info):
        self.seen.append((worker_ctx.args[0].get("event_id") if worker_ctx.args else None,
                          exc_info[0] if exc_info else result))
        if self.total is not None:
            return len(self.seen) >= self.total
        delivered = [event_id for event_id, outcome in self.seen
                     if not (self.applied and isinstance(outcome, type))]
        return all(delivered.count(event_id) >= self.times for event_id in self.expected)

    def outcomes(self):
        return [outcome for _, outcome in self.seen]

    def redelivered(self):
        """Deliveries of an event already delivered."""
        return len(self.seen) - len({event_id for event_id, _ in self.seen})


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def ms(seconds):
    return round(seconds * 1000, 1)


def dead_letters_listed(config):
    """The dead letters as an operator sees them: through billing's listing."""
    with ServiceRpcProxy("billing", config, timeout=10) as proxy:
        return proxy.dead_letters()["dead_letters"]


# -- row 3: events published before their consumer ever started --------------------------------


class UnheardSchema(Schema):
    commune = fields.String(required=True)


# An event type nobody subscribes to, published by a real producer.
UNHEARD = EventType("subscriptions", "commune.surveyed", 1, UnheardSchema)
UNROUTED_QUEUE = topology.UNROUTED


@pytest.fixture
def deployed_topology(suite_config, pytestconfig):
    """The bus as a deployment declares it before any service starts (``communs topology``):
    subscriber queues, and the alternate exchange that keeps unrouted events."""
    topology.declare(suite_config["AMQP_URI"], events.EVENT_TYPES.values(),
                     pytestconfig.getoption("RABBIT_API_URI"))


@pytest.mark.broker
def test_events_wait_in_their_queue_for_a_consumer_that_never_started(
    container_factory, suite_config, chaos_report, deployed_topology
):
    number = scale(100, 1000)
    subscriptions = start(container_factory, SubscriptionsService, suite_config)
    event_ids = write_through_outbox(subscriptions, SUBSCRIPTION_CHANGED,
                                     [change_data() for _ in range(number)])
    wait_until(lambda: pending(subscriptions) == 0, timeout=60, what="the relay")
    waiting = messages_in(suite_config, billing_queue())

    billing = container_factory(BillingService, suite_config)
    deliveries = Deliveries(event_ids)
    with entrypoint_waiter(billing, HANDLER, callback=deliveries, timeout=60):
        billing.start()
    applied = count(billing, SubscriptionChange.__table__,
                    SubscriptionChange.event_id.in_([uuid.UUID(e) for e in event_ids]))
    lost, duplicated = number - applied, deliveries.redelivered()
    chaos_report.row("3", "event published before its consumer ever started",
                     sent=f"{number} subscription.changed through subscriptions' outbox",
                     found=f"{applied} applied by billing at its first start",
                     lost=lost, duplicated=duplicated, waiting_in_queue=waiting)
    assert waiting >= number
    assert (lost, duplicated) == (0, 0)


@pytest.mark.broker
def test_an_event_nobody_subscribes_to_is_kept_not_dropped(
    container_factory, suite_config, chaos_report, monkeypatch, deployed_topology
):
    monkeypatch.setitem(events.EVENT_TYPES, UNHEARD.name, UNHEARD)
    subscriptions = start(container_factory, SubscriptionsService, suite_config)
    wait_until(lambda: pending(subscriptions) == 0, timeout=30, what="the seed's events")
    kept_before = messages_in(suite_config, UNROUTED_QUEUE)
    write_through_outbox(subscriptions, UNHEARD, [{"commune": LAVERUNE}])
    wait_until(lambda: pending(subscriptions) == 0, timeout=30, what="the relay")
    kept = messages_in(suite_config, UNROUTED_QUEUE) - kept_before
    chaos_report.row("3b", "event of a type no one subscribes to", sent="1 commune.surveyed",
                     found=f"{kept} kept in {UNROUTED_QUEUE}", lost=1 - kept,
                     duplicated=max(kept - 1, 0))
    assert kept == 1


# -- row 6: the same event twice, a newer producer, a poison event ------------------------------


@pytest.fixture
def billing(container_factory, suite_config):
    return start(container_factory, BillingService, suite_config)


@pytest.mark.broker
def test_an_event_delivered_twice_takes_effect_once(billing, suite_config, chaos_report):
    number = scale(20, 200)
    bodies = subscription_changes(number)
    dispatch = event_dispatcher(suite_config)
    deliveries = Deliveries([b["event_id"] for b in bodies], times=2)
    with entrypoint_waiter(billing, HANDLER, callback=deliveries, timeout=60):
        for body in bodies:
            dispatch("subscriptions", SUBSCRIPTION_CHANGED.name, body)
            dispatch("subscriptions", SUBSCRIPTION_CHANGED.name, body)
    applied = count(billing, SubscriptionChange.__table__)
    claimed = count(billing, processed_events, processed_events.c.consumer == CONSUMER)
    chaos_report.row("6a", "the same event delivered twice",
                     sent=f"{number} subscription.changed, each published twice",
                     found=f"{len(deliveries.seen)} deliveries, {applied} changes recorded",
                     lost=number - applied, duplicated=max(applied, claimed) - number)
    assert len(deliveries.seen) == 2 * number
    assert (applied, claimed) == (number, number)


@pytest.mark.broker
def test_an_event_with_fields_a_newer_producer_added_is_applied(billing, suite_config,
                                                                chaos_report):
    number = scale(10, 100)
    bodies = subscription_changes(number)
    for body in bodies:
        body["schema_hint"] = "v2"  # a new envelope field
        body["data"]["reason"] = "Délibération du conseil municipal"  # a new payload field
    dispatch = event_dispatcher(suite_config)
    deliveries = Deliveries([b["event_id"] for b in bodies])
    with entrypoint_waiter(billing, HANDLER, callback=deliveries, timeout=60):
        for body in bodies:
            dispatch("subscriptions", SUBSCRIPTION_CHANGED.name, body)
    applied = count(billing, SubscriptionChange.__table__)
    letters = count(billing, dead_letters)
    chaos_report.row("6b", "event with fields a newer producer added",
                     sent=f"{number} subscription.changed with an unknown envelope and data field",
                     found=f"{applied} applied, {letters} dead letters",
                     lost=number - applied, duplicated=deliveries.redelivered())
    assert (applied, letters, deliveries.redelivered()) == (number, 0, 0)


@pytest.mark.broker
@pytest.mark.postgres
def test_a_poison_event_is_kept_in_dead_letters_and_visible(
    postgres_database, container_factory, suite_config, chaos_report  # noqa: F811
):
    billing = start(container_factory, BillingService, suite_config,
                    DATABASE_URLS={"billing": postgres_database()})
    # A SIRET the contract lets through but billing's column refuses (14 characters at most):
    # no later delivery will fit it in.
    poison = make_envelope(COMMUNE_UPDATED, {"commune": LAVERUNE, "siret": "213401342000180000"},
                           OCCURRED_AT, LAVERUNE)
    deliveries = Deliveries(total=1)
    with entrypoint_waiter(billing, "on_commune_updated", callback=deliveries, timeout=30):
        event_dispatcher(suite_config)("subscriptions", COMMUNE_UPDATED.name, poison)
    eventlet.sleep(0.5)  # a second delivery, if any, would come now
    kept = [letter for letter in dead_letters_listed(suite_config)
            if letter["event_id"] == poison["event_id"]]
    billing.stop()  # an unacknowledged event would go back to its queue now
    left = messages_in(suite_config, billing_queue(COMMUNE_UPDATED, "on_commune_updated"))
    chaos_report.row("6", "poison event (a value billing's database refuses)",
                     sent="1 commune.updated with an 18-character SIRET",
                     found=f"{len(kept)} dead letter, listed by billing's dead_letters RPC",
                     lost=1 - len(kept), duplicated=max(len(kept) - 1, 0),
                     deliveries=len(deliveries.seen), left_in_queue=left)
    assert len(kept) == 1 and kept[0]["error"].startswith("DataError")
    assert (len(deliveries.seen), left) == (1, 0)


# -- row 7: a passing failure that never passes ------------------------------------------------


@pytest.mark.broker
def test_an_event_that_always_asks_for_redelivery_is_dead_lettered_after_a_bound(
    container_factory, suite_config, chaos_report, monkeypatch
):
    monkeypatch.setattr(inbox, "REDELIVERY_DELAY", 0.01)
    monkeypatch.setattr(inbox, "MAX_REDELIVERY_DELAY", 0.02)

    def never_ready(session, event_id, data, occurred_at):
        raise inbox.Redeliver("the register is being rebuilt")

    monkeypatch.setattr(ledger, "record_subscription_change", never_ready)
    billing = start(container_factory, BillingService, suite_config)
    (poison,) = subscription_changes(1)
    deliveries = Deliveries(total=inbox.MAX_DELIVERIES)
    with entrypoint_waiter(billing, HANDLER, callback=deliveries, timeout=60):
        event_dispatcher(suite_config)("subscriptions", SUBSCRIPTION_CHANGED.name, poison)
    eventlet.sleep(1.0)  # a delivery past the bound would come now
    (letter,) = [letter for letter in dead_letters_listed(suite_config)
                 if letter["event_id"] == poison["event_id"]]
    billing.stop()
    left = messages_in(suite_config, billing_queue())
    chaos_report.row("7", "handler asking for redelivery forever",
                     sent="1 subscription.changed whose handler always raises Redeliver",
                     found=f"dead-lettered after {len(deliveries.seen)} deliveries",
                     lost=0 if letter else 1, duplicated=0,
                     deliveries_before_dead_letter=len(deliveries.seen), left_in_queue=left)
    assert deliveries.outcomes() == [inbox.Redeliver] * (inbox.MAX_DELIVERIES - 1) + [None]
    assert letter["error"].startswith(f"gave up after {inbox.MAX_DELIVERIES} deliveries")
    assert left == 0


# -- row 8: a callee slower than the gateway's deadline -----------------------------------------


DEADLINE = 1.0
SLOW_FOR = 3.0


class SlowBillingService:
    """Answers Annex 1 after longer than the gateway waits, and a commune's extras at once."""

    name = "billing"
    answered = []

    @rpc
    def shares(self, year):
        eventlet.sleep(SLOW_FOR)
        self.answered.append(year)
        return {}

    @rpc
    def extras(self, insee, year=None):
        return []


@pytest.mark.broker
def test_a_slow_callee_answers_within_the_deadline_and_frees_the_gateway(
    container_factory, suite_config, fake_services, signing_key, chaos_report,  # noqa: F811
    web_config_port
):
    SlowBillingService.answered = []
    gateway_workers = 4
    slow = start(container_factory, SlowBillingService, suite_config)
    gateway = start_gateway_before_billing(container_factory, suite_config, fake_services,
                                           RPC_TIMEOUT=DEADLINE, max_workers=gateway_workers)
    base = f"http://127.0.0.1:{web_config_port}"
    headers = bearer(signing_key.token(ADMIN_ID, METROPOLE_ADMIN))
    concurrent = 2 * gateway_workers

    def slow_request(_):
        started = time.monotonic()
        answer = requests.get(f"{base}/api/v1/billing/shares", params={"year": 2022},
                              headers=headers, timeout=30)
        return answer.status_code, answer.headers.get("Content-Type"), time.monotonic() - started

    answers = list(GreenPool(concurrent).imap(slow_request, range(concurrent)))
    started = time.monotonic()
    fast = requests.get(f"{base}/api/v1/communes/{LAVERUNE}/billing/extras", headers=headers,
                        timeout=10)
    fast_seconds = time.monotonic() - started
    wait_until(lambda: len(SlowBillingService.answered) == concurrent, timeout=30,
               what="the late replies")
    eventlet.sleep(0.2)
    stuck = len(gateway._worker_threads)
    waiting_replies = sum(len(getattr(p, "_reply_events", {})) for p in _reply_listeners(gateway))
    statuses = sorted({status for status, _, _ in answers})
    seconds = [elapsed for _, _, elapsed in answers]
    chaos_report.row("8", "callee slower than the gateway's deadline",
                     sent=f"{concurrent} requests at once to a {SLOW_FOR:g} s RPC, deadline "
                          f"{DEADLINE:g} s, {gateway_workers} gateway workers",
                     found=f"answered {statuses}, then a fast route {fast.status_code}",
                     lost=0, duplicated=0, gateway_p99_s=round(percentile(seconds, 0.99), 2),
                     fast_route_ms=ms(fast_seconds), stuck_workers=stuck,
                     late_replies_waited_for=waiting_replies)
    assert set(statuses) <= {503, 504} and len(statuses) == 1
    assert all(kind == "application/problem+json" for _, kind, _ in answers)
    # Requests beyond the gateway's workers wait for one, a deadline each round.
    rounds = -(-concurrent // gateway_workers)
    assert max(seconds) < rounds * DEADLINE + 1.5
    assert fast.status_code == 200 and fast_seconds < 1.0
    assert (stuck, waiting_replies) == (0, 0)
    slow.stop()


def start_gateway_before_billing(container_factory, config, fakes, **overrides):
    """The real gateway calling the real billing service; every other service a fake."""
    gateway = container_factory(GatewayService, {**config, **overrides})
    replace_dependencies(gateway, **{name: fake for name, fake in fakes.items()
                                     if name != "billing"})
    gateway.start()
    return gateway


def _reply_listeners(container):
    return [e for e in container.subextensions if isinstance(e, ReplyListener)]


# -- row 9: latency between a service and the broker --------------------------------------------


@pytest.mark.broker
def test_rpcs_still_succeed_with_latency_to_the_broker(
    container_factory, suite_config, chaos_report
):
    calls = scale(15, 100)
    broker = urlparse(suite_config["AMQP_URI"])
    with TcpProxy((broker.hostname, broker.port or 5672)) as proxy:
        through_proxy = suite_config["AMQP_URI"].replace(
            broker.netloc, f"{broker.username}:{broker.password}@{proxy.address}")
        billing = start(container_factory, BillingService, suite_config, AMQP_URI=through_proxy)
        timings = {}
        failures = 0
        with ServiceRpcProxy("billing", suite_config, timeout=10) as billing_rpc:
            for latency, jitter in ((0.0, 0.0), (0.1, 0.025), (0.2, 0.05)):
                proxy.latency, proxy.jitter = latency, jitter
                billing_rpc.health()  # connections already open carry the latency too
                timings[latency] = []
                for _ in range(calls):
                    started = time.monotonic()
                    try:
                        billing_rpc.health()
                    except Exception:
                        failures += 1
                    timings[latency].append(time.monotonic() - started)
        # Stopped while its link to the broker still works: its last replies and acks go out.
        proxy.latency = proxy.jitter = 0.0
        billing.stop()
    p50 = {latency: statistics.median(values) for latency, values in timings.items()}
    p99 = {latency: percentile(values, 0.99) for latency, values in timings.items()}
    # Each call crosses the slowed link twice: the request to billing, its reply back.
    growth = (p50[0.2] - p50[0.0]) / (p50[0.1] - p50[0.0])
    chaos_report.row("9", "latency between billing and the broker",
                     sent=f"{calls} RPCs at each of 0, 100±25, 200±50 ms one way",
                     found=f"{3 * calls - failures} answered", lost=failures, duplicated=0,
                     p50_ms="/".join(str(ms(p50[k])) for k in sorted(p50)),
                     p99_ms="/".join(str(ms(p99[k])) for k in sorted(p99)),
                     growth_200_vs_100=round(growth, 2))
    assert failures == 0
    assert 2 * 0.2 * 0.8 < p50[0.2] - p50[0.0] < 2 * 0.2 * 1.5
    assert 1.5 < growth < 2.6


# -- row 12: billing's database connection killed in its transaction ---------------------------


@pytest.fixture
def server():
    engine = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.mark.broker
@pytest.mark.postgres
def test_a_connection_killed_mid_transaction_rolls_back_and_the_event_applies_once(
    postgres_database, server, container_factory, suite_config, chaos_report,  # noqa: F811
    monkeypatch
):
    number = scale(10, 100)
    record = ledger.record_subscription_change
    killed = set()

    def record_then_lose_the_connection(session, event_id, data, occurred_at):
        record(session, event_id, data, occurred_at)
        session.flush()  # the change and the inbox claim are written, not committed
        if event_id not in killed:
            killed.add(event_id)
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with server.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    monkeypatch.setattr(ledger, "record_subscription_change", record_then_lose_the_connection)
    billing = start(container_factory, BillingService, suite_config,
                    DATABASE_URLS={"billing": postgres_database()})
    bodies = subscription_changes(number)
    deliveries = Deliveries([b["event_id"] for b in bodies], times=2)
    dispatch = event_dispatcher(suite_config)
    with entrypoint_waiter(billing, HANDLER, callback=deliveries, timeout=60):
        for body in bodies:
            dispatch("subscriptions", SUBSCRIPTION_CHANGED.name, body)
    applied, claimed, half_written = changes_and_claims(billing)
    chaos_report.row("12", "billing's PostgreSQL connection killed mid-transaction",
                     sent=f"{number} subscription.changed, each first delivery's backend "
                          "terminated after its writes",
                     found=f"{applied} applied once after redelivery",
                     lost=number - applied, duplicated=max(applied, claimed) - number,
                     half_written_rows=half_written, deliveries=len(deliveries.seen))
    assert len(killed) == number
    assert sorted(map(_name, deliveries.outcomes())) == sorted(
        ["Redeliver"] * number + ["None"] * number)
    assert (applied, claimed, half_written) == (number, number, 0)
    assert count(billing, dead_letters) == 0


def _name(outcome):
    return outcome.__name__ if isinstance(outcome, type) else str(outcome)


def changes_and_claims(billing):
    """Changes recorded, inbox claims, and rows of one without the other."""
    changes = SubscriptionChange.__table__
    with access_of(billing).transaction() as session:
        change_ids = set(session.scalars(select(changes.c.event_id)))
        claim_ids = set(session.scalars(
            select(processed_events.c.event_id).where(processed_events.c.consumer == CONSUMER)))
    return len(change_ids), len(claim_ids), len(change_ids ^ claim_ids)


@pytest.mark.broker
@pytest.mark.postgres
def test_a_database_away_for_seconds_gives_clear_errors_then_every_event_applies_once(
    postgres_database, container_factory, suite_config, chaos_report,  # noqa: F811
    fake_services, signing_key, web_config_port  # noqa: F811
):
    number = scale(10, 100)
    outage = scale(3, 20)
    url = make_url(postgres_database())
    start_gateway_before_billing(container_factory, suite_config, fake_services)
    shares = f"http://127.0.0.1:{web_config_port}/api/v1/billing/shares?year=2022"
    headers = bearer(signing_key.token(ADMIN_ID, METROPOLE_ADMIN))
    with TcpProxy((url.host, url.port or 5432)) as proxy:
        through_proxy = url.set(host="127.0.0.1", port=proxy.port)
        billing = start(container_factory, BillingService, suite_config,
                        DATABASE_URLS={"billing": through_proxy.render_as_string(False)})
        bodies = subscription_changes(number)
        deliveries = Deliveries([b["event_id"] for b in bodies], applied=True)
        with ServiceRpcProxy("billing", suite_config, timeout=10) as billing_rpc:
            billing_rpc.health()
            proxy.cut()
            cut_at = time.monotonic()
            with pytest.raises(ServiceUnavailable) as rpc_error:
                billing_rpc.health()
            during = requests.get(shares, headers=headers, timeout=10)
            with entrypoint_waiter(billing, HANDLER, callback=deliveries,
                                   timeout=outage + 60):
                dispatch = event_dispatcher(suite_config)
                for body in bodies:
                    dispatch("subscriptions", SUBSCRIPTION_CHANGED.name, body)
                eventlet.sleep(max(outage - (time.monotonic() - cut_at), 0))
                proxy.restore()
                restored_at = time.monotonic()
            recovered_s = time.monotonic() - restored_at
            after = billing_rpc.health()
            after_gateway = requests.get(shares, headers=headers, timeout=10)
        applied, claimed, half_written = changes_and_claims(billing)
        letters = count(billing, dead_letters)
        billing.stop()  # while its database is still reachable
    failed = [outcome for outcome in deliveries.outcomes() if outcome is not None]
    chaos_report.row("12b", "billing's PostgreSQL unreachable for seconds",
                     sent=f"{number} subscription.changed during a {outage} s outage",
                     found=f"RPC {type(rpc_error.value).__name__}, gateway {during.status_code} "
                           f"problem; {applied} applied once after",
                     lost=number - applied, duplicated=max(applied, claimed) - number,
                     failed_deliveries=len(failed), recovery_s=round(recovered_s, 2),
                     half_written_rows=half_written)
    assert (during.status_code, during.headers["Content-Type"]) == (
        503, "application/problem+json")
    assert "database" in during.json()["detail"]
    assert after["database"] == "ok" and after_gateway.status_code == 404  # no convention yet
    assert set(map(_name, failed)) <= {"Redeliver"}
    assert (applied, claimed, half_written, letters) == (number, number, 0, 0)


# -- row 13: Chorus Pro fails, then times out, then answers ------------------------------------


@pytest.mark.broker
def test_chorus_pro_failing_then_silent_still_gets_exactly_one_invoice(
    container_factory, suite_config, chorus_sandbox, chaos_report
):
    billing = start(container_factory, BillingService, suite_config,
                    **chorus_sandbox.billing_config(CHORUS_ATTEMPTS=1),
                    BILLING_ROUND_SECONDS=3600)
    clock = sibling(billing, ClockProvider).clock
    clock.set(datetime.now(UTC))
    dispatch = event_dispatcher(suite_config)
    setup = [
        (events.CONVENTION_REGISTERED, convention_registered()),
        *[(events.POPULATION_UPDATED, {"commune": insee, "vintage": 2023,
                                       "population": population})
          for insee, population in populations().items()],
        (SUBSCRIPTION_CHANGED, {**change_data(application="eadmin"),
                                "effective_from": date(2022, 1, 1)}),
        (COMMUNE_UPDATED, {"commune": LAVERUNE, "siret": LAVERUNE_SIRET}),
    ]
    for event_type, data in setup:
        handler = HANDLERS[event_type.name]
        with entrypoint_waiter(billing, handler, timeout=10):
            dispatch(event_type.producer, event_type.name,
                     make_envelope(event_type, data, OCCURRED_AT, data.get("commune")))
    with ServiceRpcProxy("billing", suite_config, timeout=10) as billing_rpc:
        (title,) = billing_rpc.issue_titles(2022, None, ADMIN_ID)["issued"]
        billing_rpc.deposit_titles(2022)
        number = title["number"]

        def round_then_state():
            with entrypoint_hook(billing, "advance_titles") as advance:
                advance()
            clock.advance(minutes=30)  # past the backoff of a failed deposit
            return billing_rpc.title(LAVERUNE, number)["state"], len(chorus_sandbox.invoices())

        chorus_sandbox.fail("deposer/flux", "500")
        after_500 = round_then_state()
        # Chorus Pro stores this one but never answers: only a search can tell.
        chorus_sandbox.fail("deposer/flux", "timeout", after_store=True)
        after_timeout = round_then_state()
        after_success = round_then_state()
        again = round_then_state()
        life = billing_rpc.title(LAVERUNE, number)
    invoices = [i for i in chorus_sandbox.invoices() if i["numeroFacture"] == number]
    deposits = sum(i["deposits"] for i in invoices)
    chaos_report.row("13", "Chorus Pro answers 500, then times out, then succeeds",
                     sent=f"title {number} deposited by billing's rounds",
                     found=f"state {after_500[0]} → {after_timeout[0]} → {after_success[0]}, "
                           f"{len(invoices)} invoice on Chorus Pro",
                     lost=1 - len(invoices), duplicated=max(deposits - 1, 0),
                     deposit_attempts=len([x for x in life["exchanges"]
                                           if x["operation"] == "deposer/flux"]))
    assert after_500 == ("issued", 0)
    assert after_timeout[0] == "issued"  # stored on Chorus Pro, unconfirmed: not yet deposited
    assert after_success == ("deposited", 1) and again == ("deposited", 1)
    assert (len(invoices), deposits) == (1, 1)
    assert chorus_sandbox.state()["duplicates"] == {}
    with access_of(billing).transaction() as session:
        assert session.get(Document, number).state == "deposited"


HANDLERS = {
    events.CONVENTION_REGISTERED.name: "on_convention_registered",
    events.POPULATION_UPDATED.name: "on_population_updated",
    SUBSCRIPTION_CHANGED.name: HANDLER,
    COMMUNE_UPDATED.name: "on_commune_updated",
}


# -- row 24: a backlog published while its consumer is stopped ---------------------------------


@pytest.mark.broker
@pytest.mark.timeout(scale(120, 900))
def test_a_backlog_published_while_its_consumer_is_stopped_is_confirmed_and_kept(
    container_factory, suite_config, chaos_report
):
    number = scale(1000, 10000)
    start(container_factory, BillingService, suite_config).stop()  # its queue exists, idle
    subscriptions = start(container_factory, SubscriptionsService, suite_config)
    wait_until(lambda: pending(subscriptions) == 0, timeout=30, what="the seed's events")
    publisher = sibling(subscriptions, Outbox).relay.events.publisher
    confirms = []
    publish = publisher.publish

    def timed_publish(*args, **kwargs):
        started = time.monotonic()
        publish(*args, **kwargs)  # returns once the broker confirmed it
        confirms.append(time.monotonic() - started)

    publisher.publish = timed_publish
    written_at = time.monotonic()
    event_ids = write_through_outbox(subscriptions, SUBSCRIPTION_CHANGED,
                                     [change_data() for _ in range(number)])
    wait_until(lambda: pending(subscriptions) == 0, timeout=scale(60, 600), what="the relay")
    relay_seconds = time.monotonic() - written_at
    backlog = messages_in(suite_config, billing_queue())

    billing = container_factory(BillingService, suite_config)
    deliveries = Deliveries(event_ids)
    with entrypoint_waiter(billing, HANDLER, callback=deliveries, timeout=scale(90, 800)):
        billing.start()
    applied = count(billing, SubscriptionChange.__table__)
    chaos_report.row("24", "backlog while the consumer is stopped",
                     sent=f"{number} subscription.changed through subscriptions' outbox relay",
                     found=f"{len(confirms)} publishes confirmed, {applied} applied after",
                     lost=number - applied, duplicated=deliveries.redelivered(),
                     relay_msg_per_s=round(number / relay_seconds),
                     confirm_p50_ms=ms(statistics.median(confirms)),
                     confirm_p99_ms=ms(percentile(confirms, 0.99)), backlog=backlog)
    assert len(confirms) == number and backlog >= number
    assert (applied, deliveries.redelivered()) == (number, 0)

