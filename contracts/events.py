"""Every event of the suite: who produces it, its payload schema and version, and which
handlers consume it.

The subscriber list is the bus topology. The outbox relay declares each subscriber's queue
before it publishes, because RabbitMQ drops an event routed to no queue: a consumer that has
never started yet still gets every event once it does.
"""

from dataclasses import dataclass

from marshmallow import Schema, fields, validate

from contracts.fields import InseeCode
from contracts.identity import ROLES


@dataclass(frozen=True)
class Subscriber:
    service: str
    method: str


@dataclass(frozen=True)
class EventType:
    producer: str
    name: str
    version: int
    schema: type[Schema]
    subscribers: tuple[Subscriber, ...] = ()

    def queue_name(self, subscriber):
        """The queue Nameko's SERVICE_POOL event handler consumes from."""
        return f"evt-{self.producer}-{self.name}--{subscriber.service}.{subscriber.method}"


class AccountCreatedSchema(Schema):
    """No personal data: other services learn that an account exists, not who holds it."""

    account_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    commune = InseeCode(load_default=None, allow_none=True)


ACCOUNT_CREATED = EventType("identity", "account.created", 1, AccountCreatedSchema)

EVENT_TYPES = {event.name: event for event in (ACCOUNT_CREATED,)}


def event_type(name):
    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise LookupError(f"{name!r} is not an event of contracts.events") from None
