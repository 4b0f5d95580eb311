"""What a campaign costs and when it is costed (Art. 2: the commune bears its communication
costs), and how receipts move its deliveries, on a database without a broker."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from servicekit.testing_db import memory_session
from services.alerting import campaigns
from services.alerting.models import Base, Delivery
from services.alerting.operator import Receipt

NOW = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already 1 January in Montpellier
PRICES = (Decimal("0.045"), Decimal("0.12"))


class Outbox:
    def __init__(self):
        self.events = []

    def add(self, session, event_type, data, occurred_at, commune=None):
        self.events.append((event_type.name, data))


@pytest.fixture
def session():
    with memory_session(Base.metadata) as session:
        yield session


def campaign(session, status="running", channels=("sms", "voice")):
    row = campaigns._campaign("34134", campaigns.CELL_SCENARIO, {"cellule": "Crue"}, "Crue",
                              "Lavérune", "Actual", ["quartier"], list(channels), None,
                              "agent", NOW)
    row.status = status
    session.add(row)
    session.flush()
    return row


def delivery(session, of, channel="sms", status="sent", operator_id=None, attempts=1):
    row = Delivery(campaign_id=of.id, channel=channel, recipient_kind="contact",
                   recipient_id=uuid.uuid4(), name="Anne", address="+33612345601",
                   status=status, attempts=attempts, round=1, next_attempt_at=NOW,
                   operator_id=operator_id or uuid.uuid4().hex)
    session.add(row)
    session.flush()
    return row


def call_ended(row, result="ANSWERED", seconds=61):
    return Receipt("voice", "delivered" if result == "ANSWERED" else "failed", result,
                   row.operator_id, row.address, seconds=seconds,
                   permanent=result == "FAILED")


def test_a_campaign_is_costed_once_settled_and_again_for_what_a_resending_adds(session):
    outbox = Outbox()
    running = campaign(session)
    sms = delivery(session, running, "sms")
    call = delivery(session, running, "voice")
    running.sms_segments = 2
    assert campaigns.settle(session, outbox, PRICES, NOW, NOW.date()) == []  # still under way

    campaigns.apply_receipt(session, Receipt("sms", "delivered", "Delivered", sms.operator_id,
                                             sms.address), NOW, timedelta(minutes=5))
    campaigns.apply_receipt(session, call_ended(call), NOW, timedelta(minutes=5))
    campaigns.apply_receipt(session, call_ended(call), NOW, timedelta(minutes=5))  # twice
    (costed,) = campaigns.settle(session, outbox, PRICES, NOW, NOW.date())

    assert running.status == "completed" and running.voice_minutes == 2  # 61 s: 2 minutes
    assert costed == (running, Decimal("0.33"))  # 2 × 0.045 + 2 × 0.12 = 0.33
    ((name, data),) = outbox.events
    assert name == "campaign.costed"
    assert (data["sms_segments"], data["voice_minutes"], data["amount"]) == (
        2, 2, Decimal("0.33"))
    assert str(data["launched_on"]) == "2027-01-01"  # Montpellier's day, not UTC's
    assert campaigns.settle(session, outbox, PRICES, NOW, NOW.date()) == []  # nothing new

    running.status, running.sms_segments = "running", 3  # re-sent: one SMS more
    campaigns.settle(session, outbox, PRICES, NOW, NOW.date())
    assert outbox.events[-1][1]["sms_segments"] == 1
    assert outbox.events[-1][1]["amount"] == Decimal("0.05")
    assert outbox.events[-1][1]["cost_id"] != data["cost_id"]


def test_a_stopped_campaign_is_costed_for_what_left(session):
    outbox = Outbox()
    stopped = campaign(session, status="stopped")
    delivery(session, stopped, "sms", status="queued")
    stopped.sms_segments = 1
    (costed,) = campaigns.settle(session, outbox, PRICES, NOW, NOW.date())
    assert costed[1] == Decimal("0.05") and stopped.status == "stopped"


@pytest.mark.parametrize("result, attempts, status", [
    ("NOANSWER", 1, "queued"),  # tried again later
    ("NOANSWER", 3, "failed"),  # the third try was the last
    ("FAILED", 1, "failed"),  # for good
    ("ANSWERED", 1, "delivered"),
])
def test_a_call_that_ends_badly_is_tried_again_while_it_has_tries(session, result, attempts,
                                                                   status):
    row = delivery(session, campaign(session), "voice", attempts=attempts)
    campaigns.apply_receipt(session, call_ended(row, result, 0 if result != "ANSWERED" else 5),
                            NOW, timedelta(minutes=5))
    assert row.status == status
    assert (row.operator_id is None) is (status == "queued")  # its next try is a new call


def test_a_receipt_faster_than_the_record_of_its_sending_finds_its_delivery(session):
    running = campaign(session)
    row = delivery(session, running, "sms", status="queued")
    row.operator_id = None
    receipt = Receipt("sms", "delivered", "Delivered", "01BATCH:+33612345601", row.address,
                      client_reference=str(running.id))
    assert campaigns.apply_receipt(session, receipt, NOW, timedelta(minutes=5))
    assert (row.status, row.operator_id) == ("delivered", "01BATCH:+33612345601")
    assert not campaigns.apply_receipt(
        session, Receipt("sms", "delivered", "Delivered", "01OTHER:+33612345601", row.address,
                         client_reference="not ours"), NOW, timedelta(minutes=5))

