"""How the suite finds its prefecture: the ``COMMUNS_PREFECTURE_*`` settings, ``communs run
prefecture-sandbox`` alone, and the sandboxes ``communs run`` starts beside the services."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from nameko.testing.utils import find_free_port

from prefecture_sandbox.server import account
from servicekit import config as suite_config
from servicekit.cli import SANDBOXES
from servicekit.tests.support import wait_until
from services.eadmin.transmission import PrefectureSettings

COMMUNS = Path(sys.executable).with_name("communs")


def test_without_a_platform_eadmin_calls_the_local_prefecture_with_its_account():
    config = suite_config.from_environment({})
    settings = PrefectureSettings.from_config(config)
    assert config["PREFECTURE_SANDBOX"] is True
    assert settings.url == "http://127.0.0.1:8091"
    assert (settings.login, settings.password) == account(config)
    config = suite_config.from_environment({
        "COMMUNS_PREFECTURE_SANDBOX_ADDRESS": "127.0.0.1:9292",
        "COMMUNS_PREFECTURE_SANDBOX_STEP_SECONDS": "0.5"})
    assert PrefectureSettings.from_config(config).url == "http://127.0.0.1:9292"
    assert config["PREFECTURE_SANDBOX_STEP_SECONDS"] == 0.5


def test_a_platform_set_replaces_the_sandbox_and_none_at_all_leaves_transmissions_waiting():
    config = suite_config.from_environment({
        "COMMUNS_PREFECTURE_URL": "https://s2low.example.fr/", "COMMUNS_PREFECTURE_LOGIN": "3m",
        "COMMUNS_PREFECTURE_PASSWORD": "pw", "COMMUNS_PREFECTURE_TIMEOUT": "20"})
    assert config["PREFECTURE_SANDBOX"] is False
    assert PrefectureSettings.from_config(config) == PrefectureSettings(
        "https://s2low.example.fr", "3m", "pw", timeout=20.0)
    config = suite_config.from_environment({"COMMUNS_PREFECTURE_SANDBOX": "false"})
    assert PrefectureSettings.from_config(config).url is None
    with pytest.raises(ValueError, match="COMMUNS_PREFECTURE_SANDBOX"):
        suite_config.from_environment({"COMMUNS_PREFECTURE_SANDBOX": "maybe"})


def test_communs_run_knows_every_sandbox():
    assert SANDBOXES == ("chorus-sandbox", "prefecture-sandbox", "operator-sandbox")


def answers(url):
    try:
        return requests.get(f"{url}/_sandbox/health", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def test_communs_run_prefecture_sandbox_serves_alone_without_a_broker_and_stops_on_sigterm(
        tmp_path):
    address = f"127.0.0.1:{find_free_port()}"
    inherited = {name: value for name, value in os.environ.items()
                 if not name.startswith("COMMUNS_") and name != "AMQP_URI"}
    env = {**inherited, "COMMUNS_DATA_DIR": str(tmp_path), "COMMUNS_LOG_FORMAT": "json",
           "COMMUNS_PREFECTURE_SANDBOX_ADDRESS": address,
           "AMQP_URI": f"amqp://guest:guest@127.0.0.1:{find_free_port()}/"}
    process = subprocess.Popen([str(COMMUNS), "run", "prefecture-sandbox"], env=env,
                               cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers(f"http://{address}"), 20, "the sandbox to answer")
        pid_file = tmp_path / "pids" / "prefecture-sandbox.pid"
        assert pid_file.read_text().strip() == str(process.pid)
        listed = requests.get(f"http://{address}/modules/actes/api/list_actes.php", timeout=5,
                              auth=tuple(suite_config.PREFECTURE_SANDBOX_CREDENTIALS.values()))
        assert listed.status_code == 200 and listed.json() == []
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    assert not pid_file.exists()
    assert "prefecture_sandbox.stopped" in (tmp_path / "log" / "communs.log").read_text()
