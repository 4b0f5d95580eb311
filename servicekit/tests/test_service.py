"""What every service of the suite gets from ``CommunsService``."""

import pytest
from nameko.rpc import Rpc
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import get_extension

from contracts.errors import CommunsError
from contracts.health import ServiceHealthSchema
from servicekit.database import Database
from servicekit.service import CommunsService, rpc


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
