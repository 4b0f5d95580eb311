"""The suite under test: one ``communs run <service>`` process per service and per sandbox, as
``make run-split`` (and docker-compose) starts them, so that each one's memory and CPU can be
read apart."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

from bench import say
from contracts.catalogue import SERVICES
from servicekit.sandboxes import SANDBOXES

ADMIN_USERNAME = "bench.admin"
GATEWAY = "gateway"
STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class SuiteFailed(RuntimeError):
    pass


def process_cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime field 14 and stime field 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_memory_kib(pid):
    """VmRSS (resident now), VmHWM (resident at its peak) and Pss (resident now, each shared
    page divided among the processes that map it: these add up) of one process."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    values = dict(line.split(":", 1) for line in [*status, *rollup]
                  if line.startswith(("VmRSS:", "VmHWM:", "Pss:")))
    return {name: int(value.split()[0]) for name, value in values.items()}


class Suite:
    def __init__(self, processes, base_url, admin_password, log_dir, data_dir):
        self.processes = processes  # command name → Popen, in start order
        self.base_url = base_url
        self.admin_password = admin_password
        self.log_dir = log_dir
        self.data_dir = Path(data_dir)
        self.stop_outcome = None

    def url(self, path):
        return self.base_url + path

    def database_file(self, service):
        """The service's SQLite file (the bench never hands the suite a database URL)."""
        return self.data_dir / "db" / f"{service}.sqlite3"

    def cpu_seconds(self, names=None):
        """User + system CPU of the suite's processes (or of ``names``) so far."""
        return sum(process_cpu_seconds(process.pid) for name, process in self.processes.items()
                   if names is None or name in names)

    def memory_kib(self):
        """Per process: VmRSS, VmHWM and Pss."""
        return {name: process_memory_kib(process.pid) for name, process in self.processes.items()}

    def exited(self):
        return {name: process.returncode for name, process in self.processes.items()
                if process.poll() is not None}

    def log_tail(self, name, lines=30):
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


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
    # Every process must find the same sandboxes, and none may take another suite's port.
    for sandbox in SANDBOXES:
        environment[f"COMMUNS_{sandbox.address_key}"] = f"127.0.0.1:{free_port()}"
    return environment


def _wait_until_every_service_answers(suite):
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        exited = suite.exited()
        if exited:
            name, code = next(iter(exited.items()))
            raise SuiteFailed(f"{name} exited with {code}:\n{suite.log_tail(name)}")
        try:
            report = requests.get(suite.url("/health"), timeout=5).json()
            answered = [name for name, status in report["services"].items() if status["answered"]]
            if set(answered) >= set(SERVICES):
                return
        except (requests.RequestException, ValueError, KeyError):
            pass  # still starting: the gateway is not listening or not every queue exists yet
        time.sleep(0.5)
    raise SuiteFailed(f"not every service answered /health within {STARTUP_TIMEOUT:g} s:\n"
                      f"{suite.log_tail(GATEWAY)}")


def _stop(processes):
    """SIGTERM to each, as an operator stops them; SIGKILL to those that do not stop in time.

    Returns how they ended rather than raising, so a failure of the bench itself is not hidden.
    """
    started = time.monotonic()
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    outcomes = {}
    for name, process in processes.items():
        try:
            code = process.wait(max(STOP_TIMEOUT - (time.monotonic() - started), 0.1))
            outcomes[name] = code
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            outcomes[name] = "killed"
    killed = [name for name, code in outcomes.items() if code == "killed"]
    failed = {name: code for name, code in outcomes.items() if code not in (0, "killed")}
    return (f"{len(processes)} processes stopped on SIGTERM in "
            f"{time.monotonic() - started:.1f} s"
            + (f"; killed after {STOP_TIMEOUT:g} s: {', '.join(killed)}" if killed else "")
            + (f"; non-zero exits: {failed}" if failed else ""))


@contextmanager
def running_suite(amqp_uri, log_dir):
    """Yields a Suite whose ten services answer /health, each service, the gateway and each
    sandbox in a process of its own; stops them with SIGTERM however we leave."""
    communs = Path(sys.executable).parent / "communs"
    admin_password = secrets.token_urlsafe(18)
    address = f"127.0.0.1:{free_port()}"
    log_dir.mkdir(parents=True, exist_ok=True)
    names = [*(sandbox.command for sandbox in SANDBOXES), *SERVICES, GATEWAY]
    with ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="communs-bench-"))
        environment = _suite_environment(amqp_uri, data_dir, address, admin_password)
        suite = Suite({}, f"http://{address}", admin_password, log_dir, data_dir)
        try:
            for name in names:
                log = stack.enter_context(open(log_dir / f"{name}.log", "wb"))
                suite.processes[name] = subprocess.Popen(
                    [str(communs), "run", name], env=environment,
                    stdout=log, stderr=subprocess.STDOUT,
                )
            _wait_until_every_service_answers(suite)
            yield suite
        finally:
            suite.stop_outcome = _stop(suite.processes)
            say(f"suite: {suite.stop_outcome}")
