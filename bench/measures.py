"""What the bench measures, one function per figure; each returns plain numbers for the JSON."""

import json
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from bench.http_load import LoadResult, run_load
from bench.suite import ADMIN_USERNAME, free_port

REPOSITORY = Path(__file__).resolve().parent.parent
WARM_UP_SECONDS = 2.0
HTTP_TIMEOUT = 30
AGENT_USERNAME = "bench.agent"
AGENT_COMMUNE = "34134"  # Lavérune, the agreement's example
ARGON2_SAMPLES = 10


# -- setting up through the public routes -------------------------------------------------------

def access_token(suite, username, password):
    response = requests.post(
        suite.url("/api/v1/auth/token"),
        json={"username": username, "password": password},
        timeout=HTTP_TIMEOUT,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def create_agent(suite):
    """A Lavérune agent made by the admin through POST /api/v1/accounts; returns its credentials."""
    admin_token = access_token(suite, ADMIN_USERNAME, suite.admin_password)
    password = secrets.token_urlsafe(18)
    response = requests.post(
        suite.url("/api/v1/accounts"),
        json={"username": AGENT_USERNAME, "password": password,
              "role": "commune_agent", "commune": AGENT_COMMUNE},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=HTTP_TIMEOUT,
    )
    response.raise_for_status()
    return AGENT_USERNAME, password


# -- figures ------------------------------------------------------------------------------------

def _rounded(milliseconds):
    return None if milliseconds is None else round(milliseconds, 2)


def _summary(result):
    return {
        "concurrency": result.concurrency,
        "seconds": round(result.seconds, 2),
        "requests": result.completed,
        "per_second": round(result.per_second, 1),
        "p50_ms": _rounded(result.percentile(50)),
        "p95_ms": _rounded(result.percentile(95)),
        "p99_ms": _rounded(result.percentile(99)),
        "failures": result.failures,
        "first_failure": result.first_failure,
        # Near 100 % the generator, not the suite, would be what limits the rate.
        "generator_cpu_percent": round(100 * result.generator_cpu_seconds / result.seconds, 1),
    }


def _measured_load(suite, send, concurrency, seconds, alongside=None):
    """A warmed-up load, with the suite's CPU over the measured window.

    ``alongside``, if given, is sent at c=1 during the same window and summarised apart.
    """
    # Connection pools and the gateway's cached signing keys settle before anything counts.
    run_load(send, concurrency, WARM_UP_SECONDS)
    probe_results = []
    probe = alongside and threading.Thread(
        target=lambda: probe_results.append(run_load(alongside, 1, seconds)), daemon=True
    )
    cpu_before = suite.cpu_seconds()
    if probe:
        probe.start()
    result = run_load(send, concurrency, seconds)
    if probe:
        probe.join()
    cpu = suite.cpu_seconds() - cpu_before
    summary = {**_summary(result), "suite_cpu_percent": round(100 * cpu / result.seconds, 1)}
    if probe:
        summary["alongside"] = _summary(probe_results[0])
    else:
        # With a probe beside it the CPU would be shared between two kinds of request.
        summary["suite_cpu_ms_per_request"] = round(1000 * cpu / max(result.completed, 1), 2)
    return summary


def _get_me(suite, token):
    headers = {"Authorization": f"Bearer {token}"}
    url = suite.url("/api/v1/me")
    return lambda session: session.get(url, headers=headers, timeout=HTTP_TIMEOUT)


def me_latency_at_concurrency_1(suite, token, seconds):
    return _measured_load(suite, _get_me(suite, token), 1, seconds)


def me_throughput_at_concurrency_16(suite, token, seconds):
    return _measured_load(suite, _get_me(suite, token), 16, seconds)


def health_latency_at_concurrency_1(suite, seconds):
    def get_health(session):
        return session.get(suite.url("/health"), timeout=HTTP_TIMEOUT)

    return _measured_load(suite, get_health, 1, seconds)


def logins_at_concurrency_4(suite, username, password, token, seconds):
    """Logins per second at c=4, with GET /me at c=1 alongside.

    Every service shares the suite's one eventlet hub and argon2 runs on it without yielding,
    so logins should also slow requests that never touch a password; the /me beside them shows
    by how much.
    """
    credentials = {"username": username, "password": password}

    def log_in(session):
        return session.post(suite.url("/api/v1/auth/token"), json=credentials, timeout=HTTP_TIMEOUT)

    return _measured_load(suite, log_in, 4, seconds, alongside=_get_me(suite, token))


def argon2_verify_ms():
    """One argon2 verification with identity's own hasher, timed here while the suite idles.

    identity runs these on the suite's one hub, one at a time, so 1000 / this is the ceiling
    of logins per second whatever the concurrency. The median, because on a shared 2-core
    machine a neighbour's burst stretches single samples.
    """
    from services.identity import rules

    password = secrets.token_urlsafe(18)
    password_hash = rules.hash_secret(password)
    samples = []
    for _ in range(ARGON2_SAMPLES):
        began = time.perf_counter()
        rules.secret_matches(password_hash, password)
        samples.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(samples), 2)


def http_floor(seconds):
    """The generator against a do-nothing eventlet WSGI server, at c=1 and c=16."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.floor_server", str(port)], cwd=REPOSITORY
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for_port(port)

        def get_ok(session):
            return session.get(url, timeout=HTTP_TIMEOUT)

        floors = {}
        for concurrency in (1, 16):
            run_load(get_ok, concurrency, WARM_UP_SECONDS)
            floors[f"c{concurrency}"] = _summary(run_load(get_ok, concurrency, seconds))
        return floors
    finally:
        server.terminate()
        server.wait()


def _wait_for_port(port, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the floor server did not listen on port {port} within {timeout:g} s")


def raw_rpc_at_concurrency_1(amqp_uri, seconds):
    """identity.health through one long-lived standalone proxy, in a process of its own."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.raw_rpc", amqp_uri, str(seconds)],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=seconds + 60,
    )
    if completed.returncode:
        raise RuntimeError(f"bench.raw_rpc failed:\n{completed.stderr[-2000:]}")
    measured = json.loads(completed.stdout)
    result = LoadResult(1, measured["seconds"], measured["latencies_ms"])
    summary = _summary(result)
    del summary["generator_cpu_percent"]  # another process; its CPU is not measured
    return summary


def suite_memory(suite):
    kib = suite.memory_kib()
    return {"rss_mib": round(kib["VmRSS"] / 1024, 1), "peak_rss_mib": round(kib["VmHWM"] / 1024, 1)}
