"""The ``communs`` command, where it needs no running suite."""

import sqlite3

import pytest

from servicekit.cli import RUNNABLE, main, service_class
from servicekit.tests.support import closed_port


@pytest.fixture
def suite_environment(monkeypatch, tmp_path, configured_logging):
    """The environment of a ``communs`` command; its logging is undone afterwards."""
    for variable in ("COMMUNS_DATABASE_URL", "BILLING_DATABASE_URL", "COMMUNS_MIGRATE_ON_START"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("COMMUNS_DATA_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def test_every_runnable_name_is_the_name_of_its_service_class():
    assert [service_class(name).name for name in RUNNABLE] == list(RUNNABLE)
    assert RUNNABLE[-1] == "gateway"


def test_an_unknown_service_is_refused_with_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["run", "identity", "cadastre"])
    assert exit.value.code == 2
    error = capsys.readouterr().err
    assert "unknown service(s): cadastre" in error and "accessibility" in error


def test_migrate_brings_a_services_database_to_its_latest_revision(suite_environment):
    assert main(["migrate", "billing"]) == 0
    database = suite_environment / "db" / "billing.sqlite3"
    with sqlite3.connect(database) as connection:
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"outbox", "processed_events", "dead_letters", "alembic_version"} <= names
    assert '"event": "database.migrated"' in (suite_environment / "log" / "communs.log").read_text()


def test_without_a_broker_the_command_says_how_to_start_one_and_hides_the_password(
    suite_environment, monkeypatch, capsys
):
    monkeypatch.setenv("AMQP_URI", f"amqp://suite:s3cret-pw@127.0.0.1:{closed_port()}/communs")
    assert main(["ping", "identity"]) == 2
    error = capsys.readouterr().err
    assert "cannot reach RabbitMQ" in error and "rabbitmq-server -detached" in error
    assert "s3cret-pw" not in error
