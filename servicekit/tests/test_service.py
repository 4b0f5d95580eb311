"""What every service of the suite gets from ``CommunsService``."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.rpc import Rpc
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook
from nameko.testing.utils import get_extension
from sqlalchemy import MetaData, insert, select

from contracts.errors import CommunsError
from contracts.health import ServiceHealthSchema
from servicekit.database import Database
from servicekit.inbox import DEAD_LETTER_RETENTION, forget_dead_letters
from servicekit.providers import sibling
from servicekit.service import CommunsService, rpc
from servicekit.tables import dead_letters
from servicekit.testing_db import memory_session


class ProbeService(CommunsService):
    name = "probe"
    db = Database()

    @rpc(sensitive_arguments=("credentials.password",))
    def sign_in(self, credentials):
        return credentials["username"]


@pytest.mark.broker
def test_a_service_answers_its_health_rpc_once_its_database_answers(
    container_factory, suite_config
):
    container_factory(ProbeService, suite_config).start()
    with ServiceRpcProxy("probe", suite_config, timeout=5) as probe:
        health = probe.health()
    assert ServiceHealthSchema().load(health) == {
        "service": "probe",
        "status": "ok",
        "database": "ok",
    }


def test_contract_errors_are_expected_by_every_rpc_with_or_without_options(container_factory):
    # Never started: its entrypoints are only read.
    container = container_factory(ProbeService, {"AMQP_URI": "amqp://guest:guest@nowhere/"})
    for method in ("health", "sign_in"):
        assert get_extension(container, Rpc, method_name=method).expected_exceptions is CommunsError
    sign_in = get_extension(container, Rpc, method_name="sign_in")
    assert sign_in.sensitive_arguments == ("credentials.password",)


# -- dead letters are kept 90 days

AT = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def bury(session, received_at):
    session.execute(insert(dead_letters).values(
        consumer="eservices.on_account_deleted", received_at=received_at,
        body={"type": "account.deleted"}, error="OperationalError: database is locked"))


@pytest.mark.parametrize("received_before, forgotten", [
    (DEAD_LETTER_RETENTION - SECOND, False),
    (DEAD_LETTER_RETENTION + SECOND, True),
], ids=["a second before the retention", "a second after"])
def test_a_dead_letter_is_deleted_90_days_after_it_was_received(received_before, forgotten):
    with memory_session(MetaData()) as session:
        bury(session, AT - received_before)
        assert forget_dead_letters(session, AT) == int(forgotten)
        assert len(session.execute(select(dead_letters)).all()) == int(not forgotten)


@pytest.mark.broker
def test_every_service_forgets_its_old_dead_letters_on_a_timer_by_its_clock(
    container_factory, suite_config
):
    probe = container_factory(ProbeService, {**suite_config, "CLOCK_FROZEN_AT": AT.isoformat()})
    probe.start()
    access = sibling(probe, Database).access
    with access.transaction() as session:
        bury(session, AT - DEAD_LETTER_RETENTION - SECOND)
        bury(session, AT - DEAD_LETTER_RETENTION + SECOND)

    with entrypoint_hook(probe, "forget_dead_letters") as forget:
        forget()

    with access.transaction() as session:
        kept = session.execute(select(dead_letters.c.received_at)).scalars().all()
    assert kept == [AT - DEAD_LETTER_RETENTION + SECOND]
