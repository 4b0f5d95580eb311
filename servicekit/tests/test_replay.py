"""Replaying a dead letter through the real broker: the event goes back to the handler that gave
up on it and to no other subscriber, takes effect once, and its letter goes."""

import dataclasses
from datetime import UTC, datetime

import pytest
from kombu import Connection
from nameko.standalone.events import event_dispatcher, get_event_exchange
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import func, insert, select

from contracts import events
from contracts.errors import Conflict, NotFound, ServiceUnavailable
from contracts.events import Subscriber
from servicekit.database import Database
from servicekit.inbox import event_handler, idempotent
from servicekit.outbox import make_envelope
from servicekit.providers import sibling
from servicekit.replay import replay_dead_letter, subscriber_of
from servicekit.service import CommunsService
from servicekit.tables import dead_letters, processed_events
from servicekit.tests.support import (
    CONSUMER,
    PARCEL_REGISTERED,
    PRODUCER,
    DatabaseWithBusinessTables,
    closed_port,
    parcel,
    parcel_notices,
)
from servicekit.topology import declare_subscriber_queues

HANDLER = f"{CONSUMER.service}.{CONSUMER.method}"
# Another subscriber of the same event, which handled it: a replay must not reach it.
ARCHIVE = Subscriber("archive", "on_parcel_registered")
PARCEL_REGISTERED_TWICE = dataclasses.replace(PARCEL_REGISTERED,
                                              subscribers=(CONSUMER, ARCHIVE))


def urbanism_service(failures):
    """The consumer; its handler raises each of ``failures`` in turn, then applies the event."""

    class UrbanismService(CommunsService):
        name = CONSUMER.service
        db = DatabaseWithBusinessTables()

        @event_handler(PRODUCER, PARCEL_REGISTERED.name)
        @idempotent
        def on_parcel_registered(self, session, event):
            if failures:
                raise failures.pop(0)
            session.execute(insert(parcel_notices).values(parcel_id=event.data["parcel_id"]))
            return "applied"

    return UrbanismService


@pytest.fixture
def topology(monkeypatch):
    monkeypatch.setitem(events.EVENT_TYPES, PARCEL_REGISTERED.name, PARCEL_REGISTERED_TWICE)


def envelope():
    return make_envelope(PARCEL_REGISTERED, parcel(), datetime(2024, 3, 4, 10, 30, tzinfo=UTC),
                         "34134", correlation_id="req-1")


def count(container, table):
    with sibling(container, Database).access.transaction() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def waiting_in(config, subscriber):
    with Connection(config["AMQP_URI"]) as connection:
        queue = PARCEL_REGISTERED.queue_name(subscriber)
        return connection.default_channel.queue_declare(queue, passive=True).message_count


def declare_archive_queue(config):
    exchange = get_event_exchange(PRODUCER, config)
    with Connection(config["AMQP_URI"]) as connection:
        channel = connection.default_channel
        exchange(channel).declare()
        declare_subscriber_queues(channel, PARCEL_REGISTERED_TWICE, (ARCHIVE,), exchange)


@pytest.fixture
def buried(container_factory, suite_config, topology):
    """A running urbanism service and the id of the dead letter its handler left, failing the
    first time; archive's queue holds the event's one delivery, untouched."""
    declare_archive_queue(suite_config)
    urbanism = container_factory(urbanism_service([ValueError("zoning unknown")]), suite_config)
    urbanism.start()
    event = envelope()
    with entrypoint_waiter(urbanism, CONSUMER.method) as delivered:
        event_dispatcher(suite_config)(PRODUCER, PARCEL_REGISTERED.name, event)
    assert delivered.get() is None
    with sibling(urbanism, Database).access.transaction() as session:
        (letter_id,) = session.execute(select(dead_letters.c.id)).scalars().all()
    assert count(urbanism, parcel_notices) == count(urbanism, processed_events) == 0
    assert waiting_in(suite_config, ARCHIVE) == 1
    return urbanism, letter_id, event


@pytest.mark.broker
def test_a_replayed_dead_letter_reaches_its_handler_alone_and_takes_effect_once(
        buried, suite_config):
    urbanism, letter_id, event = buried
    with ServiceRpcProxy(CONSUMER.service, suite_config, timeout=10) as service:
        with entrypoint_waiter(urbanism, CONSUMER.method) as delivered:
            answer = service.replay_dead_letter(letter_id)
        assert delivered.get() == "applied"
        assert answer == {"dead_letter_id": letter_id, "event_id": event["event_id"],
                          "consumer": HANDLER}
        assert count(urbanism, parcel_notices) == count(urbanism, processed_events) == 1
        assert count(urbanism, dead_letters) == 0
        assert waiting_in(suite_config, ARCHIVE) == 1
        # Its letter is gone: a second replay finds nothing to deliver twice.
        for unknown in (letter_id, letter_id + 1000):
            with pytest.raises(NotFound):
                service.replay_dead_letter(unknown)
    urbanism.stop()
    assert waiting_in(suite_config, CONSUMER) == 0


@pytest.mark.broker
def test_a_dead_letter_the_broker_did_not_take_back_is_kept(buried):
    urbanism, letter_id, _ = buried
    away = f"amqp://guest:guest@127.0.0.1:{closed_port()}/"
    with pytest.raises(ServiceUnavailable):
        replay_dead_letter(sibling(urbanism, Database).access, away, letter_id)
    assert count(urbanism, dead_letters) == 1


@pytest.mark.parametrize("consumer, body, refused", [
    (HANDLER, {"type": PARCEL_REGISTERED.name}, None),
    ("urbanism.on_parcel_retired", {"type": PARCEL_REGISTERED.name}, "urbanism.on_parcel_retired"),
    (HANDLER, {"type": "parcel.unknown"}, "holds no event"),
    (HANDLER, {"event_id": "no type"}, "holds no event"),
    (HANDLER, ["not", "a", "mapping"], "holds no event"),
], ids=["its subscriber", "a consumer gone", "an unknown type", "no type", "no mapping"])
def test_a_dead_letter_is_replayed_to_the_subscriber_its_consumer_names(
        topology, consumer, body, refused):
    if refused is None:
        assert subscriber_of(consumer, body) == (PARCEL_REGISTERED_TWICE, CONSUMER)
        return
    with pytest.raises(Conflict, match=refused):
        subscriber_of(consumer, body)
