"""A split suite for the fault tests: each service in a process of its own, as docker-compose
and ``make run-split`` run them, so that one can be killed and started again while the others
go on.

    suite = SplitSuite(tmp_path / "var", amqp_uri, COMMUNS_RPC_TIMEOUT=3, COMMUNS_HEARTBEAT=5)
    suite.start("identity", "subscriptions", "billing", "gateway")   # each answers, or it raises
    suite.kill("billing")                      # SIGKILL; kill("billing", signal.SIGTERM) to stop
    suite.restart("billing")                   # the same command and env, until it answers
    suite.stop_all()                           # SIGTERM, then SIGKILL whatever is left

Each process is ``python -m servicekit.cli run <service>`` with ``COMMUNS_DATA_DIR`` set to the
suite's own folder (its SQLite databases under ``db/``), its stderr in ``log/<service>.out``.
The suite keeps its own Popen handles rather than pid files. ``publish_event`` puts an event on
the bus as its producer's outbox would, and ``rows`` reads a service's database.
"""

import ctypes
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from kombu import Connection, Producer
from nameko.standalone.events import get_event_exchange

from servicekit.outbox import make_envelope
from tests.chaos.broker import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN_USERNAME = "metropole.admin"
ADMIN_PASSWORD = "correct horse battery staple"
GATEWAY = "gateway"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class SplitSuite:
    def __init__(self, data_dir, amqp_uri, **env):
        self.data_dir = Path(data_dir)
        self.amqp_uri = amqp_uri
        self.http_port = free_port()
        self.gateway_url = f"http://127.0.0.1:{self.http_port}"
        self.env = {
            **os.environ,
            "AMQP_URI": amqp_uri,
            "COMMUNS_DATA_DIR": str(self.data_dir),
            "COMMUNS_HTTP_ADDRESS": f"127.0.0.1:{self.http_port}",
            "COMMUNS_PUBLIC_URL": self.gateway_url,
            "COMMUNS_ADMIN_USERNAME": ADMIN_USERNAME,
            "COMMUNS_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "COMMUNS_LOG_FORMAT": "json",
            "COMMUNS_OUTBOX_POLL_INTERVAL": "0.2",
            # No sandbox: a fault test's services never reach an outside system.
            "COMMUNS_CHORUS_SANDBOX": "false",
            "COMMUNS_PREFECTURE_SANDBOX": "false",
            "COMMUNS_OPERATOR_SANDBOX": "false",
            **{key: str(value) for key, value in env.items()},
        }
        self.processes = {}
        self.exit_codes = {}  # of the processes stopped or killed, by service

    # -- processes

    def start(self, *names, wait=True):
        (self.data_dir / "log").mkdir(parents=True, exist_ok=True)
        for name in names:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-W", "ignore", "-m", "servicekit.cli", "run", name],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=self.log_path(name).open("ab"), preexec_fn=_end_with_parent,
            )
        if wait:
            for name in names:
                self.wait_until_answering(name)

    def kill(self, name, sig=signal.SIGKILL, timeout=STOP_TIMEOUT):
        """Sends ``sig`` and waits for the end; returns the seconds it took to exit."""
        process = self.processes.pop(name)
        sent_at = time.monotonic()
        process.send_signal(sig)
        try:
            self.exit_codes[name] = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            self.exit_codes[name] = process.wait()
            raise
        return time.monotonic() - sent_at

    def restart(self, name, wait=True):
        if name in self.processes:
            self.kill(name, signal.SIGTERM)
        self.start(name, wait=wait)

    def stop_all(self, timeout=STOP_TIMEOUT):
        """SIGTERM to every process at once, SIGKILL to those still there after ``timeout``
        (a Nameko service asked to stop while its broker is unreachable keeps reconnecting)."""
        processes, self.processes = self.processes, {}
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, process in processes.items():
            try:
                self.exit_codes[name] = process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                self.exit_codes[name] = process.wait()

    def check_alive(self):
        """Raises if a process the suite started has ended without being asked to: a test
        waiting for it would otherwise wait for nothing."""
        ended = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        if ended:
            raise RuntimeError(f"ended unasked: {ended}; see {self.data_dir / 'log'}")

    def wait_until_answering(self, name, timeout=START_TIMEOUT):
        from nameko.standalone.rpc import ClusterRpcProxy

        deadline = time.monotonic() + timeout
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=2) as cluster:
            while True:
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; "
                                       f"see {self.log_path(name)}")
                if self._gateway_answers() if name == GATEWAY else _healthy(cluster, name):
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer within {timeout:g} s")
                time.sleep(0.3)

    def _gateway_answers(self):
        try:
            requests.get(f"{self.gateway_url}/health", timeout=5)
        except requests.RequestException:
            return False
        return True

    # -- what the services wrote

    def log_path(self, name):
        return self.data_dir / "log" / f"{name}.out"

    def log_events(self, name, event):
        """The JSON log lines of ``name`` whose event is ``event``."""
        found = []
        path = self.log_path(name)
        if not path.exists():
            return found
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if f'"{event}"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == event:
                found.append(entry)
        return found

    def database(self, name):
        return self.data_dir / "db" / f"{name}.sqlite3"

    def rows(self, name, sql, *params):
        """Rows of ``sql`` in the service's SQLite database, read beside the running service."""
        connection = sqlite3.connect(self.database(name), timeout=30)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    # -- the gateway

    def client(self, username=ADMIN_USERNAME, password=ADMIN_PASSWORD):
        """A requests session logged in at the gateway (the first admin by default)."""
        session = requests.Session()
        answer = session.post(f"{self.gateway_url}/api/v1/auth/token",
                              json={"username": username, "password": password}, timeout=30)
        answer.raise_for_status()
        session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return session


def _end_with_parent():
    """In the child, before exec: SIGTERM it when the test process ends, however it ends (a
    pytest-timeout may leave without running any finalizer)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _healthy(cluster, name):
    """``communs ping``: the service's health RPC answers ok."""
    try:
        return getattr(cluster, name).health()["status"] == "ok"
    except Exception:
        return False


def publish_event(amqp_uri, event_type, datas, commune_of=lambda data: data.get("commune")):
    """Publishes one event of ``event_type`` per payload in ``datas``, in its producer's
    envelope, persistent and confirmed, as the producer's outbox relay does; returns their
    event ids in order."""
    exchange = get_event_exchange(event_type.producer, {})
    event_ids = []
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.default_channel, exchange=exchange)
        for data in datas:
            envelope = make_envelope(event_type, data, datetime.now(UTC), commune_of(data))
            producer.publish(envelope, routing_key=event_type.name, delivery_mode=2,
                             declare=[exchange], retry=True,
                             retry_policy={"max_retries": 5, "interval_start": 0.5})
            event_ids.append(envelope["event_id"])
    return event_ids
