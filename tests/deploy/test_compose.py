"""docker-compose.yml as Compose itself resolves it (``config``): one container per service,
each with its command, health check, broker, migration job, database and volume of its own.

No Docker engine is needed: ``config`` only reads and validates the file. CI installs
docker-compose (.ci/run); without it these tests fail rather than skip, so that an unchecked
compose file cannot pass for a checked one.
"""

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from contracts.catalogue import SERVICES
from servicekit import config as suite_config

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INIT_SCRIPTS = ROOT / "deploy" / "postgres"
GATEWAY = "gateway"
RUNNABLE = (*SERVICES, GATEWAY)
CHORUS_SANDBOX = "chorus-sandbox"
PREFECTURE_SANDBOX = "prefecture-sandbox"
OPERATOR_SANDBOX = "operator-sandbox"
# Each sandbox, and the config key of the address it listens on.
SANDBOXES = {CHORUS_SANDBOX: "CHORUS_SANDBOX_ADDRESS",
             PREFECTURE_SANDBOX: "PREFECTURE_SANDBOX_ADDRESS",
             OPERATOR_SANDBOX: "OPERATOR_SANDBOX_ADDRESS"}
DATA_DIR = re.search(r"COMMUNS_DATA_DIR=(\S+)", (ROOT / "Dockerfile").read_text()).group(1)


def compose_command():
    plugin = ["docker", "compose", "version"]
    if shutil.which("docker") and subprocess.run(plugin, capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail(
        "Neither `docker compose` nor `docker-compose` is installed, so docker-compose.yml "
        "cannot be validated. Install one (`apt-get install docker-compose`, as .ci/run does)."
    )


# What an operator must give: compose refuses to start without them.
REQUIRED_PASSWORDS = ("POSTGRES_PASSWORD", "COMMUNS_DB_PASSWORD", "RABBITMQ_PASSWORD")


def compose_config(settings):
    # Only the settings given here: the developer's own shell must not change what is checked.
    environment = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    return subprocess.run(
        [*compose_command(), "--file", str(COMPOSE_FILE), "config"],
        capture_output=True, text=True, check=False, timeout=60,
        env={**environment, **settings},
    )


def resolve(**settings):
    """The compose file with every anchor merged and every ${VARIABLE} replaced, the required
    passwords set to test values unless given."""
    given = {name: f"test-{name.lower()}" for name in REQUIRED_PASSWORDS}
    answer = compose_config({**given, **settings})
    assert answer.returncode == 0, f"compose rejects {COMPOSE_FILE.name}:\n{answer.stderr}"
    return yaml.safe_load(answer.stdout)


@pytest.mark.parametrize("missing", REQUIRED_PASSWORDS)
def test_compose_refuses_to_run_without_each_password(missing):
    settings = {name: "set" for name in REQUIRED_PASSWORDS if name != missing}
    answer = compose_config(settings)
    assert answer.returncode != 0
    assert f"set {missing}" in answer.stderr


@pytest.fixture(scope="module")
def services():
    return resolve()["services"]


@pytest.fixture(scope="module")
def volumes():
    return resolve()["volumes"]


def environment_of(container):
    environment = container.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {name: "" if value is None else str(value) for name, value in environment.items()}


def conditions(container):
    """What a container waits for: {service: condition}."""
    depends_on = container.get("depends_on") or {}
    if isinstance(depends_on, list):
        return dict.fromkeys(depends_on, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in depends_on.items()}


def ports(container):
    """(host ip, published port, container port) of each port, in either of Compose's syntaxes."""
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            yield port.get("host_ip", ""), str(port.get("published") or ""), int(port["target"])
            continue
        parts = str(port).split("/")[0].split(":")
        host_ip, published = {3: parts[:2], 2: ["", parts[0]], 1: ["", ""]}[len(parts)]
        yield host_ip, published, int(parts[-1])


def mounts(container):
    """(source, target) of each volume, in either of Compose's syntaxes."""
    for volume in container.get("volumes") or []:
        if isinstance(volume, dict):
            yield volume.get("source"), volume["target"]
        else:
            source, target = volume.split(":")[:2]
            yield source, target


def database_url(container, service):
    """The URL that service computes, in that container, from its environment."""
    config = suite_config.from_environment(environment_of(container))
    # Without a URL the toolkit falls back to a SQLite file inside the container.
    assert config["DATABASE_URLS"].get(service) or config["DATABASE_URL"], (
        f"no database URL for {service}: it would keep its data in a SQLite file"
    )
    return make_url(suite_config.database_url(config, service))


def test_compose_has_the_broker_the_database_and_every_service_with_its_migration(services):
    expected = {"rabbitmq", "postgres", "topology", *SANDBOXES, *RUNNABLE,
                *(f"migrate-{s}" for s in SERVICES)}
    assert set(services) == expected


@pytest.mark.parametrize("name", RUNNABLE)
def test_each_service_runs_alone_in_its_container_and_restarts(services, name):
    container = services[name]
    assert container["command"] == ["run", name]
    assert container["restart"] in ("unless-stopped", "always")
    assert container["stop_grace_period"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_healthy_when_its_operations_endpoint_says_ready(services, service):
    # Ready: its database answers and its broker connection is up (servicekit/ops.py), on the
    # service's own operations port.
    kind, interpreter, flag, code = services[service]["healthcheck"]["test"]
    assert (kind, interpreter, flag) == ("CMD", "python", "-c")
    compile(code, "healthcheck", "exec")
    assert f"http://127.0.0.1:{suite_config.OPS_PORTS[service]}/health/ready" in code


def test_the_gateway_is_healthy_when_it_answers_http_on_8000(services):
    # The image has no curl: the check is a line of Python, which must at least compile.
    kind, interpreter, flag, code = services[GATEWAY]["healthcheck"]["test"]
    assert (kind, interpreter, flag) == ("CMD", "python", "-c")
    compile(code, "healthcheck", "exec")
    assert "http://127.0.0.1:8000/health" in code


def test_the_gateway_is_published_on_8000(services):
    published = {(published, target) for _, published, target in ports(services[GATEWAY])}
    assert ("8000", 8000) in published


@pytest.mark.parametrize("name", RUNNABLE)
def test_each_service_waits_for_a_healthy_broker_and_for_no_other_service(services, name):
    waits_for = conditions(services[name])
    assert waits_for.pop("rabbitmq") == "service_healthy"
    # Only one-shot jobs, its own migration among them: `docker compose up -d --no-deps <name>`
    # redeploys it alone.
    assert set(waits_for) <= {f"migrate-{name}", "topology"}


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_starts_once_the_bus_topology_is_declared(services, service):
    # Before any service publishes, every event has the queues of all its subscribers.
    assert conditions(services[service])["topology"] == "service_completed_successfully"


def test_the_topology_job_declares_the_bus_once_the_broker_is_healthy(services):
    from servicekit.topology import management_uri

    job = services["topology"]
    assert job["command"] == ["topology"]
    assert conditions(job) == {"rabbitmq": "service_healthy"}
    assert job.get("restart", "no") == "no"
    amqp_uri = environment_of(job)["AMQP_URI"]
    assert amqp_uri == environment_of(services["identity"])["AMQP_URI"]
    # The policy goes through the management plugin of the compose broker, same account.
    api = urlsplit(management_uri(amqp_uri, environment_of(job).get("RABBIT_API_URI")))
    assert (api.hostname, api.port) == ("rabbitmq", 15672)
    assert 15672 in {target for _, _, target in ports(services["rabbitmq"])}
    assert "management" in services["rabbitmq"]["image"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_starts_once_its_database_is_migrated_by_a_one_shot_job(services, service):
    job = services[f"migrate-{service}"]
    assert conditions(services[service])[f"migrate-{service}"] == "service_completed_successfully"
    assert job["command"] == ["migrate", service]
    assert conditions(job) == {"postgres": "service_healthy"}
    assert job.get("restart", "no") == "no"
    assert "healthcheck" not in job
    config = suite_config.from_environment(environment_of(services[service]))
    assert config["DB_MIGRATE_ON_START"] is False, "the job migrates; replicas would race"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_and_its_job_reach_its_own_postgres_database_as_its_own_role(
    services, service
):
    url = database_url(services[service], service)
    assert url.get_backend_name() == "postgresql"
    assert (url.host, url.port, url.database, url.username) == ("postgres", 5432, service, service)
    # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which the suite does not install.
    url.get_dialect().import_dbapi()
    assert database_url(services[f"migrate-{service}"], service) == url


def test_the_init_script_creates_exactly_the_services_databases(services):
    scripts = sorted(INIT_SCRIPTS.iterdir())
    created = [
        name
        for script in scripts
        for name in re.findall(r"^create_database (\S+)$", script.read_text(), re.MULTILINE)
    ]
    assert sorted(created) == sorted(SERVICES)
    # The postgres image runs an executable script, and sources one that is not.
    assert all(script.stat().st_mode & stat.S_IXUSR for script in scripts)
    assert (str(INIT_SCRIPTS), "/docker-entrypoint-initdb.d") in set(mounts(services["postgres"]))


def test_one_setting_gives_the_database_roles_and_the_services_the_same_password():
    password = "a-setting-of-the-operator"
    services = resolve(COMMUNS_DB_PASSWORD=password)["services"]
    assert environment_of(services["postgres"])["COMMUNS_DB_PASSWORD"] == password
    for service in SERVICES:
        assert database_url(services[service], service).password == password


def test_postgres_is_healthy_only_once_it_answers_over_tcp(services):
    check = services["postgres"]["healthcheck"]["test"]
    assert check[:2] == ["CMD", "pg_isready"]
    # During the init scripts the image's temporary server listens on its socket only.
    assert check[check.index("-h") + 1] == "127.0.0.1"


def test_the_broker_is_healthy_when_it_answers_and_tests_can_reach_it(services):
    rabbitmq = services["rabbitmq"]
    assert rabbitmq["healthcheck"]["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"]
    # The root conftest asks pytest-docker for both; the tests make a vhost each through 15672.
    assert {5672, 15672} <= {target for _, _, target in ports(rabbitmq)}
    assert "management" in rabbitmq["image"]


@pytest.mark.parametrize("name", RUNNABLE)
def test_each_service_keeps_its_data_dir_in_a_volume_of_its_own(services, volumes, name):
    (source,) = [source for source, target in mounts(services[name]) if target == DATA_DIR]
    assert source in volumes
    sharing = {
        other for other, container in services.items()
        if (source, DATA_DIR) in set(mounts(container))
    }
    assert sharing <= {name, f"migrate-{name}"}


def test_every_suite_container_runs_the_image_built_from_this_repository(services):
    suite = [name for name in services if name not in ("rabbitmq", "postgres")]
    assert {services[name]["image"] for name in suite} == {"communs:latest"}
    for name in suite:
        assert Path(services[name]["build"]["context"]) == ROOT


def test_no_container_has_a_fixed_name_or_legacy_links(services):
    # A fixed name forbids a second project or a scaled service; links are superseded by the
    # project network and depends_on.
    for name, container in services.items():
        assert "container_name" not in container, name
        assert "links" not in container, name


@pytest.mark.parametrize("name, address_key", SANDBOXES.items())
def test_each_sandbox_runs_alone_answers_its_health_check_and_is_published_nowhere(
    services, name, address_key
):
    sandbox = services[name]
    assert sandbox["command"] == ["run", name]
    assert sandbox["restart"] in ("unless-stopped", "always")
    assert not conditions(sandbox), "it needs neither the broker nor a database"
    assert not list(ports(sandbox)), "its service reaches it on the project network"
    address = suite_config.from_environment(environment_of(sandbox))[address_key]
    host, port = address.rsplit(":", 1)
    assert host == "0.0.0.0"
    kind, interpreter, flag, code = sandbox["healthcheck"]["test"]
    assert (kind, interpreter, flag) == ("CMD", "python", "-c")
    compile(code, "healthcheck", "exec")
    assert f"http://127.0.0.1:{port}/_sandbox/health" in code


def chorus_of(services):
    """The Chorus Pro billing calls, and what the sandbox accepts, each from its environment."""
    from chorus_sandbox.server import credentials
    from services.billing.chorus import ChorusSettings

    billing = ChorusSettings.from_config(
        suite_config.from_environment(environment_of(services["billing"])))
    accepted = credentials(suite_config.from_environment(environment_of(services[CHORUS_SANDBOX])))
    presented = (billing.client_id, billing.client_secret, billing.technical_login,
                 billing.technical_password)
    return billing, presented == (accepted.client_id, accepted.client_secret, accepted.login,
                                  accepted.password)


def test_billing_deposits_on_the_sandbox_with_its_credentials_until_a_chorus_pro_is_set(
    services,
):
    sandbox_config = suite_config.from_environment(environment_of(services[CHORUS_SANDBOX]))
    port = sandbox_config["CHORUS_SANDBOX_ADDRESS"].rsplit(":", 1)[1]
    billing, same_credentials = chorus_of(services)
    assert (billing.api_url, billing.token_url) == (
        f"http://{CHORUS_SANDBOX}:{port}", f"http://{CHORUS_SANDBOX}:{port}/api/oauth/token")
    assert same_credentials
    assert CHORUS_SANDBOX not in conditions(services["billing"]), "billing retries instead"

    piste = resolve(COMMUNS_CHORUS_API_URL="https://api.piste.gouv.fr",
                    COMMUNS_CHORUS_CLIENT_SECRET="an-operator-setting")["services"]
    billing, same_credentials = chorus_of(piste)
    assert (billing.api_url, billing.token_url) == (
        "https://api.piste.gouv.fr", "https://oauth.piste.gouv.fr/api/oauth/token")
    assert billing.client_secret == "an-operator-setting" and same_credentials


def prefecture_of(services):
    """The platform eadmin transmits to, and whether the sandbox accepts its account."""
    from prefecture_sandbox.server import account
    from services.eadmin.transmission import PrefectureSettings

    eadmin = PrefectureSettings.from_config(
        suite_config.from_environment(environment_of(services["eadmin"])))
    accepted = account(suite_config.from_environment(
        environment_of(services[PREFECTURE_SANDBOX])))
    return eadmin, (eadmin.login, eadmin.password) == accepted


def test_eadmin_transmits_to_the_sandbox_with_its_account_until_a_platform_is_set(services):
    sandbox_config = suite_config.from_environment(environment_of(services[PREFECTURE_SANDBOX]))
    port = sandbox_config["PREFECTURE_SANDBOX_ADDRESS"].rsplit(":", 1)[1]
    eadmin, same_account = prefecture_of(services)
    assert eadmin.url == f"http://{PREFECTURE_SANDBOX}:{port}"
    assert same_account
    assert PREFECTURE_SANDBOX not in conditions(services["eadmin"]), "eadmin retries instead"

    platform = resolve(COMMUNS_PREFECTURE_URL="https://s2low.example.fr",
                       COMMUNS_PREFECTURE_PASSWORD="an-operator-setting")["services"]
    eadmin, same_account = prefecture_of(platform)
    assert eadmin.url == "https://s2low.example.fr"
    assert eadmin.password == "an-operator-setting" and same_account
