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
import requests

from servicekit.broker import broker_problem
from servicekit.logging import configure_logging

ROOT = Path(__file__).parent
# ``chorus_sandbox``: a local Chorus Pro on a free port, for billing's tests.
# ``prefecture_sandbox``: a local prefecture (@ctes, Hélios) on a free port, for e-administration.
# ``smtp_server``: a real SMTP server (aiosmtpd) on a free port, for e-administration's mail.
pytest_plugins = ["chorus_sandbox.testing", "prefecture_sandbox.testing",
                  "operator_sandbox.testing", "servicekit.testing_smtp"]


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
def docker_compose_command():
    """The compose v2 plugin where it exists, the v1 binary otherwise."""
    if shutil.which("docker-compose") and subprocess.run(
        ["docker", "compose", "version"], capture_output=True, check=False
    ).returncode != 0:
        return "docker-compose"
    return "docker compose"


@pytest.fixture(scope="session")
def docker_setup():
    """Only the broker: the rest of the compose file is the deployment, not a test fixture."""
    return ["up -d rabbitmq"]


@pytest.fixture(scope="session")
def rabbit_manager(request):
    """Nameko's management client, pointed at a broker that answers."""
    from nameko.testing import rabbit

    options = request.config.option
    if broker_problem(options.RABBIT_AMQP_URI) and _docker_works():
        services = request.getfixturevalue("docker_services")
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


ADMIN_USERNAME = "metropole.admin"
ADMIN_PASSWORD = "correct horse battery staple"


@pytest.fixture
def suite_config(rabbit_config, web_config, tmp_path):
    """The config of a suite process: its own vhost, data folder and HTTP port."""
    return {
        **rabbit_config,
        **web_config,
        "DATA_DIR": str(tmp_path / "var"),
        "RPC_TIMEOUT": 10,
        "OUTBOX_POLL_INTERVAL": 0.2,
        "ADMIN_USERNAME": ADMIN_USERNAME,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
    }


@pytest.fixture
def start_services(runner_factory, suite_config):
    """``start_services(IdentityService, GatewayService)`` runs them in this process, on the
    test's own vhost; they are killed when the test ends."""

    def start(*service_classes, **config_overrides):
        runner = runner_factory({**suite_config, **config_overrides}, *service_classes)
        runner.start()
        return runner

    return start


class Api(requests.Session):
    """An HTTP client of the gateway, as a commune's system would use it."""

    def __init__(self, base_url):
        super().__init__()
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        return super().request(method, self.base_url + url, *args, **kwargs)

    def token(self, username, password):
        answer = self.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def as_user(self, username, password):
        """A client whose requests carry that user's token."""
        client = Api(self.base_url)
        client.headers["Authorization"] = f"Bearer {self.token(username, password)}"
        return client


@pytest.fixture
def api(web_config_port):
    with Api(f"http://127.0.0.1:{web_config_port}") as client:
        yield client


@pytest.fixture
def whole_suite(start_services):
    """Every service and the gateway, as ``make run`` starts them."""
    from servicekit.cli import RUNNABLE, service_class

    return start_services(*(service_class(name) for name in RUNNABLE))


@pytest.fixture
def admin_api(api, whole_suite):
    return api.as_user(ADMIN_USERNAME, ADMIN_PASSWORD)
