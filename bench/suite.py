"""The suite under test: one ``communs run`` process, as ``make run`` starts it."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from bench import say
from contracts.catalogue import SERVICES

ADMIN_USERNAME = "bench.admin"
STARTUP_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class SuiteFailed(RuntimeError):
    pass


class Suite:
    def __init__(self, process, base_url, admin_password, log_path):
        self.process = process
        self.base_url = base_url
        self.admin_password = admin_password
        self.log_path = log_path
        self.stop_outcome = None

    def url(self, path):
        return self.base_url + path

    def cpu_seconds(self):
        """User + system CPU of the suite process so far, every thread included."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # After the command name: state is field 3, utime field 14 and stime field 15.
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def memory_kib(self):
        """VmRSS (resident now) and VmHWM (resident at its peak) of the suite process."""
        status = Path(f"/proc/{self.process.pid}/status").read_text().splitlines()
        values = dict(line.split(":", 1) for line in status if line.startswith(("VmRSS", "VmHWM")))
        return {name: int(value.split()[0]) for name, value in values.items()}

    def log_tail(self, lines=30):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _suite_environment(amqp_uri, data_dir, address, admin_password):
    environment = dict(os.environ)
    # State goes to the throwaway data folder: a database URL set for real use must not
    # receive the bench's accounts.
    for name in [name for name in environment if name.endswith("_DATABASE_URL")]:
        del environment[name]
    environment.update(
        AMQP_URI=amqp_uri,
        COMMUNS_DATA_DIR=str(data_dir),
        COMMUNS_HTTP_ADDRESS=address,
        COMMUNS_ADMIN_USERNAME=ADMIN_USERNAME,
        COMMUNS_ADMIN_PASSWORD=admin_password,
        # Log lines cost CPU on the hot path; the figures are of the work, not of logging.
        COMMUNS_LOG_LEVEL="WARNING",
    )
    return environment


def _wait_until_every_service_answers(suite):
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if suite.process.poll() is not None:
            code = suite.process.returncode
            raise SuiteFailed(f"the suite exited with {code}:\n{suite.log_tail()}")
        try:
            report = requests.get(suite.url("/health"), timeout=5).json()
            answered = [name for name, status in report["services"].items() if status["answered"]]
            if set(answered) >= set(SERVICES):
                return
        except (requests.RequestException, ValueError, KeyError):
            pass  # still starting: the gateway is not listening or not every queue exists yet
        time.sleep(0.5)
    raise SuiteFailed(
        f"not every service answered /health within {STARTUP_TIMEOUT:g} s:\n{suite.log_tail()}"
    )


def _stop(process):
    """SIGTERM, as an operator stops it; SIGKILL only if it does not stop in time.

    Returns how it ended rather than raising, so a failure of the bench itself is not hidden.
    """
    if process.poll() is not None:
        return f"had already exited with {process.returncode}"
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    try:
        code = process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return f"ignored SIGTERM for {STOP_TIMEOUT:g} s; killed"
    return f"stopped on SIGTERM in {time.monotonic() - started:.1f} s, exit {code}"


@contextmanager
def running_suite(amqp_uri, log_path):
    """Yields a Suite whose ten services answer /health; stops it with SIGTERM however we leave."""
    communs = Path(sys.executable).parent / "communs"
    admin_password = secrets.token_urlsafe(18)
    address = f"127.0.0.1:{free_port()}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="communs-bench-") as data_dir,
        open(log_path, "wb") as log,
    ):
        process = subprocess.Popen(
            [str(communs), "run"],
            env=_suite_environment(amqp_uri, data_dir, address, admin_password),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        suite = Suite(process, f"http://{address}", admin_password, log_path)
        try:
            _wait_until_every_service_answers(suite)
            yield suite
        finally:
            suite.stop_outcome = _stop(process)
            say(f"suite {suite.stop_outcome}")
