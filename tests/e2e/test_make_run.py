"""The real command behind ``make run``: ``communs run`` as its own process, on a vhost and a
data folder of its own, as an operator starts and stops it."""

import json
import os
import random
import signal
import string
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
from nameko.testing.utils import find_free_port

from contracts.catalogue import SERVICES

pytestmark = pytest.mark.broker

COMMUNS = Path(sys.executable).with_name("communs")
STARTUP_DEADLINE = 60
SHUTDOWN_DEADLINE = 15


def free_address():
    return f"127.0.0.1:{find_free_port()}"


@pytest.fixture
def amqp_uri(request, rabbit_manager):
    """A vhost of this test's own, made and removed through the management API."""
    broker = urlparse(request.config.option.RABBIT_AMQP_URI)
    vhost = "communs_run_" + "".join(random.choices(string.ascii_lowercase, k=10))
    rabbit_manager.create_vhost(vhost)
    rabbit_manager.set_vhost_permissions(vhost, broker.username, ".*", ".*", ".*")
    yield f"{broker.scheme}://{broker.netloc}/{vhost}"
    rabbit_manager.delete_vhost(vhost)


@pytest.fixture
def places(tmp_path):
    """The data folder, and the folders the process must leave untouched: where it is
    started from and its home."""
    folders = {name: tmp_path / name for name in ("data", "cwd", "home")}
    for folder in folders.values():
        folder.mkdir()
    return folders


def environment(amqp_uri, data_dir, http_address, home):
    # The suite's own settings are set here, none inherited: a developer's
    # COMMUNS_DATABASE_URL must not send this run's state elsewhere.
    inherited = {name: value for name, value in os.environ.items()
                 if not name.startswith("COMMUNS_") and not name.endswith("_DATABASE_URL")
                 and name not in ("AMQP_URI", "HOME")}
    return {
        **inherited,
        "HOME": str(home),
        "AMQP_URI": amqp_uri,
        "COMMUNS_DATA_DIR": str(data_dir),
        "COMMUNS_HTTP_ADDRESS": http_address,
        "COMMUNS_LOG_FORMAT": "json",
    }


@pytest.fixture
def start_suite(places, tmp_path):
    """Starts ``communs run`` in ``places["cwd"]``; kills it at the end if it still runs."""
    processes = []

    def start(env):
        output = (tmp_path / "output").open("w")
        process = subprocess.Popen([str(COMMUNS), "run"], cwd=places["cwd"], env=env,
                                   stdout=output, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def output_of(tmp_path):
    return (tmp_path / "output").read_text(errors="replace")[-4000:]


def eventually(condition, what, deadline=10):
    give_up_at = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > give_up_at:
            pytest.fail(f"not within {deadline} s: {what}")
        time.sleep(0.1)


def wait_until_all_answer(process, base_url, tmp_path):
    deadline = time.monotonic() + STARTUP_DEADLINE
    last = None
    while time.monotonic() < deadline:
        assert process.poll() is None, f"communs run exited:\n{output_of(tmp_path)}"
        try:
            last = requests.get(f"{base_url}/health", timeout=5).json()
            if all(status["answered"] for status in last["services"].values()):
                return last
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"not every service answered within {STARTUP_DEADLINE} s: {last}\n"
                f"{output_of(tmp_path)}")


def test_communs_run_starts_the_whole_suite_within_its_data_dir_and_stops_on_sigterm(
        amqp_uri, places, start_suite, tmp_path):
    http_address = free_address()
    data_dir = places["data"]
    process = start_suite(environment(amqp_uri, data_dir, http_address, places["home"]))

    report = wait_until_all_answer(process, f"http://{http_address}", tmp_path)

    assert list(report["services"]) == list(SERVICES)
    pid_file = data_dir / "pids" / "communs.pid"
    assert pid_file.read_text().strip() == str(process.pid)
    for service in SERVICES:
        assert (data_dir / "db" / f"{service}.sqlite3").is_file(), service
    log_lines = (data_dir / "log" / "communs.log").read_text().splitlines()
    assert {json.loads(line)["event"] for line in log_lines} >= {"suite.starting"}
    # No admin password was given: identity writes a generated one under the data folder
    # while it starts, and it opens the suite.
    password_file = data_dir / "secrets" / "initial-admin-password"
    eventually(password_file.is_file, f"{password_file} is written")
    login = requests.post(f"http://{http_address}/api/v1/auth/token", timeout=10, json={
        "username": "admin", "password": password_file.read_text().strip()})
    assert login.status_code == 200, login.text
    assert list(places["cwd"].iterdir()) == []
    assert list(places["home"].iterdir()) == []

    process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=SHUTDOWN_DEADLINE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {SHUTDOWN_DEADLINE} s after SIGTERM\n{output_of(tmp_path)}")
    assert status == 0, output_of(tmp_path)
    assert not pid_file.exists()
    assert "suite.stopped" in (data_dir / "log" / "communs.log").read_text()
    assert list(places["cwd"].iterdir()) == []
    assert list(places["home"].iterdir()) == []


def test_communs_run_without_a_broker_says_so_and_how_to_start_one(places, tmp_path):
    closed_port = find_free_port()
    env = environment(f"amqp://guest:guest@127.0.0.1:{closed_port}/", places["data"],
                      free_address(), places["home"])
    finished = subprocess.run([str(COMMUNS), "run"], cwd=places["cwd"], env=env,
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2, finished.stderr
    assert f"cannot reach RabbitMQ at amqp://guest:**@127.0.0.1:{closed_port}/" in finished.stderr
    assert "rabbitmq-server -detached" in finished.stderr
    assert "guest:guest" not in finished.stderr  # the password stays out of the message
    assert not (places["data"] / "pids" / "communs.pid").exists()
