"""The subscriptions database without a broker: what each change stores and announces."""

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from contracts.errors import Conflict, Invalid, NotFound
from contracts.subscriptions import NewConventionSchema
from servicekit import tables
from servicekit.database import make_engine, migrate
from servicekit.outbox import OutboxWriter
from servicekit.testing_db import memory_session
from servicekit.tests.conftest import postgres_database  # noqa: F401  (a fixture)
from services.subscriptions import registry, rules
from services.subscriptions.bootstrap import member_rows
from services.subscriptions.models import Base, Subscription

NOW = datetime(2022, 3, 1, 9, 0, tzinfo=UTC)
LAVERUNE, MONTPELLIER = "34134", "34172"
ADMIN = {"id": "admin-id", "role": "metropole_admin"}
AGENT = {"id": "agent-id", "role": "commune_agent"}
CONVENTION = {
    "title": "Convention de gestion de services numériques communs",
    "period_start": "2022-01-01",
    "period_end": "2024-12-31",
    "population_vintage": 2023,
    "applications": [
        {"application": "eadmin", "annual_cost": "21312.00"},
        {"application": "eservices", "annual_cost": "14714.00"},
        {"application": "procurement", "annual_cost": "11482.00"},
        {"application": "opendata", "annual_cost": None},
    ],
    "initial_subscriptions": {
        LAVERUNE: ["eadmin", "eservices", "procurement", "opendata"],
        MONTPELLIER: ["opendata"],
    },
}


@pytest.fixture
def session():
    with memory_session(Base.metadata) as session:
        yield session


@pytest.fixture
def outbox():
    return OutboxWriter("subscriptions", lambda: None)


@pytest.fixture
def seeded(session, outbox):
    registry.seed_communes(session, outbox, member_rows(), NOW)
    return session


@pytest.fixture
def convention(seeded, outbox):
    return registry.register_convention(
        seeded, outbox, NewConventionSchema().load(CONVENTION), "admin-id", NOW
    )


def events(session, event_type=None):
    query = select(tables.outbox.c.envelope).order_by(tables.outbox.c.created_at)
    envelopes = session.execute(query).scalars().all()
    return [e for e in envelopes if event_type in (None, e["type"])]


def file(session, application, action, received_on, insee=LAVERUNE, filed_by=AGENT):
    new = {"application": application, "action": action}
    return registry.file_request(session, insee, new, received_on, filed_by, NOW)


def accept(session, outbox, request, insee=LAVERUNE):
    return registry.decide_request(
        session, outbox, insee, request.id, {"decision": "accept"}, "admin-id", NOW
    )


def periods(session, insee, application):
    subscriptions = session.scalars(
        select(Subscription)
        .where(Subscription.insee == insee, Subscription.application == application)
        .order_by(Subscription.effective_from, Subscription.id)
    )
    return [(s.effective_from, s.effective_until) for s in subscriptions]


def test_the_seed_stores_the_31_communes_and_announces_each_population(seeded):
    communes = registry.communes(seeded)
    assert len(communes) == 31
    laverune = registry.commune_view(seeded, registry.commune(seeded, LAVERUNE))
    assert laverune["populations"] == [{"vintage": 2023, "population": 3302}]
    announced = events(seeded, "population.updated")
    assert len(announced) == 31
    assert {e["commune"] for e in announced} == {c.insee for c in communes}


def test_a_data_file_that_is_not_the_31_members_stops_the_seed(session, outbox):
    rows = member_rows()[1:]
    with pytest.raises(registry.SeedMismatch):
        registry.seed_communes(session, outbox, rows, NOW)


def test_registering_a_convention_announces_it_and_each_initial_subscription(convention, seeded):
    (registered,) = events(seeded, "convention.registered")
    assert len(registered["data"]["members"]) == 31
    assert {"application": "opendata", "annual_cost": None} in registered["data"]["applications"]
    changes = events(seeded, "subscription.changed")
    assert len(changes) == 5
    assert {(e["data"]["commune"], e["data"]["application"]) for e in changes} >= {
        (LAVERUNE, "eadmin"),
        (MONTPELLIER, "opendata"),
    }
    assert {e["data"]["effective_from"] for e in changes} == {"2022-01-01"}
    assert {e["data"]["request_id"] for e in changes} == {None}


def test_a_convention_overlapping_a_registered_one_is_a_conflict(convention, seeded, outbox):
    overlapping = {**CONVENTION, "period_start": "2024-01-01", "period_end": "2026-12-31"}
    with pytest.raises(Conflict):
        registry.register_convention(
            seeded, outbox, NewConventionSchema().load(overlapping), "admin-id", NOW
        )


def test_an_amendment_adds_an_application_once(convention, seeded, outbox):
    amendment = {"application": "alerting", "annual_cost": Decimal("30000.00"),
                 "signed_on": date(2022, 6, 1)}
    registry.amend_convention(seeded, outbox, convention.id, amendment, "admin-id", NOW)
    with pytest.raises(Conflict):
        registry.amend_convention(seeded, outbox, convention.id, amendment, "admin-id", NOW)
    with pytest.raises(NotFound):
        registry.amend_convention(seeded, outbox, "not-a-uuid", amendment, "admin-id", NOW)
    (amended,) = events(seeded, "convention.amended")
    assert amended["data"]["annual_cost"] == "30000.00"
    view = registry.convention_view(seeded, convention)
    assert [a["application"] for a in view["amendments"]] == ["alerting"]
    # What needed an amendment can now be requested.
    assert file(seeded, "alerting", "add", date(2022, 9, 30)).status == "pending"


@pytest.mark.parametrize(
    "application, action, received_on, status, effective_from, reason",
    [
        ("participation", "add", date(2022, 9, 30), "refused", None, rules.NEEDS_AMENDMENT),
        ("eadmin", "add", date(2022, 9, 30), "refused", None, rules.ALREADY_SUBSCRIBED),
        ("eadmin", "remove", date(2022, 9, 30), "pending", date(2023, 1, 1), None),
        ("eadmin", "remove", date(2022, 10, 1), "pending", date(2024, 1, 1), None),
        ("eadmin", "remove", date(2024, 3, 1), "refused", None, rules.PAST_CONVENTION_END),
        ("eadmin", "remove", date(2021, 12, 1), "refused", None, rules.NO_CONVENTION),
    ],
)
def test_every_request_is_recorded_pending_or_refused_with_its_reason(
    convention, seeded, application, action, received_on, status, effective_from, reason
):
    request = file(seeded, application, action, received_on)
    assert (request.status, request.effective_from, request.reason) == (
        status, effective_from, reason
    )
    assert request.answer_due == rules.answer_due(received_on)
    assert registry.requests_of(seeded, LAVERUNE) == [request]


def test_accepting_a_removal_closes_the_period_and_announces_it(convention, seeded, outbox):
    request = file(seeded, "eadmin", "remove", date(2022, 9, 30))
    registry.decide_request(
        seeded, outbox, LAVERUNE, request.id, {"decision": "accept"}, "admin-id", NOW
    )
    assert request.status == "accepted" and request.decided_at == NOW
    eadmin = seeded.scalars(
        select(Subscription).where(
            Subscription.insee == LAVERUNE, Subscription.application == "eadmin"
        )
    ).one()
    assert (eadmin.effective_from, eadmin.effective_until) == (date(2022, 1, 1), date(2023, 1, 1))
    change = events(seeded, "subscription.changed")[-1]["data"]
    assert change == {
        "commune": LAVERUNE,
        "application": "eadmin",
        "change": "removed",
        "effective_from": "2023-01-01",
        "convention_id": str(convention.id),
        "request_id": str(request.id),
    }
    with pytest.raises(Conflict):
        registry.decide_request(
            seeded, outbox, LAVERUNE, request.id, {"decision": "accept"}, "admin-id", NOW
        )


def test_accepting_checks_the_rules_again(convention, seeded, outbox):
    # Both pending when filed; once the first is accepted, the second removes nothing.
    removals = [file(seeded, "eservices", "remove", date(2022, 3, 1)) for _ in range(2)]
    registry.decide_request(
        seeded, outbox, LAVERUNE, removals[0].id, {"decision": "accept"}, "admin-id", NOW
    )
    before = len(events(seeded))
    with pytest.raises(Conflict, match=rules.NOT_SUBSCRIBED):
        registry.decide_request(
            seeded, outbox, LAVERUNE, removals[1].id, {"decision": "accept"}, "admin-id", NOW
        )
    assert removals[1].status == "pending" and len(events(seeded)) == before
    refused = registry.decide_request(
        seeded, outbox, LAVERUNE, removals[1].id,
        {"decision": "refuse", "reason": "already removed"}, "admin-id", NOW,
    )
    assert (refused.status, refused.reason) == ("refused", "already removed")


def test_a_letter_recorded_late_adds_a_period_that_ends_where_the_granted_one_begins(
    convention, seeded, outbox
):
    # Montpellier's request of 1 October 2022 is granted from 2024; its letter of 1 September,
    # recorded afterwards, asks for the same application from 2023.
    accept(seeded, outbox, file(seeded, "eadmin", "add", date(2022, 10, 1), MONTPELLIER),
           MONTPELLIER)
    earlier = file(seeded, "eadmin", "add", date(2022, 9, 1), MONTPELLIER, filed_by=ADMIN)
    assert earlier.status == "pending"
    accept(seeded, outbox, earlier, MONTPELLIER)
    assert periods(seeded, MONTPELLIER, "eadmin") == [
        (date(2023, 1, 1), date(2024, 1, 1)),
        (date(2024, 1, 1), None),
    ]
    # One period is in force on each day, so a removal finds which one to end.
    accept(seeded, outbox, file(seeded, "eadmin", "remove", date(2023, 9, 1), MONTPELLIER),
           MONTPELLIER)
    assert periods(seeded, MONTPELLIER, "eadmin") == [
        (date(2023, 1, 1), date(2024, 1, 1)),
        (date(2024, 1, 1), date(2024, 1, 1)),
    ]


def test_a_request_of_another_commune_is_not_found(convention, seeded, outbox):
    request = file(seeded, "eadmin", "remove", date(2022, 3, 1))
    for insee, request_id in ((MONTPELLIER, request.id), (LAVERUNE, "not-a-uuid")):
        with pytest.raises(NotFound):
            registry.decide_request(
                seeded, outbox, insee, request_id, {"decision": "accept"}, "admin-id", NOW
            )


@pytest.mark.parametrize(
    "received_on, filed_by, problem",
    [
        (date(2022, 2, 1), AGENT, "Only Metropole staff"),
        (date(2022, 3, 2), ADMIN, "future"),
    ],
)
def test_the_date_of_receipt(received_on, filed_by, problem):
    today = date(2022, 3, 1)
    with pytest.raises(Invalid, match="received_on") as refusal:
        registry.date_of_receipt(received_on, filed_by, today)
    assert problem in refusal.value.errors["received_on"][0]
    assert registry.date_of_receipt(None, AGENT, today) == today
    assert registry.date_of_receipt(date(2022, 2, 1), ADMIN, today) == date(2022, 2, 1)


def test_an_accepted_termination_closes_the_subscriptions_and_refuses_later_changes(
    convention, seeded, outbox
):
    pending = file(seeded, "eadmin", "remove", date(2022, 10, 1))  # effective 2024-01-01
    termination = registry.notify_termination(
        seeded, outbox, LAVERUNE, date(2022, 9, 30), AGENT, NOW
    )
    assert (termination.status, termination.effective_on) == ("accepted", date(2023, 1, 1))
    view = registry.commune_view(seeded, registry.commune(seeded, LAVERUNE))
    assert view["terminated_on"] == date(2023, 1, 1)
    assert {s["effective_until"] for s in view["subscriptions"]} == {date(2023, 1, 1)}
    (terminated,) = events(seeded, "convention.terminated")
    assert terminated["data"]["effective_on"] == "2023-01-01"
    assert terminated["commune"] == LAVERUNE

    assert file(seeded, "eadmin", "add", date(2022, 10, 1)).reason == rules.COMMUNE_TERMINATED
    with pytest.raises(Conflict, match="commune terminated"):
        registry.decide_request(
            seeded, outbox, LAVERUNE, pending.id, {"decision": "accept"}, "admin-id", NOW
        )
    again = registry.notify_termination(seeded, outbox, LAVERUNE, date(2022, 9, 30), AGENT, NOW)
    assert (again.status, again.reason) == ("refused", rules.ALREADY_TERMINATED)


@pytest.mark.parametrize(
    "received_on, status, effective_on, reason",
    [
        (date(2022, 10, 1), "accepted", date(2024, 1, 1), None),
        (date(2023, 9, 30), "accepted", date(2024, 1, 1), None),
        (date(2023, 10, 1), "refused", None, rules.NOTICE_TOO_LATE),
        (date(2021, 9, 30), "refused", None, rules.NO_CONVENTION),
    ],
)
def test_terminations_are_recorded_accepted_or_refused(
    convention, seeded, outbox, received_on, status, effective_on, reason
):
    termination = registry.notify_termination(seeded, outbox, LAVERUNE, received_on, AGENT, NOW)
    assert (termination.status, termination.effective_on, termination.reason) == (
        status, effective_on, reason
    )
    assert registry.terminations_of(seeded, LAVERUNE) == [termination]
    assert len(events(seeded, "convention.terminated")) == (status == "accepted")


@pytest.mark.postgres
def test_two_decisions_on_one_commune_run_one_after_the_other(postgres_database):  # noqa: F811
    engine = make_engine(postgres_database())
    try:
        migrate(engine, "services.subscriptions")
        sessions = sessionmaker(engine, expire_on_commit=False)
        outbox = OutboxWriter("subscriptions", lambda: None)
        with sessions.begin() as session:
            registry.seed_communes(session, outbox, member_rows(), NOW)
            registry.register_convention(
                session, outbox, NewConventionSchema().load(CONVENTION), "admin-id", NOW
            )
            removals = [file(session, "eservices", "remove", date(2022, 3, 1)) for _ in range(2)]

        first = sessions()
        first.begin()
        accept(first, outbox, removals[0])  # not committed yet: holds Lavérune
        outcome = {}

        def second_decision():
            with sessions.begin() as session:
                try:
                    outcome["second"] = accept(session, outbox, removals[1]).status
                except Conflict as conflict:
                    outcome["second"] = str(conflict)

        second = threading.Thread(target=second_decision)
        second.start()
        second.join(timeout=0.5)
        assert second.is_alive(), "the second decision waits for the first"
        first.commit()
        first.close()
        second.join(timeout=10)
        # It saw the first removal once it could go on: nothing left to remove.
        assert rules.NOT_SUBSCRIBED in outcome["second"]
    finally:
        engine.dispose()
