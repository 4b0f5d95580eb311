"""An application's own view of who subscribes to it, from subscriptions' events."""

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from contracts.errors import Forbidden
from servicekit import subscribed, tables

LAVERUNE = "34134"
DECIDED = datetime(2022, 6, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    tables.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


def change(session, kind, effective_from, occurred_at=DECIDED, application="eadmin"):
    subscribed.record_change(session, uuid.uuid4(), {
        "commune": LAVERUNE, "application": application, "change": kind,
        "effective_from": effective_from}, occurred_at)


@pytest.mark.parametrize("day, subscribed_then", [
    (date(2021, 12, 31), False),
    (date(2022, 1, 1), True),
    (date(2023, 12, 31), True),
    (date(2024, 1, 1), False),  # removed from 2024
])
def test_a_commune_uses_an_application_between_its_effective_dates(session, day,
                                                                   subscribed_then):
    change(session, "added", date(2022, 1, 1))
    change(session, "removed", date(2024, 1, 1))
    assert subscribed.is_subscribed(session, LAVERUNE, "eadmin", day) is subscribed_then
    assert subscribed.is_subscribed(session, LAVERUNE, "alerting", day) is False


def test_a_termination_ends_every_subscription_from_its_date(session):
    change(session, "added", date(2022, 1, 1))
    subscribed.record_termination(session, {"commune": LAVERUNE,
                                            "effective_on": date(2024, 1, 1)})
    subscribed.record_termination(session, {"commune": LAVERUNE,
                                            "effective_on": date(2023, 1, 1)})
    assert subscribed.is_subscribed(session, LAVERUNE, "eadmin", date(2022, 12, 31))
    assert not subscribed.is_subscribed(session, LAVERUNE, "eadmin", date(2023, 1, 1))


def test_a_commune_without_the_subscription_is_refused_naming_it(session):
    with pytest.raises(Forbidden, match="does not subscribe to .* \\(eadmin\\)"):
        subscribed.require_subscription(session, LAVERUNE, "eadmin", date(2022, 3, 1))
    change(session, "added", date(2022, 1, 1))
    subscribed.require_subscription(session, LAVERUNE, "eadmin", date(2022, 3, 1))
