import io
import json
import logging
import os
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from contracts import events
from servicekit.database import make_engine
from servicekit.logging import configure_logging
from servicekit.tests.support import PARCEL_REGISTERED

POSTGRES_URL = os.environ.get(
    "COMMUNS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def parcel_topology(monkeypatch):
    """The tests' event, in the topology the outbox relay and the inbox read."""
    monkeypatch.setitem(events.EVENT_TYPES, PARCEL_REGISTERED.name, PARCEL_REGISTERED)
    return events.EVENT_TYPES


class LogStream(io.StringIO):
    """Where ``configure_logging`` writes during a test; a terminal when ``tty`` says so."""

    def __init__(self, tty=False):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty

    def records(self):
        """Every line written so far, parsed: it fails on a line that is not JSON."""
        return [json.loads(line) for line in self.getvalue().splitlines()]


@pytest.fixture
def configured_logging():
    """``configured_logging(tty=False, **options)`` configures the suite's logging onto a
    stream it returns; the logging of the test session is put back afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level

    def configure(tty=False, **options):
        stream = LogStream(tty)
        configure_logging(stream=stream, **options)
        return stream

    yield configure
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)


@pytest.fixture
def postgres_database():
    """``postgres_database()`` makes a database of its own on the test server and returns its
    URL; every database made is dropped when the test ends."""
    server = make_engine(POSTGRES_URL)
    autocommit = server.execution_options(isolation_level="AUTOCOMMIT")
    made = []

    def make():
        name = f"communs_test_{uuid.uuid4().hex[:12]}"
        with autocommit.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    with autocommit.connect() as connection:
        for name in made:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_urls(request):
    """``database_urls("cadastre")``: the ``DATABASE_URLS`` config that puts those services on
    the backend of this run of the test, SQLite files (the default) or PostgreSQL databases."""
    if request.param == "sqlite":
        return lambda *services: {}
    make = request.getfixturevalue("postgres_database")
    return lambda *services: {service: make() for service in services}
