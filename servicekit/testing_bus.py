"""Events published in tests as their producers' relays publish them, waiting until the
service under test has handled each."""

import uuid
from datetime import date

from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from contracts.events import SUBSCRIPTION_CHANGED
from servicekit.outbox import make_envelope


def deliver(container, config, event_type, handler, data, occurred_at, commune=None):
    """Publishes ``data`` as ``event_type`` and returns once ``handler`` has handled it."""
    with entrypoint_waiter(container, handler, timeout=10):
        event_dispatcher(config)(event_type.producer, event_type.name,
                                 make_envelope(event_type, data, occurred_at, commune))


def subscribe(container, config, insee, application, occurred_at):
    """Tells an application service that ``insee`` subscribes to it since 1 January 2022."""
    deliver(container, config, SUBSCRIPTION_CHANGED, "on_subscription_changed", {
        "commune": insee, "application": application, "change": "added",
        "effective_from": date(2022, 1, 1), "convention_id": str(uuid.uuid4()),
        "request_id": None}, occurred_at, insee)
