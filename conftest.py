"""Test configuration shared by every package's tests.

Tests run under ``nameko test`` (eventlet is monkey-patched before anything imports a socket).
Broker tests use the RabbitMQ at ``AMQP_URI``, each in a vhost of its own made through the
management API (``RABBIT_API_URI``); where no broker answers and a Docker engine works,
pytest-docker starts the compose file's RabbitMQ instead.
"""

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from servicekit.broker import broker_problem
from servicekit.logging import configure_logging

ROOT = Path(__file__).parent


def pytest_configure(config):
    amqp_uri = os.environ.get("AMQP_URI")
    if amqp_uri and config.getoption("RABBIT_AMQP_URI").startswith("pyamqp://guest:guest@localhost"):
        config.option.RABBIT_AMQP_URI = amqp_uri
    api_uri = os.environ.get("RABBIT_API_URI")
    if api_uri:
        config.option.RABBIT_API_URI = api_uri
    configure_logging("json", "INFO")


def _docker_works():
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True, check=False
    ).returncode == 0


@pytest.fixture(scope="session")
def docker_compose_file():
    return str(ROOT / "docker-compose.yml")


@pytest.fixture(scope="session")
def rabbit_manager(request):
    """Nameko's management client, pointed at a broker that answers."""
    from nameko.testing import rabbit

    options = request.config.option
    if broker_problem(options.RABBIT_AMQP_URI) and _docker_works():
        services = request.getfixturevalue("docker_services")
        services.start("rabbitmq")
        host = "127.0.0.1"
        amqp_port = services.port_for("rabbitmq", 5672)
        api_port = services.port_for("rabbitmq", 15672)
        options.RABBIT_AMQP_URI = f"amqp://guest:guest@{host}:{amqp_port}/"
        options.RABBIT_API_URI = f"http://guest:guest@{host}:{api_port}"
        services.wait_until_responsive(
            check=lambda: broker_problem(options.RABBIT_AMQP_URI) is None, timeout=60, pause=1
        )
    problem = broker_problem(options.RABBIT_AMQP_URI)
    if problem:
        pytest.fail(
            f"No RabbitMQ at {urlparse(options.RABBIT_AMQP_URI).hostname}: {problem}. "
            "Start one (rabbitmq-server -detached) with its management plugin."
        )
    return rabbit.Client(options.RABBIT_API_URI)


@pytest.fixture
def suite_config(rabbit_config, tmp_path):
    """The config of a suite process: its own vhost, its own data folder."""
    return {
        **rabbit_config,
        "DATA_DIR": str(tmp_path / "var"),
        "RPC_TIMEOUT": 10,
        "OUTBOX_POLL_INTERVAL": 0.2,
        "ADMIN_USERNAME": "metropole.admin",
        "ADMIN_PASSWORD": "correct horse battery staple",
    }
