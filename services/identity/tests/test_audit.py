"""The audit trail identity keeps: a year's retention to the second, filters and pages, an
append-only table on SQLite and PostgreSQL, and an entry stored once however often its event
is delivered."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlalchemy.orm import Session

from contracts.audit import AuditPageSchema
from contracts.events import AUDIT_RECORDED, EVENT_TYPES
from servicekit.database import make_engine, migrate, service_package_of
from servicekit.outbox import EventPublisher, make_envelope
from servicekit.testing_db import memory_session
from servicekit.tests.conftest import postgres_database  # noqa: F401  (a fixture)
from servicekit.tests.support import wait_until
from services.identity import audit
from services.identity.models import AuditEntry, Base
from services.identity.service import IdentityService

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
YEAR_AGO = datetime(2025, 3, 2, 9, 0, tzinfo=UTC)
LAVERUNE, MONTPELLIER = "34134", "34172"
SECOND = timedelta(seconds=1)


def entry(occurred_at=NOW, **fields):
    return {
        "id": uuid.uuid4(), "occurred_at": occurred_at, "actor_id": str(uuid.UUID(int=2)),
        "actor_kind": "account", "actor_role": "commune_agent", "commune": LAVERUNE,
        "action": "POST /api/v1/communes/{insee}/eadmin/acts", "object_ids": {},
        "status": 201, "outcome": "succeeded", "correlation_id": uuid.uuid4().hex, **fields,
    }


@pytest.fixture
def session():
    with memory_session(Base.metadata) as session:
        yield session


def kept(session):
    return sorted(session.scalars(select(AuditEntry.occurred_at)).all())


# -- retention --------------------------------------------------------------------------------


@pytest.mark.parametrize("now, cutoff", [
    (NOW, YEAR_AGO),
    # 29 February: the 28th a year before, never 1 March (the database's reading on SQLite).
    (datetime(2028, 2, 29, 12, 0, tzinfo=UTC), datetime(2027, 2, 28, 12, 0, tzinfo=UTC)),
    (datetime(2027, 3, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 1, 0, 0, tzinfo=UTC)),
])
def test_an_entry_is_kept_a_year(now, cutoff):
    assert audit.retention_cutoff(now) == cutoff


@pytest.mark.parametrize("occurred_at, purged", [
    (YEAR_AGO - timedelta(days=30), True),
    (YEAR_AGO - SECOND, True),
    (YEAR_AGO, False),
    (YEAR_AGO + SECOND, False),
    (NOW, False),
])
def test_the_purge_deletes_the_entries_past_a_year_only(session, occurred_at, purged):
    audit.record(session, entry(occurred_at))
    assert audit.purge(session, NOW) == int(purged)
    assert kept(session) == ([] if purged else [occurred_at])


# -- reading ----------------------------------------------------------------------------------


def query(**filters):
    return {"limit": 100, **filters}


def actions(found):
    return [item["action"] for item in found["items"]]


def test_entries_are_listed_the_most_recently_recorded_first_under_the_filters(session):
    admin, agent = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
    audit.record(session, entry(NOW - timedelta(hours=3), action="first", actor_id=admin,
                                commune=None))
    audit.record(session, entry(NOW - timedelta(hours=2), action="second", actor_id=agent,
                                commune=MONTPELLIER, outcome="refused", status=404))
    audit.record(session, entry(NOW - timedelta(hours=1), action="third", actor_id=agent))

    assert actions(audit.page(session, query())) == ["third", "second", "first"]
    assert actions(audit.page(session, query(actor_id=agent))) == ["third", "second"]
    assert actions(audit.page(session, query(commune=MONTPELLIER))) == ["second"]
    assert actions(audit.page(session, query(outcome="refused"))) == ["second"]
    # since: at or after; until: before.
    assert actions(audit.page(session, query(since=NOW - timedelta(hours=2)))) == [
        "third", "second"]
    assert actions(audit.page(session, query(until=NOW - timedelta(hours=2)))) == ["first"]
    assert actions(audit.page(session, query(actor_id="nobody"))) == []


def test_pages_follow_each_other_without_a_gap_or_a_repeat(session):
    for number in range(5):
        audit.record(session, entry(NOW + number * SECOND, action=str(number)))
    pages, before = [], None
    while True:
        found = audit.page(session, query(limit=2, **({"before": before} if before else {})))
        pages.append(actions(found))
        before = found["next_before"]
        if before is None:
            break
    assert pages == [["4", "3"], ["2", "1"], ["0"]]
    AuditPageSchema().load(AuditPageSchema().dump(found))


def test_an_entry_is_stored_once(session):
    recorded = entry()
    audit.record(session, recorded)
    with pytest.raises(IntegrityError):
        audit.record(session, {**recorded})


# -- append-only, on both engines -------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated(request, tmp_path):
    """Identity's database as its migrations make it, on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/identity.sqlite3"
    else:
        url = request.getfixturevalue("postgres_database")()
    engine = make_engine(url)
    migrate(engine, service_package_of(IdentityService))
    yield engine
    engine.dispose()


def test_the_database_refuses_to_change_an_entry_or_delete_a_young_one(migrated):
    now = datetime.now(UTC)
    young, old = entry(now - timedelta(days=364)), entry(now - timedelta(days=367))
    with Session(migrated) as session, session.begin():
        audit.record(session, young)
        audit.record(session, old)

    refusals = [
        update(AuditEntry).values(outcome="succeeded"),
        update(AuditEntry).where(AuditEntry.id == old["id"]).values(actor_id=None),
        delete(AuditEntry).where(AuditEntry.id == young["id"]),
        delete(AuditEntry),
    ]
    for statement in refusals:
        with pytest.raises(DatabaseError, match="audit trail"):
            with Session(migrated) as session, session.begin():
                session.execute(statement)
    if migrated.dialect.name == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"):
            with Session(migrated) as session, session.begin():
                session.execute(text("TRUNCATE audit_trail"))

    # What the purge deletes, the database lets go.
    with Session(migrated) as session, session.begin():
        assert audit.purge(session, datetime.now(UTC)) == 1
    with Session(migrated) as session:
        assert session.scalars(select(AuditEntry.id)).all() == [young["id"]]


# -- through the broker -----------------------------------------------------------------------


@pytest.mark.broker
def test_an_event_delivered_twice_is_one_entry(container_factory, suite_config):
    container_factory(IdentityService, suite_config).start()
    recorded = entry(datetime.now(UTC).replace(microsecond=0))
    envelope = make_envelope(AUDIT_RECORDED, recorded, recorded["occurred_at"], LAVERUNE,
                             recorded["correlation_id"])
    gateway = EventPublisher("gateway", suite_config, EVENT_TYPES)
    for _ in range(2):
        gateway.publish(AUDIT_RECORDED.name, envelope, recorded["correlation_id"], "test.1")
    gateway.publish(AUDIT_RECORDED.name, make_envelope(
        AUDIT_RECORDED, entry(action="a second request"), NOW), None, "test.2")

    with ServiceRpcProxy("identity", suite_config, timeout=10) as identity:
        wait_until(lambda: len(identity.audit_trail({})["items"]) == 2, what="two entries")
        found = identity.audit_trail({})
    assert AuditPageSchema().load(found)
    assert [item["action"] for item in found["items"]] == ["a second request",
                                                           recorded["action"]]
    assert found["items"][1] == AuditPageSchema().dump(
        {"items": [recorded], "next_before": None})["items"][0]
