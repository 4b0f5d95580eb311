"""The bus topology, declared before any producer publishes (``communs topology``).

RabbitMQ drops an event that no queue takes, and Nameko declares an event handler's queue only
when its service first starts. So a deployment declares, once and before the services start
(``communs run`` for the whole suite, ``make run-split``, compose's ``topology`` job):

- every ``<service>.events`` exchange, as Nameko declares it;
- every subscriber's queue and binding, named and shaped as Nameko's SERVICE_POOL handler
  declares it (``evt-{producer}-{type}--{service}.{method}``): events for a service that is
  stopped, or has never run, wait there;
- a policy giving each ``<service>.events`` exchange the alternate exchange ``communs.unrouted``,
  bound to the durable queue ``communs.unrouted``: an event no queue takes is kept there for an
  operator instead of dropped. A policy and not an exchange argument, because Nameko declares
  the same exchanges without arguments, and RabbitMQ refuses a declaration whose
  ``alternate-exchange`` differs from the exchange's;
- a second policy bounding the queue ``communs.unrouted`` (a month, 100,000 events, the oldest
  given up first): events no one subscribes to by design arrive there every day.

The subscribers are those of ``contracts.events``; ``handlers_of`` reads the ones the services'
code declares, and a test holds the two equal. The outbox relay declares a subscriber's queue
with the same ``subscriber_queue`` before it publishes, for the services started without this
step (a test, ``communs run identity``).
"""

from urllib.parse import quote, urlsplit, urlunsplit

import requests
from kombu import Connection, Exchange, Queue
from nameko.events import SERVICE_POOL, EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.standalone.events import get_event_exchange

from servicekit.logging import get_logger

log = get_logger(__name__)

UNROUTED = "communs.unrouted"
UNROUTED_POLICY = "communs-unrouted"
UNROUTED_BOUNDS_POLICY = "communs-unrouted-bounds"
# Events of a type no one subscribes to arrive there every day (account.created, title.*):
# kept a month for an operator, the oldest given up first beyond the length, so that the queue
# cannot fill the broker's disk.
UNROUTED_MAX_LENGTH = 100_000
UNROUTED_TTL_MS = 30 * 24 * 3600 * 1000
# Every exchange Nameko names ``<service>.events``, and no other.
EVENT_EXCHANGES = r"^[^.]+\.events$"
MANAGEMENT_PORT = 15672
MANAGEMENT_TIMEOUT = 10


def subscriber_queue(event_type, subscriber, exchange):
    """The queue ``subscriber``'s handler of ``event_type`` consumes, exactly as Nameko
    declares it: a different argument and the broker would refuse one of the two."""
    return Queue(
        event_type.queue_name(subscriber),
        exchange=exchange,
        routing_key=event_type.name,
        durable=True,
        auto_delete=False,
    )


def declare_subscriber_queues(channel, event_type, subscribers, exchange):
    for subscriber in subscribers:
        subscriber_queue(event_type, subscriber, exchange).declare(channel=channel)


def handlers_of(service_cls):
    """``{(producer, event type, method)}`` of the service's event handlers that share one
    queue between replicas, as its code declares them."""
    found = set()
    for name in dir(service_cls):
        for extension in getattr(getattr(service_cls, name), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(extension, EventHandler) and extension.handler_type == SERVICE_POOL:
                found.add((extension.source_service, extension.event_type, name))
    return found


def unrouted_policy():
    return {
        "pattern": EVENT_EXCHANGES,
        "apply-to": "exchanges",
        "definition": {"alternate-exchange": UNROUTED},
        # Above an operator's catch-all policy; RabbitMQ applies one policy per exchange.
        "priority": 10,
    }


def unrouted_bounds_policy():
    return {
        "pattern": r"^communs\.unrouted$",
        "apply-to": "queues",
        "definition": {"max-length": UNROUTED_MAX_LENGTH, "overflow": "drop-head",
                       "message-ttl": UNROUTED_TTL_MS},
        "priority": 10,
    }


def management_uri(amqp_uri, configured=None):
    """The management API of the broker at ``amqp_uri``: ``configured`` when given, else the
    broker's host on port 15672 with the same account."""
    if configured:
        return configured.rstrip("/")
    broker = urlsplit(amqp_uri)
    account = f"{broker.username or 'guest'}:{broker.password or 'guest'}@"
    return urlunsplit(("http", f"{account}{broker.hostname}:{MANAGEMENT_PORT}", "", "", ""))


def declare(amqp_uri, event_types, api_uri):
    """Declares the whole topology on the broker at ``amqp_uri``; returns how many subscriber
    queues it declared. Safe to run again: every declaration is idempotent."""
    config = {"AMQP_URI": amqp_uri}
    queues = 0
    with Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.default_channel
        unrouted = Exchange(UNROUTED, type="fanout", durable=True)
        Queue(UNROUTED, exchange=unrouted, durable=True, auto_delete=False).declare(
            channel=channel)
        for event_type in event_types:
            exchange = get_event_exchange(event_type.producer, config)
            exchange(channel).declare()
            declare_subscriber_queues(channel, event_type, event_type.subscribers, exchange)
            queues += len(event_type.subscribers)
        vhost = connection.virtual_host
    _set_policy(api_uri, vhost, UNROUTED_POLICY, unrouted_policy())
    _set_policy(api_uri, vhost, UNROUTED_BOUNDS_POLICY, unrouted_bounds_policy())
    log.info("topology.declared", subscriber_queues=queues, unrouted=UNROUTED, vhost=vhost)
    return queues


def _set_policy(api_uri, vhost, name, policy):
    base = urlsplit(api_uri)
    url = urlunsplit((base.scheme, base.hostname + (f":{base.port}" if base.port else ""),
                      f"{base.path}/api/policies/{quote(vhost, safe='')}/{name}", "", ""))
    answer = requests.put(url, json=policy, timeout=MANAGEMENT_TIMEOUT,
                          auth=(base.username or "guest", base.password or "guest"))
    if answer.status_code not in (201, 204):
        raise RuntimeError(f"the broker's management API refused the {name} policy "
                           f"({answer.status_code}): {answer.text[:200]}")
