"""Each service's database: migrated by alembic to exactly what its models say, on SQLite and
on PostgreSQL, and reached through the ``Database`` provider."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from nameko.testing.services import dummy, entrypoint_hook
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from contracts.catalogue import SERVICES
from servicekit import tables
from servicekit.cli import service_class
from servicekit.database import (
    Database,
    alembic_config,
    error_text,
    make_engine,
    migrate,
    service_package_of,
)
from servicekit.sqltypes import UtcDateTime

TOOLKIT_TABLES = {"outbox", "processed_events", "dead_letters", "alembic_version"}


def migrate_service(engine, service):
    migrate(engine, service_package_of(service_class(service)))


def drift(engine, service):
    """What alembic would still have to change for the database to match the models."""
    own = service_class(service).db.metadata
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, [tables.metadata, *filter(None, [own])])


def revisions(engine, service):
    """The revisions the database is at, the heads of the service's migrations, and the head
    of the toolkit's branch."""
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
        config = alembic_config(connection, service_package_of(service_class(service)))
        script = ScriptDirectory.from_config(config)
        (toolkit_head,) = script.get_revisions("servicekit@head")
        return current, set(script.get_heads()), toolkit_head.revision


def assert_migrated_without_drift(engine, service):
    migrate_service(engine, service)
    with engine.begin() as connection:
        connection.execute(
            insert(tables.dead_letters).values(
                consumer="kept", received_at=datetime.now(UTC), body={}, error="kept"
            )
        )
    migrate_service(engine, service)  # a restart migrates again: nothing to do, nothing lost
    with engine.connect() as connection:
        kept = connection.execute(select(tables.dead_letters.c.consumer)).scalars().all()
    assert kept == ["kept"]
    current, heads, toolkit_head = revisions(engine, service)
    assert current == heads and toolkit_head in heads
    assert TOOLKIT_TABLES <= set(inspect(engine).get_table_names())
    assert drift(engine, service) == []


def test_every_service_is_known_by_the_toolkit():
    packages = {service: service_package_of(service_class(service)) for service in SERVICES}
    assert packages == {service: f"services.{service}" for service in SERVICES}


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_build_each_services_sqlite_database_as_its_models_say(service, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / service}.sqlite3")
    try:
        assert_migrated_without_drift(engine, service)
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("service", SERVICES)
def test_migrations_build_each_services_postgres_database_as_its_models_say(
    service, postgres_database
):
    engine = make_engine(postgres_database())
    try:
        assert_migrated_without_drift(engine, service)
    finally:
        engine.dispose()


def test_drift_is_seen_when_the_models_and_the_database_disagree(tmp_path):
    """The comparison above can fail: a column the migrations never made is reported."""
    engine = make_engine(f"sqlite:///{tmp_path}/drifted.sqlite3")
    migrate(engine)
    ahead = MetaData()
    tables.outbox.to_metadata(ahead).append_column(Column("priority", Integer))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, ahead)
    engine.dispose()
    assert [(d[0], d[3].name) for d in differences if d[0] == "add_column"] == [
        ("add_column", "priority")
    ]


# -- UtcDateTime ------------------------------------------------------------------------------

moments = Table(
    "moments", MetaData(), Column("id", Integer, primary_key=True), Column("at", UtcDateTime)
)
# Late on the deadline of Article 5 in Montpellier: already the next day in UTC+14.
IN_PARIS = datetime(2024, 9, 30, 23, 30, tzinfo=ZoneInfo("Europe/Paris"))


def assert_round_trips_in_utc(engine):
    moments.create(engine)
    with engine.begin() as connection:
        connection.execute(insert(moments).values(id=1, at=IN_PARIS))
        connection.execute(insert(moments).values(id=2, at=None))
        stored = connection.execute(select(moments.c.at).where(moments.c.id == 1)).scalar_one()
        assert stored == IN_PARIS == datetime(2024, 9, 30, 21, 30, tzinfo=UTC)
        assert stored.tzinfo is UTC
        assert (
            connection.execute(select(moments.c.at).where(moments.c.id == 2)).scalar_one() is None
        )
        # Comparisons happen in UTC too, whatever zone the bound value is in.
        later = datetime(2024, 9, 30, 23, 0, tzinfo=UTC)
        assert connection.execute(select(moments.c.id).where(moments.c.at < later)).all() == [(1,)]
        with pytest.raises(StatementError, match="naive"):
            connection.execute(insert(moments).values(id=3, at=datetime(2024, 9, 30, 23, 30)))


def refused_duplicate(engine):
    """The error of a real unique violation: an address stored twice."""
    people = Table("people", MetaData(), Column("email", String(100), unique=True))
    people.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(people).values(email="ada.lovelace@example.org"))
    with pytest.raises(IntegrityError) as duplicate, engine.begin() as connection:
        connection.execute(insert(people).values(email="ada.lovelace@example.org"))
    return duplicate.value


def assert_a_failed_statement_names_no_value(engine):
    """SQLAlchemy's part of the error. PostgreSQL's own DETAIL line ("Key (email)=(…) already
    exists") is the server's, and still names it: ``error_text`` leaves it out."""
    duplicate = refused_duplicate(engine)
    assert "ada.lovelace" not in str(duplicate)
    assert "hidden" in str(duplicate)  # SQLAlchemy says the values were left out


def test_a_failed_statement_names_no_value_on_sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/people.sqlite3")
    assert_a_failed_statement_names_no_value(engine)
    engine.dispose()


def test_the_text_kept_of_a_unique_violation_names_no_value_on_sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/people.sqlite3")
    kept = error_text(refused_duplicate(engine))
    engine.dispose()
    assert kept.startswith("IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed: "
                           "people.email\n[SQL: INSERT INTO people (email) VALUES (?)]")
    assert "ada.lovelace" not in kept


@pytest.mark.postgres
def test_the_text_kept_of_a_unique_violation_names_no_value_on_postgres(postgres_database):
    engine = make_engine(postgres_database())
    duplicate = refused_duplicate(engine)
    engine.dispose()
    assert "DETAIL:  Key (email)=(ada.lovelace@example.org) already exists." in str(duplicate)
    assert error_text(duplicate) == (
        "IntegrityError: UniqueViolation (SQLSTATE 23505, table people, constraint "
        "people_email_key) [SQL: INSERT INTO people (email) VALUES (%(email)s)]")


@pytest.mark.parametrize("error", [
    KeyError("zoning"),
    ValueError("DETAIL: a handler's own words"),
    # A database error without PostgreSQL's diagnostics.
    OperationalError("SELECT 1", {}, Exception("database is locked")),
])
def test_any_other_error_is_kept_as_its_class_and_message(error):
    assert error_text(error) == f"{type(error).__name__}: {error}"


def test_utc_datetime_round_trips_aware_values_on_sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/moments.sqlite3")
    assert_round_trips_in_utc(engine)
    engine.dispose()


@pytest.mark.postgres
def test_utc_datetime_round_trips_aware_values_on_postgres(postgres_database):
    engine = make_engine(postgres_database())

    # A session in another zone: PostgreSQL answers in it, the type still answers in UTC.
    @event.listens_for(engine, "connect")
    def far_east_session(dbapi_connection, connection_record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'Pacific/Kiritimati'")

    with engine.connect() as connection:
        assert connection.execute(text("SHOW TIME ZONE")).scalar_one() == "Pacific/Kiritimati"
    assert_round_trips_in_utc(engine)
    engine.dispose()


# -- the Database provider --------------------------------------------------------------------


class LedgerService:
    """A service whose own table is made here, to see what the provider commits."""

    name = "ledger"
    db = Database()

    @dummy
    def write(self, value, fail=False):
        with self.db.transaction() as session:
            session.execute(insert(moments).values(id=value, at=datetime.now(UTC)))
            if fail:
                raise RuntimeError("the worker failed after writing")

    @dummy
    def count(self):
        with self.db.transaction() as session:
            return session.execute(select(func.count()).select_from(moments)).scalar_one()

    @dummy
    def ping(self):
        return self.db.ping()


def start_ledger(container_factory, config):
    container = container_factory(LedgerService, config)
    container.start()
    return container


def test_the_provider_migrates_the_services_sqlite_file_when_it_starts(container_factory, tmp_path):
    start_ledger(container_factory, {"DATA_DIR": str(tmp_path)})
    engine = make_engine(f"sqlite:///{tmp_path}/db/ledger.sqlite3")
    assert TOOLKIT_TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_the_provider_leaves_migrations_to_a_job_when_told_to(container_factory, tmp_path):
    url = f"sqlite:///{tmp_path}/elsewhere.sqlite3"
    ledger = start_ledger(
        container_factory, {"DATABASE_URLS": {"ledger": url}, "DB_MIGRATE_ON_START": False}
    )
    with entrypoint_hook(ledger, "ping") as ping:
        assert ping() == "ok"
    engine = make_engine(url)
    assert inspect(engine).get_table_names() == []
    engine.dispose()
    assert not (tmp_path / "db").exists()


def test_a_transaction_commits_when_its_block_ends_and_rolls_back_when_it_raises(
    container_factory, tmp_path
):
    ledger = start_ledger(container_factory, {"DATA_DIR": str(tmp_path)})
    moments.create(ledger_engine(ledger))
    with entrypoint_hook(ledger, "write") as write:
        write(1)
        with pytest.raises(RuntimeError):
            write(2, fail=True)
    with entrypoint_hook(ledger, "count") as count:
        assert count() == 1


def ledger_engine(container):
    return next(d for d in container.dependencies if isinstance(d, Database)).engine
