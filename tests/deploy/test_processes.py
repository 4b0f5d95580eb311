"""One process per service, as `make run-split` and `make restart-service` run them: the steps
in their order, pid files under the data dir, a stop that ends with SIGKILL when SIGTERM is not
enough, and never signals a process that is not the one its pid file once named."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from nameko.testing.utils import find_free_port

from contracts.catalogue import SERVICES
from servicekit.cli import RUNNABLE, SANDBOXES

ROOT = Path(__file__).resolve().parents[2]
COMMUNS = Path(sys.executable).with_name("communs")


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "var"


@pytest.fixture
def environment(data_dir):
    inherited = {name: value for name, value in os.environ.items()
                 if not name.startswith("COMMUNS_") and not name.endswith("_DATABASE_URL")}
    return {**inherited, "COMMUNS_DATA_DIR": str(data_dir), "COMMUNS_LOG_FORMAT": "json"}


def communs(environment, *arguments, timeout=60):
    return subprocess.run([str(COMMUNS), *arguments], env=environment, capture_output=True,
                          text=True, timeout=timeout, check=False)


def dry_run(target, **variables):
    """The commands ``make <target>`` would run, the install step left out."""
    settings = [f"{name}={value}" for name, value in variables.items()]
    answer = subprocess.run(["make", "--no-print-directory", "-n", target, *settings, "-o",
                             "install"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line.split("/bin/communs ", 1)[1] for line in answer.stdout.splitlines()
            if "/bin/communs " in line]


def names_in(command):
    """The subcommand and the names it is given, without its options or redirections."""
    words = command.split(">", 1)[0].split()
    return [word for word in words if not word.startswith("-")
            and not re.fullmatch(r"[\d.]+", word)]


def test_run_split_starts_sandboxes_migrates_declares_the_bus_then_starts_everything():
    start_sandboxes, migrate, topology, start, ping = dry_run("run-split")
    assert names_in(start_sandboxes)[0] == "start"
    assert set(names_in(start_sandboxes)[1:]) == set(SANDBOXES)
    assert names_in(migrate) == ["migrate", *SERVICES]
    assert topology == "topology"
    assert names_in(start) == ["start", *RUNNABLE]
    assert names_in(ping)[0] == "ping" and "--wait" in ping
    assert set(names_in(ping)[1:]) == {*SANDBOXES, *RUNNABLE}


def test_restart_service_stops_migrates_starts_and_waits_for_one_service():
    assert [names_in(c) for c in dry_run("restart-service", SERVICE="billing")] == [
        ["stop", "billing"], ["migrate", "billing"], ["start", "billing"], ["ping", "billing"]]
    # The gateway and the sandboxes have no database.
    assert [names_in(c)[0] for c in dry_run("restart-service", SERVICE="gateway")] == [
        "stop", "start", "ping"]


def test_a_started_process_has_its_pid_file_answers_and_stops_on_sigterm(environment, data_dir):
    address = f"127.0.0.1:{find_free_port()}"
    environment["COMMUNS_OPERATOR_SANDBOX_ADDRESS"] = address
    started = communs(environment, "start", "operator-sandbox")
    assert started.returncode == 0, started.stderr
    pid = int(re.fullmatch(r"started operator-sandbox \(pid (\d+)\)\n", started.stdout).group(1))
    pid_file = data_dir / "pids" / "operator-sandbox.pid"
    try:
        assert int(pid_file.read_text()) == pid
        answered = communs(environment, "ping", "operator-sandbox", "--wait", "30")
        assert answered.returncode == 0, answered.stderr
        assert requests.get(f"http://{address}/_sandbox/health", timeout=5).status_code == 200
        again = communs(environment, "start", "operator-sandbox")
        assert again.stdout == f"operator-sandbox already runs (pid {pid})\n"

        stopped = communs(environment, "stop", "--grace", "20")
        assert stopped.stdout == f"stopped operator-sandbox (pid {pid})\n", stopped.stderr
        assert not pid_file.exists()
        assert not alive(pid)
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert "operator_sandbox.listening" in (data_dir / "log" / "operator-sandbox.out").read_text()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child of this test that has ended stays a zombie until it is reaped.
    return Path(f"/proc/{pid}/cmdline").read_bytes() != b""


@pytest.fixture
def stubborn(data_dir):
    """A process that ignores SIGTERM, whose command line reads ``… run chorus-sandbox``, as
    a hung one would, and its pid file."""
    process = subprocess.Popen([
        sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
        "run", "chorus-sandbox"])
    (data_dir / "pids").mkdir(parents=True)
    (data_dir / "pids" / "chorus-sandbox.pid").write_text(f"{process.pid}\n")
    time.sleep(0.3)  # its SIGTERM handler in place
    yield process
    process.kill()
    process.wait()


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(
        environment, data_dir, stubborn):
    started = time.monotonic()
    stopped = communs(environment, "stop", "chorus-sandbox", "--grace", "1")
    assert stopped.stdout == (f"killed chorus-sandbox (pid {stubborn.pid}): still running 1 s "
                              "after SIGTERM\n")
    assert stubborn.wait(timeout=5) == -signal.SIGKILL
    assert 1 <= time.monotonic() - started < 10
    assert not (data_dir / "pids" / "chorus-sandbox.pid").exists()


def test_a_pid_file_left_by_a_killed_process_never_signals_the_process_now_at_that_pid(
        environment, data_dir):
    # After a SIGKILL the pid file stays; the system may give its number to anything.
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        (data_dir / "pids").mkdir(parents=True)
        (data_dir / "pids" / "billing.pid").write_text(f"{bystander.pid}\n")
        stopped = communs(environment, "stop", "billing", "--grace", "1")
        assert stopped.stdout == "billing is not running\n"
        assert bystander.poll() is None
        assert not (data_dir / "pids" / "billing.pid").exists()
    finally:
        bystander.kill()
        bystander.wait()
