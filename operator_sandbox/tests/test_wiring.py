"""How the suite finds its SMS and voice operator: the ``COMMUNS_OPERATOR_*`` settings, and
``communs run operator-sandbox`` alone."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from nameko.testing.utils import find_free_port

from operator_sandbox.server import credentials
from servicekit import config as suite_config
from servicekit import sandboxes
from servicekit.tests.support import wait_until
from services.alerting.operator import OperatorClient, OperatorSettings

COMMUNS = Path(sys.executable).with_name("communs")
ROOT = Path(__file__).resolve().parents[2]


def test_without_an_operator_alerting_calls_the_local_one_with_its_credentials():
    config = suite_config.from_environment({})
    assert config["OPERATOR_SANDBOX"] is True
    settings, accepted = OperatorSettings.from_config(config), credentials(config)
    assert (settings.api_url, settings.calling_url) == ("http://127.0.0.1:8092",) * 2
    assert (settings.service_plan_id, settings.api_token, settings.voice_key,
            settings.voice_secret) == (accepted.service_plan_id, accepted.api_token,
                                       accepted.voice_key, accepted.voice_secret)
    assert accepted.senders == (settings.sender,) == ("TELEALERTE",)
    assert sandboxes.BY_COMMAND["operator-sandbox"] is sandboxes.OPERATOR
    assert sandboxes.OPERATOR.url_key == "OPERATOR_API_URL"


def test_an_operator_set_replaces_the_sandbox():
    config = suite_config.from_environment({
        "COMMUNS_OPERATOR_API_URL": "https://eu.sms.api.sinch.com"})
    assert (config["OPERATOR_SANDBOX"], config["OPERATOR_API_URL"]) == (
        False, "https://eu.sms.api.sinch.com")
    config = suite_config.from_environment({"COMMUNS_OPERATOR_SANDBOX": "false"})
    assert (config["OPERATOR_SANDBOX"], config["OPERATOR_API_URL"]) == (False, None)


def stopped(process, deadline=15):
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"still running {deadline} s after SIGTERM")


def answers(url):
    try:
        return requests.get(f"{url}/_sandbox/health", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def test_communs_run_operator_sandbox_serves_alone_and_stops_on_sigterm(tmp_path):
    address = f"127.0.0.1:{find_free_port()}"
    inherited = {name: value for name, value in os.environ.items()
                 if not name.startswith("COMMUNS_") and name != "AMQP_URI"}
    env = {**inherited, "COMMUNS_DATA_DIR": str(tmp_path), "COMMUNS_LOG_FORMAT": "json",
           "COMMUNS_OPERATOR_SANDBOX_ADDRESS": address,
           "COMMUNS_OPERATOR_SANDBOX_DELAY_SECONDS": "0.05",
           # The sources, whether or not the installed package lists operator_sandbox yet.
           "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))),
           "AMQP_URI": f"amqp://guest:guest@127.0.0.1:{find_free_port()}/"}
    process = subprocess.Popen([str(COMMUNS), "run", "operator-sandbox"], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://{address}"
    try:
        wait_until(lambda: answers(url), 20, "the operator to answer")
        pid_file = tmp_path / "pids" / "operator-sandbox.pid"
        assert pid_file.read_text().strip() == str(process.pid)
        config = {**suite_config.from_environment({}), "OPERATOR_API_URL": url}
        sent = OperatorClient(config).send_sms(
            [{"recipient_id": 1, "to": "+33612345678", "text": "Exercice"}])
        assert sent[1].endswith(":+33612345678")
    finally:
        assert stopped(process) == 0
    assert not pid_file.exists()
    assert not answers(url)
