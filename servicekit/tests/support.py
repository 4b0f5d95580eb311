"""What the toolkit's tests share: an event of their own, the business tables its producer and
consumer write, and a way to wait for something the relay does in the background."""

import socket
import time
import uuid

import eventlet
from marshmallow import Schema, fields
from sqlalchemy import Column, Integer, MetaData, Table, Uuid

from contracts.events import EventType, Subscriber
from servicekit.database import Database

PRODUCER = "cadastre"
CONSUMER = Subscriber("urbanism", "on_parcel_registered")


class ParcelRegisteredSchema(Schema):
    parcel_id = fields.UUID(required=True)
    area_m2 = fields.Integer(required=True)


PARCEL_REGISTERED = EventType(
    PRODUCER, "parcel.registered", 1, ParcelRegisteredSchema, subscribers=(CONSUMER,)
)

business_tables = MetaData()

# The producer's business row, written in the same transaction as its event.
parcels = Table(
    "parcels",
    business_tables,
    Column("id", Uuid, primary_key=True),
    Column("area_m2", Integer, nullable=False),
)

# The consumer's effect of an event: one row each time a handler applies it.
parcel_notices = Table(
    "parcel_notices",
    business_tables,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("parcel_id", Uuid, nullable=False),
)


class DatabaseWithBusinessTables(Database):
    """A service database with the tests' business tables beside the toolkit's; they are made
    without a migration because no service owns them."""

    def setup(self):
        super().setup()
        business_tables.create_all(self.engine)


def parcel(area_m2=120):
    return {"parcel_id": uuid.uuid4(), "area_m2": area_m2}


def closed_port():
    """A local TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout=10, what="the condition"):
    """Waits for something a background greenthread does, checking often."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        eventlet.sleep(0.02)
