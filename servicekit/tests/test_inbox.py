"""Idempotent event handlers through the real broker: a redelivered event changes nothing, an
unreadable one is kept for an operator, a passing failure gets the event delivered again."""

import uuid
from datetime import UTC, datetime

import pytest
from kombu import Connection
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from servicekit import inbox
from servicekit.database import Database, make_engine
from servicekit.inbox import Redeliver, event_handler, idempotent
from servicekit.logging import LoggingContext
from servicekit.outbox import make_envelope
from servicekit.providers import sibling
from servicekit.tables import dead_letters, processed_events
from servicekit.tests.support import (
    CONSUMER,
    PARCEL_REGISTERED,
    PRODUCER,
    DatabaseWithBusinessTables,
    parcel,
    parcel_notices,
)

pytestmark = [pytest.mark.broker, pytest.mark.usefixtures("parcel_topology")]

HANDLER = f"{CONSUMER.service}.{CONSUMER.method}"  # how the inbox names this consumer


def urbanism_service(before_commit=None):
    """The consumer; ``before_commit(event)`` runs in its transaction, after its effect."""

    class UrbanismService:
        name = CONSUMER.service
        db = DatabaseWithBusinessTables()
        log_context = LoggingContext()

        @event_handler(PRODUCER, PARCEL_REGISTERED.name)
        @idempotent
        def on_parcel_registered(self, session, event):
            session.execute(insert(parcel_notices).values(parcel_id=event.data["parcel_id"]))
            if before_commit:
                before_commit(event)
            return "applied"

    assert CONSUMER.method == UrbanismService.on_parcel_registered.__name__
    return UrbanismService


@pytest.fixture
def start_urbanism(container_factory, suite_config):
    def start(before_commit=None, **overrides):
        service = urbanism_service(before_commit)
        container = container_factory(service, {**suite_config, **overrides})
        container.start()
        return container

    return start


@pytest.fixture
def dispatch(suite_config):
    send = event_dispatcher(suite_config)
    return lambda body: send(PRODUCER, PARCEL_REGISTERED.name, body)


def envelope(data=None):
    return make_envelope(
        PARCEL_REGISTERED, data or parcel(), datetime(2024, 3, 4, 10, 30, tzinfo=UTC), "34134"
    )


class Outcomes(list):
    """What each delivery of a handler ended with (its result, or its exception's class); an
    ``entrypoint_waiter`` callback that stops after ``deliveries`` of them."""

    def __init__(self, deliveries):
        super().__init__()
        self.deliveries = deliveries

    def __call__(self, worker_ctx, result, exc_info):
        self.append(exc_info[0] if exc_info else result)
        return len(self) == self.deliveries


def rows(container, table):
    with sibling(container, Database).access.transaction() as session:
        return session.execute(select(table)).all()


def count(container, table):
    with sibling(container, Database).access.transaction() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def messages_left(suite_config):
    """Messages still in the consumer's queue, once its container has let go of them."""
    with Connection(suite_config["AMQP_URI"]) as connection:
        queue = PARCEL_REGISTERED.queue_name(CONSUMER)
        return connection.default_channel.queue_declare(queue, passive=True).message_count


def test_an_event_delivered_twice_takes_effect_once(start_urbanism, dispatch, database_urls):
    urbanism = start_urbanism(DATABASE_URLS=database_urls(CONSUMER.service))
    event = envelope()
    outcomes = Outcomes(deliveries=2)
    with entrypoint_waiter(urbanism, CONSUMER.method, callback=outcomes):
        dispatch(event)
        dispatch(event)
    assert outcomes == ["applied", None]
    (notice,) = rows(urbanism, parcel_notices)
    assert str(notice.parcel_id) == event["data"]["parcel_id"]
    (processed,) = rows(urbanism, processed_events)
    assert (str(processed.event_id), processed.consumer) == (event["event_id"], HANDLER)


def test_fields_added_by_a_newer_producer_are_ignored(start_urbanism, dispatch):
    urbanism = start_urbanism()
    newer = envelope()
    newer["priority"] = "high"
    newer["data"]["cadastral_section"] = "AB"
    with entrypoint_waiter(urbanism, CONSUMER.method) as delivered:
        dispatch(newer)
    assert delivered.get() == "applied"
    assert count(urbanism, dead_letters) == 0


# What makes each event unreadable, and the field its dead letter names.
UNREADABLE = [
    ({"event_id": "not-a-uuid"}, "event_id"),
    ({"occurred_at": "2024-03-04T10:30:00"}, "occurred_at"),  # naive
    ({"data": {"parcel_id": str(uuid.uuid4())}}, "area_m2"),
    ({"type": "parcel.unknown"}, "type"),
]


def test_unreadable_events_are_kept_in_dead_letters_and_taken_off_the_queue(
    start_urbanism, dispatch, suite_config
):
    urbanism = start_urbanism()
    bodies = [{**envelope(), **unreadable} for unreadable, _ in UNREADABLE]
    outcomes = Outcomes(deliveries=len(bodies))
    with entrypoint_waiter(urbanism, CONSUMER.method, callback=outcomes):
        for body in bodies:
            dispatch(body)
    assert outcomes == [None] * len(bodies)
    letters = sorted(rows(urbanism, dead_letters), key=lambda letter: letter.id)
    assert [(letter.consumer, letter.body) for letter in letters] == [
        (HANDLER, body) for body in bodies
    ]
    for letter, (_, wrong_field) in zip(letters, UNREADABLE, strict=True):
        assert letter.error.startswith("unreadable event") and wrong_field in letter.error
    assert count(urbanism, parcel_notices) == count(urbanism, processed_events) == 0
    urbanism.stop()  # an unacknowledged message would go back to the queue now
    assert messages_left(suite_config) == 0


def test_a_failing_handler_changes_nothing_and_leaves_the_event_in_dead_letters(
    start_urbanism, dispatch, suite_config
):
    def bug(event):
        raise KeyError("zoning")

    urbanism = start_urbanism(before_commit=bug)
    event = envelope()
    with entrypoint_waiter(urbanism, CONSUMER.method) as delivered:
        dispatch(event)
    assert delivered.get() is None
    (letter,) = rows(urbanism, dead_letters)
    assert (letter.body, letter.error) == (event, "KeyError: 'zoning'")
    assert count(urbanism, parcel_notices) == count(urbanism, processed_events) == 0
    urbanism.stop()
    assert messages_left(suite_config) == 0


def test_a_constraint_the_handler_breaks_is_a_failure_not_a_duplicate(
    start_urbanism, dispatch, suite_config
):
    def broken(event):
        raise IntegrityError("INSERT INTO parcel_notices", {},
                             Exception("UNIQUE constraint failed: parcel_notices.parcel_id"))

    urbanism = start_urbanism(before_commit=broken)
    event = envelope()
    with entrypoint_waiter(urbanism, CONSUMER.method) as delivered:
        dispatch(event)
    assert delivered.get() is None
    (letter,) = rows(urbanism, dead_letters)
    assert letter.body == event and letter.error.startswith("IntegrityError")
    assert count(urbanism, parcel_notices) == count(urbanism, processed_events) == 0
    urbanism.stop()
    assert messages_left(suite_config) == 0


@pytest.mark.postgres
def test_a_dead_letter_and_the_log_leave_out_the_value_postgresql_refused(
    start_urbanism, dispatch, suite_config, postgres_database, configured_logging
):
    url = postgres_database()
    engine = make_engine(url)

    def refused(event):
        # PostgreSQL quotes, in its error, the value it cannot read as a number.
        with engine.connect() as connection:
            connection.execute(text("SELECT CAST(:area AS integer)"), {"area": "ada@example.org"})

    logs = configured_logging()
    urbanism = start_urbanism(before_commit=refused, DATABASE_URLS={CONSUMER.service: url})
    with entrypoint_waiter(urbanism, CONSUMER.method) as delivered:
        dispatch(envelope())
    assert delivered.get() is None
    (letter,) = rows(urbanism, dead_letters)
    assert letter.error == ("DataError: InvalidTextRepresentation (SQLSTATE 22P02) "
                            "[SQL: SELECT CAST(%(area)s AS integer)]")
    urbanism.stop()
    engine.dispose()
    (failed,) = [line for line in logs.records() if line["event"] == "event.handler_failed"]
    assert failed["error"] == letter.error
    assert "ada@example.org" not in logs.getvalue()
    assert messages_left(suite_config) == 0


@pytest.mark.parametrize(
    "passing_failure",
    [
        Redeliver("the register is being rebuilt"),
        OperationalError("INSERT INTO parcel_notices", {}, Exception("database is locked")),
    ],
    ids=["Redeliver", "OperationalError"],
)
def test_a_passing_failure_gets_the_event_delivered_again(
    start_urbanism, dispatch, monkeypatch, passing_failure
):
    monkeypatch.setattr(inbox, "REDELIVERY_DELAY", 0.01)
    failures = [passing_failure]

    def fail_once(event):
        if failures:
            raise failures.pop()

    urbanism = start_urbanism(before_commit=fail_once)
    outcomes = Outcomes(deliveries=2)
    with entrypoint_waiter(urbanism, CONSUMER.method, callback=outcomes):
        dispatch(envelope())
    assert outcomes == [Redeliver, "applied"]
    # The failed delivery's effect was rolled back: one notice, no dead letter.
    assert count(urbanism, parcel_notices) == count(urbanism, processed_events) == 1
    assert count(urbanism, dead_letters) == 0
