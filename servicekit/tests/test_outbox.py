"""The transactional outbox: an event leaves only with the change that caused it, only if its
consumers can read it, reaches consumers that did not exist yet, and survives a broker outage
in order."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError
from nameko.events import event_handler
from nameko.testing.services import dummy, entrypoint_hook, entrypoint_waiter
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from contracts.errors import Conflict
from contracts.events import EventType
from servicekit.database import Database, make_engine, migrate
from servicekit.logging import CORRELATION_ID, LoggingContext
from servicekit.outbox import (
    FORGET_EVERY,
    PUBLISHED_RETENTION,
    Outbox,
    OutboxWriter,
    Relay,
    backoff,
)
from servicekit.providers import sibling
from servicekit.tables import outbox
from servicekit.tests.support import (
    CONSUMER,
    PARCEL_REGISTERED,
    PRODUCER,
    DatabaseWithBusinessTables,
    ParcelRegisteredSchema,
    closed_port,
    parcel,
    parcels,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("parcel_topology")

OCCURRED_AT = datetime(2024, 3, 4, 10, 30, tzinfo=UTC)
LAVERUNE = "34134"


class CadastreService:
    name = PRODUCER
    db = DatabaseWithBusinessTables()
    outbox = Outbox()
    log_context = LoggingContext()

    @dummy
    def register(self, new_parcels, refuse_after_writing=False):
        """Writes the parcels and their events in one transaction; returns the event ids."""
        with self.db.transaction() as session:
            event_ids = []
            for new_parcel in new_parcels:
                session.execute(
                    insert(parcels).values(
                        id=new_parcel["parcel_id"], area_m2=new_parcel["area_m2"]
                    )
                )
                envelope = self.outbox.add(
                    session, PARCEL_REGISTERED, new_parcel, OCCURRED_AT, commune=LAVERUNE
                )
                event_ids.append(envelope["event_id"])
            if refuse_after_writing:
                raise Conflict("The parcel overlaps another one.")
        return event_ids


class UrbanismService:
    """A consumer without a log context: what its workers know came in the message."""

    name = CONSUMER.service

    @event_handler(PRODUCER, PARCEL_REGISTERED.name)
    def on_parcel_registered(self, envelope):
        return envelope


assert CONSUMER.method == UrbanismService.on_parcel_registered.__name__


@pytest.fixture
def start_cadastre(container_factory, suite_config):
    def start(**overrides):
        container = container_factory(CadastreService, {**suite_config, **overrides})
        container.start()
        return container

    return start


@pytest.fixture
def urbanism(container_factory, suite_config):
    """The consumer, not started: each test chooses when it comes up."""
    return container_factory(UrbanismService, suite_config)


def register(cadastre, new_parcels, correlation_id=None, **options):
    context = {CORRELATION_ID: correlation_id} if correlation_id else None
    with entrypoint_hook(cadastre, "register", context_data=context) as hook:
        return hook(new_parcels, **options)


def access_of(container):
    return sibling(container, Database).access


def outbox_rows(container):
    with access_of(container).transaction() as session:
        return session.execute(select(outbox).order_by(outbox.c.created_at)).all()


def count(container, table):
    with access_of(container).transaction() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def all_published(container):
    return all(row.published_at is not None for row in outbox_rows(container))


class Deliveries(list):
    """What a consumer received, in order, as ``(correlation id of the worker, envelope)``;
    used as an ``entrypoint_waiter`` callback that stops at the event ``last``."""

    def __init__(self, last):
        super().__init__()
        self.last = last

    def __call__(self, worker_ctx, envelope, exc_info):
        self.append((worker_ctx.data.get(CORRELATION_ID), envelope))
        return envelope["event_id"] == self.last

    @property
    def event_ids(self):
        return [envelope["event_id"] for _, envelope in self]


# -- what the outbox accepts ------------------------------------------------------------------


@pytest.fixture
def session(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/cadastre.sqlite3")
    migrate(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_a_service_adds_only_the_events_it_produces(session):
    with pytest.raises(ValueError, match="parcel.registered is produced by cadastre"):
        OutboxWriter("billing", lambda: None).add(session, PARCEL_REGISTERED, parcel(), OCCURRED_AT)
    assert session.execute(select(func.count()).select_from(outbox)).scalar_one() == 0


@pytest.mark.parametrize(
    "change, wrong_field",
    [
        ({"data": {"parcel_id": "not-a-uuid", "area_m2": 120}}, "parcel_id"),
        ({"data": {"area_m2": 120}}, "parcel_id"),
        ({"occurred_at": datetime(2024, 3, 4, 10, 30)}, "occurred_at"),
        ({"commune": "75056"}, "commune"),  # Paris: not a member commune
    ],
)
def test_an_event_its_consumers_could_not_read_is_refused_before_it_is_written(
    session, change, wrong_field
):
    event = {"data": parcel(), "occurred_at": OCCURRED_AT, "commune": LAVERUNE, **change}
    writer = OutboxWriter(PRODUCER, lambda: "req-1")
    with pytest.raises(ValidationError) as refusal:
        writer.add(session, PARCEL_REGISTERED, **event)
    assert wrong_field in str(refusal.value.messages)
    assert session.execute(select(func.count()).select_from(outbox)).scalar_one() == 0


def test_the_backoff_doubles_up_to_five_minutes():
    seconds = [backoff(attempts).total_seconds() for attempts in range(1, 11)]
    assert seconds == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]


# -- through the broker -----------------------------------------------------------------------


@pytest.mark.broker
def test_an_event_committed_before_its_consumer_exists_reaches_it_once(
    start_cadastre, urbanism, database_urls
):
    cadastre = start_cadastre(DATABASE_URLS=database_urls(PRODUCER))
    registered = parcel(area_m2=1250)
    (first,) = register(cadastre, [registered], correlation_id="req-first")
    # Published while no consumer ever declared its queue: the relay declared it.
    wait_until(lambda: all_published(cadastre), what="the relay to publish")

    (second,) = register(cadastre, [parcel()], correlation_id="req-second")
    deliveries = Deliveries(last=second)
    with entrypoint_waiter(urbanism, "on_parcel_registered", callback=deliveries):
        urbanism.start()
    # Queues keep their order: a second copy of the first event would have come before.
    assert deliveries.event_ids == [first, second]

    correlation_id, envelope = deliveries[0]
    assert correlation_id == "req-first"  # from the header nameko.correlation_id
    assert envelope == {
        "event_id": first,
        "type": "parcel.registered",
        "version": 1,
        "occurred_at": OCCURRED_AT.isoformat(),
        "producer": PRODUCER,
        "commune": LAVERUNE,
        "correlation_id": "req-first",
        "data": {"parcel_id": str(registered["parcel_id"]), "area_m2": 1250},
    }
    (row, _) = outbox_rows(cadastre)
    assert (row.attempts, row.last_error) == (1, None)


@pytest.mark.broker
def test_a_rolled_back_transaction_publishes_nothing(start_cadastre, urbanism):
    cadastre = start_cadastre()
    urbanism.start()
    with pytest.raises(Conflict):
        register(cadastre, [parcel(), parcel()], refuse_after_writing=True)
    assert (count(cadastre, parcels), count(cadastre, outbox)) == (0, 0)

    with entrypoint_waiter(urbanism, "on_parcel_registered") as delivered:
        (kept,) = register(cadastre, [parcel()])
    assert delivered.get()["event_id"] == kept
    # Nothing else came before it, and nothing is left to come.
    (row,) = outbox_rows(cadastre)
    assert row.published_at is not None


def retry_at(container, moment, event_id=None):
    """Moves the next attempt of one row (or every row), as time passing would."""
    change = update(outbox).values(next_attempt_at=moment)
    if event_id is not None:
        change = change.where(outbox.c.event_id == event_id)
    with access_of(container).transaction() as session:
        session.execute(change)


@pytest.mark.broker
def test_a_broker_outage_delays_events_and_loses_none_of_them(
    start_cadastre, urbanism, suite_config, parcel_topology
):
    broker_away = {**suite_config, "AMQP_URI": f"amqp://guest:guest@127.0.0.1:{closed_port()}/"}
    # The service writes while its broker is away; only what it writes wakes the relay up.
    cadastre = start_cadastre(AMQP_URI=broker_away["AMQP_URI"], OUTBOX_POLL_INTERVAL=3600)
    written = register(cadastre, [parcel(100), parcel(200), parcel(300)], correlation_id="req-1")
    wait_until(lambda: outbox_rows(cadastre)[0].attempts == 1, what="a failed attempt")

    head, *behind = rows = outbox_rows(cadastre)
    assert [str(row.event_id) for row in rows] == written
    assert all(row.published_at is None for row in rows)
    assert "ECONNREFUSED" in head.last_error
    assert head.next_attempt_at >= head.created_at + timedelta(seconds=1)  # backed off
    # The rows behind wait for the head rather than overtake it.
    assert [(row.attempts, row.last_error) for row in behind] == [(0, None), (0, None)]

    # Each attempt gives up quickly, because it holds the service's database meanwhile.
    relay_without_broker = Relay(PRODUCER, access_of(cadastre), broker_away, parcel_topology, 1)
    retry_at(cadastre, datetime.now(UTC), head.event_id)
    started = time.monotonic()
    assert relay_without_broker.publish_pending() == 0
    assert time.monotonic() - started < 3
    assert outbox_rows(cadastre)[0].attempts == 2

    # The broker is back while the head still backs off: no event overtakes it.
    relay = Relay(PRODUCER, access_of(cadastre), suite_config, parcel_topology, poll_interval=1)
    retry_at(cadastre, datetime.now(UTC) + timedelta(hours=1), head.event_id)
    assert relay.publish_pending() == 0
    assert not any(row.published_at for row in outbox_rows(cadastre))

    # Its backoff runs out: all of them leave, in the order they were written.
    retry_at(cadastre, datetime.now(UTC))
    deliveries = Deliveries(last=written[-1])
    with entrypoint_waiter(urbanism, "on_parcel_registered", callback=deliveries):
        assert relay.publish_pending() == 3
        urbanism.start()
    assert deliveries.event_ids == written
    assert [correlation_id for correlation_id, _ in deliveries] == ["req-1"] * 3
    assert [row.attempts for row in outbox_rows(cadastre)] == [3, 1, 1]
    assert all_published(cadastre)
    assert relay.publish_pending() == 0


@pytest.mark.broker
def test_an_event_nobody_subscribes_to_is_published_all_the_same(
    start_cadastre, parcel_topology, monkeypatch
):
    unheard = EventType(PRODUCER, "parcel.surveyed", 1, ParcelRegisteredSchema)
    monkeypatch.setitem(parcel_topology, unheard.name, unheard)
    cadastre = start_cadastre()
    # Written outside any worker, as a service does at start: only the relay's poll finds it.
    writer = sibling(cadastre, Outbox).writer_outside_workers()
    with access_of(cadastre).transaction() as session:
        writer.add(session, unheard, parcel(), OCCURRED_AT)
    wait_until(lambda: all_published(cadastre), what="the relay's poll")
    (row,) = outbox_rows(cadastre)
    assert (row.event_type, row.correlation_id, row.attempts) == ("parcel.surveyed", None, 1)


@pytest.mark.broker
def test_published_events_are_forgotten_after_the_retention_looked_for_hourly(
    start_cadastre, suite_config, parcel_topology
):
    cadastre = start_cadastre()
    writer = sibling(cadastre, Outbox).writer_outside_workers()
    with access_of(cadastre).transaction() as session:
        for _ in range(3):
            writer.add(session, PARCEL_REGISTERED, parcel(), OCCURRED_AT)
    # Past the container relay's first round, which looked for old events at once.
    wait_until(lambda: all_published(cadastre), what="the relay")
    month_old, day_old, last = [row.event_id for row in outbox_rows(cadastre)]
    now = datetime.now(UTC)
    published_on(cadastre, month_old, now - PUBLISHED_RETENTION - timedelta(minutes=1))
    published_on(cadastre, day_old, now - timedelta(days=1))

    relay = Relay(PRODUCER, access_of(cadastre), suite_config, parcel_topology, poll_interval=60)
    relay.run_round()
    assert [row.event_id for row in outbox_rows(cadastre)] == [day_old, last]

    # Within the hour, a round does not look again; the next look finds it.
    published_on(cadastre, day_old, now - PUBLISHED_RETENTION - timedelta(minutes=1))
    relay.run_round()
    assert [row.event_id for row in outbox_rows(cadastre)] == [day_old, last]
    assert relay.forget_published(now + FORGET_EVERY) == 1
    assert [row.event_id for row in outbox_rows(cadastre)] == [last]


def published_on(container, event_id, moment):
    with access_of(container).transaction() as session:
        session.execute(update(outbox).where(outbox.c.event_id == event_id)
                        .values(published_at=moment))
