"""The bus topology step: every subscriber's queue exists before its service ever ran, Nameko's
own declarations agree with it, and an event no queue takes is kept in ``communs.unrouted``,
within bounds."""

import json
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from kombu import Connection
from nameko.events import event_handler
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from contracts.catalogue import SERVICES
from contracts.events import EVENT_TYPES, TITLE_ISSUED
from servicekit import topology
from servicekit.cli import main, service_class
from servicekit.outbox import make_envelope
from servicekit.tests.support import (
    CONSUMER,
    PARCEL_REGISTERED,
    PRODUCER,
    closed_port,
    parcel,
)

OCCURRED_AT = datetime(2024, 3, 4, 10, 30, tzinfo=UTC)


def test_the_subscribers_of_the_contracts_are_the_handlers_the_services_declare():
    declared = {(service, *handler) for service in SERVICES
                for handler in topology.handlers_of(service_class(service))}
    subscribed = {(subscriber.service, event.producer, event.name, subscriber.method)
                  for event in EVENT_TYPES.values() for subscriber in event.subscribers}
    # A handler missing from the contracts would have no queue until its service starts; a
    # subscriber without a handler, a queue that fills up for ever.
    assert declared == subscribed


def test_the_management_api_is_the_brokers_own_unless_one_is_given():
    derived = topology.management_uri("amqp://suite:pw@broker.internal:5672/communs")
    assert derived == "http://suite:pw@broker.internal:15672"
    assert topology.management_uri("amqp://x:y@h/", "http://a:b@m:15672/") == "http://a:b@m:15672"


class UrbanismService:
    name = CONSUMER.service
    received = []

    @event_handler(PRODUCER, PARCEL_REGISTERED.name)
    def on_parcel_registered(self, envelope):
        self.received.append(envelope["event_id"])


def queue_depth(amqp_uri, queue):
    with Connection(amqp_uri) as connection:
        return connection.default_channel.queue_declare(queue=queue, passive=True).message_count


@pytest.fixture
def declared(request, rabbit_config, parcel_topology):
    """The topology of the suite, and of the tests' own event, on this test's vhost."""
    api_uri = request.config.option.RABBIT_API_URI
    topology.declare(rabbit_config["AMQP_URI"], parcel_topology.values(), api_uri)
    return rabbit_config["AMQP_URI"]


@pytest.mark.broker
def test_an_event_that_no_queue_takes_is_kept_in_communs_unrouted(declared, rabbit_config):
    dispatch = event_dispatcher(rabbit_config)
    envelope = make_envelope(TITLE_ISSUED, {
        "number": "2024-0001", "kind": "title", "commune": "34134", "year": 2024,
        "total_net": "100.00", "total_vat": "0.00", "total": "100.00", "corrects": None,
    }, OCCURRED_AT)
    # No one subscribes to title.issued, nor to a type that billing does not even produce.
    dispatch("billing", TITLE_ISSUED.name, envelope)
    dispatch("billing", "title.mislaid", {"number": "2024-0002"})

    with Connection(declared) as connection:
        channel = connection.default_channel
        kept = [channel.basic_get(topology.UNROUTED, no_ack=True) for _ in range(2)]
        assert channel.basic_get(topology.UNROUTED, no_ack=True) is None
    assert [(m.delivery_info["exchange"], m.delivery_info["routing_key"]) for m in kept] == [
        ("billing.events", "title.issued"), ("billing.events", "title.mislaid")]
    assert json.loads(kept[0].body)["event_id"] == envelope["event_id"]


@pytest.mark.broker
def test_communs_unrouted_is_bounded_and_gives_up_its_oldest_events_first(
        request, rabbit_config, parcel_topology, monkeypatch):
    monkeypatch.setattr(topology, "UNROUTED_MAX_LENGTH", 2)
    topology.declare(rabbit_config["AMQP_URI"], parcel_topology.values(),
                     request.config.option.RABBIT_API_URI)
    dispatch = event_dispatcher(rabbit_config)
    for number in ("2024-0001", "2024-0002", "2024-0003"):
        dispatch("billing", "title.mislaid", {"number": number})

    with Connection(rabbit_config["AMQP_URI"]) as connection:
        channel = connection.default_channel
        kept = [channel.basic_get(topology.UNROUTED, no_ack=True) for _ in range(3)]
    assert [json.loads(message.body)["number"] for message in kept[:2]] == [
        "2024-0002", "2024-0003"]
    assert kept[2] is None


@pytest.mark.broker
def test_a_subscribers_queue_holds_events_until_its_service_first_starts(
        declared, rabbit_config, container_factory):
    queue = PARCEL_REGISTERED.queue_name(CONSUMER)
    assert queue_depth(declared, queue) == 0
    envelope = make_envelope(PARCEL_REGISTERED, parcel(), OCCURRED_AT)
    event_dispatcher(rabbit_config)(PRODUCER, PARCEL_REGISTERED.name, envelope)
    assert queue_depth(declared, queue) == 1
    assert queue_depth(declared, topology.UNROUTED) == 0

    UrbanismService.received = []
    urbanism = container_factory(UrbanismService, rabbit_config)
    # Nameko declares the same exchange and queue again as it starts: they must agree.
    with entrypoint_waiter(urbanism, "on_parcel_registered"):
        urbanism.start()
    assert UrbanismService.received == [envelope["event_id"]]
    assert queue_depth(declared, queue) == 0


@pytest.mark.broker
def test_communs_topology_declares_every_subscriber_queue_once_and_again(
        request, rabbit_config, monkeypatch, tmp_path, configured_logging):
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    monkeypatch.setenv("RABBIT_API_URI", request.config.option.RABBIT_API_URI)
    monkeypatch.setenv("COMMUNS_DATA_DIR", str(tmp_path / "var"))
    assert main(["topology"]) == 0
    assert main(["topology"]) == 0  # a second deployment step finds it all in place

    for event in EVENT_TYPES.values():
        for subscriber in event.subscribers:
            assert queue_depth(rabbit_config["AMQP_URI"], event.queue_name(subscriber)) == 0
    log = (tmp_path / "var" / "log" / "communs.log").read_text()
    assert '"event": "topology.declared"' in log


@pytest.mark.broker
def test_the_topology_step_fails_loudly_when_the_management_api_refuses_the_policy(
        request, rabbit_config):
    # The broker answers AMQP, but its management API refuses this account.
    api = urlsplit(request.config.option.RABBIT_API_URI)
    wrong_account = f"{api.scheme}://nobody-{uuid.uuid4().hex[:6]}:wrong@{api.hostname}:{api.port}"
    with pytest.raises(RuntimeError, match="refused the communs-unrouted policy"):
        topology.declare(rabbit_config["AMQP_URI"], EVENT_TYPES.values(), wrong_account)


@pytest.mark.broker
def test_communs_topology_exits_with_an_error_when_the_policy_cannot_be_set(
        rabbit_config, monkeypatch, tmp_path, configured_logging, capsys):
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    monkeypatch.setenv("RABBIT_API_URI", f"http://guest:guest@127.0.0.1:{closed_port()}")
    monkeypatch.setenv("COMMUNS_DATA_DIR", str(tmp_path / "var"))
    assert main(["topology"]) == 1
    error = capsys.readouterr().err
    assert "the unrouted-event policy is not set" in error and "guest:guest" not in error
