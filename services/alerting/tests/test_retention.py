"""A year after a campaign ended, its deliveries keep how many were alerted, and how, but no
longer whom: by the rule on a database, then by the service's timer and its clock."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import select

from contracts.personal_data import ERASED
from servicekit.testing_db import memory_session
from services.alerting import campaigns
from services.alerting.models import Base, Campaign, Delivery
from services.alerting.retention import DELIVERIES_RETENTION, anonymise_old_deliveries
from services.alerting.tests.test_campaigns import (  # noqa: F401  (fixtures)
    FLOOD,
    LAVERUNE,
    alerting,
    callbacks,
    laverune,
    rpc,
    wait_for_campaign,
)

ENDED = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
ANNE, PAUL = uuid.uuid4(), uuid.uuid4()


@pytest.fixture
def session():
    with memory_session(Base.metadata) as session:
        yield session


def campaign_of(session, status, ended_at=ENDED):
    campaign = Campaign(
        id=uuid.uuid4(), commune=LAVERUNE, scenario="inondation", definition={}, variables={},
        headline="Inondation", area="Lavérune", cap_status="Actual", groups=["quartier"],
        channels=["sms", "email"], status=status, round=1, recipients=2, sms_segments=2,
        voice_minutes=0, billed_segments=2, billed_minutes=0,
        launched_at=ENDED - timedelta(hours=2),
        completed_at=ended_at if status == campaigns.COMPLETED else None,
        stopped_at=ended_at if status == campaigns.STOPPED else None)
    session.add(campaign)
    for recipient, name, channel, address, status in (
            (ANNE, "Anne Roux", "sms", "+33612345601", "delivered"),
            (ANNE, "Anne Roux", "email", "anne@example.org", "delivered"),
            (PAUL, "Paul Vidal", "sms", "+33612345602", "failed")):
        session.add(Delivery(
            campaign_id=campaign.id, channel=channel, recipient_kind="contact",
            recipient_id=recipient, name=name, address=address, status=status, attempts=1,
            round=1, next_attempt_at=ENDED, operator_id=f"op-{uuid.uuid4()}", segments=1,
            reply="OK reçu" if status == "delivered" else None,
            last_error="Numéro injoignable" if status == "failed" else None,
            sent_at=ENDED - timedelta(hours=1), settled_at=ENDED - timedelta(minutes=50)))
    session.flush()
    return campaign


def deliveries_of(session, campaign):
    return session.scalars(select(Delivery).where(Delivery.campaign_id == campaign.id)
                           .order_by(Delivery.id)).all()


@pytest.mark.parametrize("status", [campaigns.COMPLETED, campaigns.STOPPED])
@pytest.mark.parametrize("since_it_ended, anonymised", [
    (DELIVERIES_RETENTION - SECOND, False),
    (DELIVERIES_RETENTION + SECOND, True),
], ids=["a second before a year", "a second after"])
def test_a_year_after_a_campaign_ended_its_deliveries_name_no_one(session, status,
                                                                  since_it_ended, anonymised):
    campaign = campaign_of(session, status)
    kept = [(d.channel, d.status, d.attempts, d.round, d.sent_at, d.settled_at, d.segments)
            for d in deliveries_of(session, campaign)]

    assert anonymise_old_deliveries(session, ENDED + since_it_ended) == (3 if anonymised else 0)

    session.expire_all()
    found = deliveries_of(session, campaign)
    assert [(d.channel, d.status, d.attempts, d.round, d.sent_at, d.settled_at, d.segments)
            for d in found] == kept
    named = [(d.name, d.address, d.reply, d.last_error, d.operator_id is None) for d in found]
    if anonymised:
        assert named == [(ERASED, ERASED, None, None, True)] * 3
        # Still two recipients, neither of them a contact.
        assert len({d.recipient_id for d in found}) == 2
        assert not {d.recipient_id for d in found} & {ANNE, PAUL}
        assert found[0].recipient_id == found[1].recipient_id
    else:
        assert named[0] == ("Anne Roux", "+33612345601", "OK reçu", None, False)
        assert {d.recipient_id for d in found} == {ANNE, PAUL}


def test_a_campaign_still_running_and_anonymised_ones_are_left_alone(session):
    running = campaign_of(session, campaigns.RUNNING)
    old = campaign_of(session, campaigns.COMPLETED)
    much_later = ENDED + 3 * DELIVERIES_RETENTION

    assert anonymise_old_deliveries(session, much_later) == 3
    session.expire_all()
    pseudonyms = [d.recipient_id for d in deliveries_of(session, old)]

    assert anonymise_old_deliveries(session, much_later) == 0
    session.expire_all()
    assert [d.recipient_id for d in deliveries_of(session, old)] == pseudonyms
    assert {d.name for d in deliveries_of(session, running)} == {"Anne Roux", "Paul Vidal"}


@pytest.mark.broker
def test_the_hourly_timer_anonymises_by_the_services_clock(alerting, laverune, rpc,  # noqa: F811
                                                           operator_server):
    done = wait_for_campaign(rpc, rpc.launch_campaign(LAVERUNE, FLOOD, "agent-1")["id"])
    clock = next(d for d in alerting.dependencies if d.attr_name == "clock").clock

    def deliveries_after_the_timer(moment):
        clock.set(moment)
        with entrypoint_hook(alerting, "keep_retention") as keep:
            keep()
        return rpc.campaign_deliveries(LAVERUNE, done["id"], {})["results"]

    ended = datetime.fromisoformat(done["completed_at"])
    before = deliveries_after_the_timer(ended + DELIVERIES_RETENTION - SECOND)
    assert "Anne Roux" in {d["name"] for d in before}
    after = deliveries_after_the_timer(ended + DELIVERIES_RETENTION + SECOND)
    assert {d["name"] for d in after} == {ERASED}
    assert [d["status"] for d in after] == [d["status"] for d in before]
    assert rpc.campaign(LAVERUNE, done["id"])["totals"] == done["totals"]
