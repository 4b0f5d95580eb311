"""Each service's own database, reached through SQLAlchemy 2 and migrated by alembic.

The URL comes from the config (``servicekit.config.database_url``): a SQLite file under the
data folder by default, PostgreSQL through a URL. The schema is migrated to its latest
revision when the service starts — the toolkit's tables (outbox, inbox) on one alembic branch,
the service's own on another, found in ``<service package>/migrations``.
"""

import contextlib
import os
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider
from sqlalchemy import create_engine, event, func, make_url, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import sessionmaker

from contracts.errors import ServiceUnavailable
from servicekit import tables
from servicekit.clock import ClockProvider
from servicekit.config import database_url
from servicekit.logging import get_logger
from servicekit.providers import sibling

TOOLKIT_MIGRATIONS = Path(__file__).parent / "migrations"


# A failed statement's values (names, addresses, free text) would otherwise be written into
# its error, hence into logs and dead letters.
HIDE_VALUES = {"hide_parameters": True}


def error_text(error):
    """An error as logs and dead letters keep it: its class and message. A PostgreSQL error is
    told by its class, SQLSTATE, the names of what refused it and its statement instead: its
    message's DETAIL line names the values refused ("Key (email)=(ada@example.org) already
    exists."), and its first line may quote one ("invalid input syntax for type integer").
    SQLite's messages name columns only, and statements carry no values (``HIDE_VALUES``)."""
    driver_error = getattr(error, "orig", None)
    diagnostics = getattr(driver_error, "diag", None)
    if diagnostics is None:
        return f"{type(error).__name__}: {error}"
    names = "".join(f", {what} {name}" for what, name in (
        ("table", diagnostics.table_name), ("column", diagnostics.column_name),
        ("constraint", diagnostics.constraint_name)) if name)
    statement = f" [SQL: {error.statement}]" if error.statement else ""
    return (f"{type(error).__name__}: {type(driver_error).__name__} "
            f"(SQLSTATE {driver_error.pgcode}{names}){statement}")


def make_engine(url):
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            **HIDE_VALUES,
            # Greenthreads share connections from the pool; the Semaphore of DatabaseAccess
            # (not SQLite's thread check) keeps them from using one at the same time.
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    url = make_url(url)
    if url.drivername == "postgresql":
        # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which blocks eventlet's
        # hub and is not installed; psycopg2 is the driver that yields to greenthreads.
        url = url.set(drivername="postgresql+psycopg2")
    if url.drivername == "postgresql+psycopg2":
        _make_psycopg_green()
    return create_engine(url, pool_pre_ping=True, **HIDE_VALUES)


def _sqlite_pragmas(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _make_psycopg_green():
    """psycopg2 blocks the whole process on I/O unless told to yield to eventlet."""
    import eventlet.patcher

    if eventlet.patcher.is_monkey_patched("socket"):
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()


def service_migrations(service_package):
    """The folder of a service's own revisions, if it has any."""
    folder = resources.files(service_package).joinpath("migrations")
    return Path(str(folder)) if folder.is_dir() else None


def alembic_config(connection, service_package=None, target_metadata=None):
    locations = [TOOLKIT_MIGRATIONS / "versions"]
    own = service_migrations(service_package) if service_package else None
    if own is not None:
        locations.append(own)
    config = AlembicConfig()
    config.set_main_option("script_location", str(TOOLKIT_MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    config.attributes["connection"] = connection
    config.attributes["target_metadata"] = [tables.metadata, *filter(None, [target_metadata])]
    return config


def migrate(engine, service_package=None):
    """Bring the database to the latest revision of every branch (idempotent)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection, service_package), "heads")


def service_package_of(service_cls):
    return service_cls.__module__.rpartition(".")[0]


def counted_page(session, query, limit, offset):
    """How many rows ``query`` has in all, and ``limit`` of them after ``offset`` in its order:
    a page, and what its reader needs to know whether more follow."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return total, session.scalars(query.limit(limit).offset(offset)).all()


class DatabaseAccess:
    """What a worker sees: transactions, and a ping for the health check.

    Transactions do not nest. On SQLite they run one at a time per process: SQLite's own
    busy-wait would block the eventlet hub while another greenthread holds the write lock.
    """

    def __init__(self, engine, sessions, lock):
        self.engine = engine
        self._sessions = sessions
        self._lock = lock

    @contextlib.contextmanager
    def transaction(self):
        """A session committed when the block ends, rolled back if it raises. A database that
        cannot be reached or lost the connection is ``ServiceUnavailable``: the caller is told
        to come back (503), not that the service failed, and an event handler is retried."""
        try:
            with self._lock, self._sessions.begin() as session:
                yield session
        except OperationalError as error:
            raise ServiceUnavailable("Its database is unavailable for now; try again shortly.") \
                from error

    def ping(self):
        with self.transaction() as session:
            session.execute(text("SELECT 1"))
        return "ok"


class Database(DependencyProvider):
    """``db = Database(models.Base.metadata)`` in a service; ``Database()`` when the service
    keeps only the toolkit's tables so far."""

    def __init__(self, metadata=None):
        self.metadata = metadata

    def setup(self):
        self.url = database_url(self.container.config, self.container.service_name)
        self.engine = make_engine(self.url)
        if self.container.config.get("DB_MIGRATE_ON_START", True):
            migrate(self.engine, service_package_of(self.container.service_cls))
        lock = Semaphore(1) if self.engine.dialect.name == "sqlite" else contextlib.nullcontext()
        self.access = DatabaseAccess(
            self.engine, sessionmaker(self.engine, expire_on_commit=False), lock
        )

    def stop(self):
        self.engine.dispose()

    def kill(self):
        self.engine.dispose()

    def get_dependency(self, worker_ctx):
        return self.access


class Seed(DependencyProvider):
    """Stores what a service needs from its first start (the partners' pages, a catalogue):
    ``seed(session, now)`` adds the rows missing and returns how many. A replica starting at
    the same moment that stored them first wins; this one moves on."""

    def __init__(self, seed, what):
        self.seed = seed
        self.what = what

    def start(self):
        log = get_logger(self.container.service_name)
        now = sibling(self.container, ClockProvider).clock.now()
        try:
            with sibling(self.container, Database).access.transaction() as session:
                added = self.seed(session, now)
        except IntegrityError:
            log.info("seed.stored_elsewhere", what=self.what)
            return
        if added:
            log.info("seed.stored", what=self.what, count=added)
