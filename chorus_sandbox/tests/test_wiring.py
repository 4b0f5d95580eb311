"""How the suite finds its Chorus Pro: the ``COMMUNS_CHORUS_*`` settings, ``communs run
chorus-sandbox`` alone, and ``communs run`` starting the sandbox beside the services."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from nameko.testing.utils import find_free_port

from chorus_sandbox.server import credentials
from servicekit import config as suite_config
from servicekit.sandboxes import free_address
from servicekit.tests.support import wait_until
from services.billing.chorus import ChorusSettings

COMMUNS = Path(sys.executable).with_name("communs")


def billing_and_sandbox(environ):
    config = suite_config.from_environment(environ)
    return config, ChorusSettings.from_config(config), credentials(config)


def test_without_a_chorus_pro_billing_calls_the_local_sandbox_with_its_credentials():
    config, billing, accepted = billing_and_sandbox({})
    assert config["CHORUS_SANDBOX"] is True
    assert (billing.api_url, billing.token_url) == (
        "http://127.0.0.1:8090", "http://127.0.0.1:8090/api/oauth/token")
    assert (billing.client_id, billing.client_secret, billing.technical_login,
            billing.technical_password) == (accepted.client_id, accepted.client_secret,
                                            accepted.login, accepted.password)
    config, billing, _ = billing_and_sandbox({"COMMUNS_CHORUS_SANDBOX_ADDRESS": "127.0.0.1:9191",
                                              "COMMUNS_CHORUS_SANDBOX_STEP_SECONDS": "0.5"})
    assert billing.api_url == "http://127.0.0.1:9191"
    assert config["CHORUS_SANDBOX_STEP_SECONDS"] == 0.5


def test_a_chorus_pro_set_replaces_the_sandbox_and_none_at_all_means_pistes_qualification():
    config, billing, _ = billing_and_sandbox({
        "COMMUNS_CHORUS_API_URL": "https://api.piste.gouv.fr",
        "COMMUNS_CHORUS_CLIENT_ID": "app", "COMMUNS_CHORUS_CLIENT_SECRET": "secret",
        "COMMUNS_CHORUS_LOGIN": "TECH_1_3m@cpro.fr", "COMMUNS_CHORUS_PASSWORD": "pw",
        "COMMUNS_CHORUS_TIMEOUT": "20",
    })
    assert config["CHORUS_SANDBOX"] is False
    assert billing == ChorusSettings(
        "https://oauth.piste.gouv.fr/api/oauth/token", "https://api.piste.gouv.fr", "app",
        "secret", "TECH_1_3m@cpro.fr", "pw", timeout=20.0)
    config, billing, _ = billing_and_sandbox({"COMMUNS_CHORUS_SANDBOX": "false"})
    assert config["CHORUS_SANDBOX"] is False
    assert billing.api_url == "https://sandbox-api.piste.gouv.fr"
    with pytest.raises(ValueError, match="COMMUNS_CHORUS_SANDBOX"):
        suite_config.from_environment({"COMMUNS_CHORUS_SANDBOX": "maybe"})


def test_a_busy_address_is_traded_for_a_free_port_on_the_same_host():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = f"127.0.0.1:{busy.getsockname()[1]}"
        other = free_address(taken)
    assert other != taken and other.startswith("127.0.0.1:")
    assert free_address(other) == other


def environment(data_dir, **settings):
    inherited = {name: value for name, value in os.environ.items()
                 if not name.startswith("COMMUNS_") and name != "AMQP_URI"}
    return {**inherited, "COMMUNS_DATA_DIR": str(data_dir), "COMMUNS_LOG_FORMAT": "json",
            **settings}


def answers(url):
    try:
        return requests.get(f"{url}/_sandbox/health", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def suite_answers(gateway):
    try:
        report = requests.get(f"http://{gateway}/health", timeout=5).json()
    except requests.ConnectionError:
        return False
    return all(service["answered"] for service in report["services"].values())


def stopped(process, deadline=15):
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"still running {deadline} s after SIGTERM")


def test_communs_run_chorus_sandbox_serves_alone_without_a_broker_and_stops_on_sigterm(
        tmp_path):
    address = f"127.0.0.1:{find_free_port()}"
    env = environment(tmp_path, COMMUNS_CHORUS_SANDBOX_ADDRESS=address,
                      AMQP_URI=f"amqp://guest:guest@127.0.0.1:{find_free_port()}/")
    process = subprocess.Popen([str(COMMUNS), "run", "chorus-sandbox"], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers(f"http://{address}"), 20, "the sandbox to answer")
        pid_file = tmp_path / "pids" / "chorus-sandbox.pid"
        assert pid_file.read_text().strip() == str(process.pid)
        token = requests.post(f"http://{address}/api/oauth/token", timeout=5, data={
            "grant_type": "client_credentials",
            **{name: suite_config.CHORUS_SANDBOX_CREDENTIALS[key] for name, key in (
                ("client_id", "CHORUS_CLIENT_ID"), ("client_secret", "CHORUS_CLIENT_SECRET"))},
        })
        assert token.status_code == 200, token.text
    finally:
        assert stopped(process) == 0
    assert not pid_file.exists()
    assert not answers(f"http://{address}")


def test_the_sandbox_beside_a_suite_ends_with_it_even_when_the_suite_is_killed(tmp_path):
    address = f"127.0.0.1:{find_free_port()}"
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time;"
        f"subprocess.Popen([sys.executable, '-m', 'chorus_sandbox', '--address', '{address}',"
        " '--parent-pid', str(__import__('os').getpid())]);"
        "time.sleep(60)")], env=environment(tmp_path))
    try:
        wait_until(lambda: answers(f"http://{address}"), 20, "the sandbox to answer")
    finally:
        parent.kill()
        parent.wait()
    wait_until(lambda: not answers(f"http://{address}"), 10, "the sandbox to end")


@pytest.mark.broker
def test_communs_run_starts_the_sandbox_on_a_free_port_when_its_own_is_busy_and_stops_it(
        rabbit_config, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        gateway = f"127.0.0.1:{find_free_port()}"
        env = environment(tmp_path / "var", AMQP_URI=rabbit_config["AMQP_URI"],
                          COMMUNS_HTTP_ADDRESS=gateway,
                          COMMUNS_CHORUS_SANDBOX_ADDRESS=f"127.0.0.1:{busy.getsockname()[1]}")
        process = subprocess.Popen([str(COMMUNS), "run"], env=env, cwd=tmp_path,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log_file = tmp_path / "var" / "log" / "communs.log"

        def started():
            lines = log_file.read_text().splitlines() if log_file.exists() else []
            return [json.loads(line) for line in lines
                    if '"chorus_sandbox.started"' in line]

        try:
            wait_until(started, 60, "the suite to say where the sandbox listens")
            (line,) = started()
            wait_until(lambda: suite_answers(gateway), 60, "every service to answer")
            assert line["url"] != f"http://127.0.0.1:{busy.getsockname()[1]}"
            assert answers(line["url"])
        finally:
            assert stopped(process) == 0
    assert not answers(line["url"])
    assert "suite.stopped" in log_file.read_text()
