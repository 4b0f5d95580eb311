"""What the bench measures, one function per figure; each returns plain numbers for the JSON."""

import gc
import json
import random
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
from bench.suite import ADMIN_USERNAME, free_port, process_cpu_seconds

REPOSITORY = Path(__file__).resolve().parent.parent
WARM_UP_SECONDS = 2.0
HTTP_TIMEOUT = 30
AGENT_USERNAME = "bench.agent"
AGENT_COMMUNE = "34134"  # Lavérune, the agreement's example
ARGON2_SAMPLES = 10
BILLING_COMMUNES = 35_000
# Applications that no commune but Lavérune has under the reference convention.
CHANGE_APPLICATIONS = ("participation", "alerting", "accessibility", "eadmin")
BILLING_SAMPLES = 3


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

def rounded(milliseconds):
    return None if milliseconds is None else round(milliseconds, 2)


def summary_of(result):
    return {
        "concurrency": result.concurrency,
        "seconds": round(result.seconds, 2),
        "requests": result.completed,
        "per_second": round(result.per_second, 1),
        "p50_ms": rounded(result.percentile(50)),
        "p95_ms": rounded(result.percentile(95)),
        "p99_ms": rounded(result.percentile(99)),
        "failures": result.failures,
        "first_failure": result.first_failure,
        # Near 100 % the generator, not the suite, would be what limits the rate.
        "generator_cpu_percent": round(100 * result.generator_cpu_seconds / result.seconds, 1),
    }


def measured_load(suite, send, concurrency, seconds, alongside=None, cpu_of=None,
                  apart=None):
    """A warmed-up load, with the CPU of the suite's processes (or of ``cpu_of``'s, a list of
    pids, for a baseline) over the measured window, and that of process ``apart`` alone.

    ``alongside``, if given, is sent at c=1 during the same window and summarised apart.
    """
    def cpu_seconds():
        if cpu_of is not None:
            return sum(process_cpu_seconds(pid) for pid in cpu_of)
        return suite.cpu_seconds()

    # Connection pools and the gateway's cached signing keys settle before anything counts.
    run_load(send, concurrency, WARM_UP_SECONDS)
    probe_results = []
    probe = alongside and threading.Thread(
        target=lambda: probe_results.append(run_load(alongside, 1, seconds)), daemon=True
    )
    cpu_before = cpu_seconds()
    apart_before = apart and process_cpu_seconds(apart)
    if probe:
        probe.start()
    result = run_load(send, concurrency, seconds)
    if probe:
        probe.join()
    cpu = cpu_seconds() - cpu_before
    summary = {**summary_of(result), "suite_cpu_percent": round(100 * cpu / result.seconds, 1)}
    if apart:
        apart_cpu = process_cpu_seconds(apart) - apart_before
        summary["apart_cpu_ms_per_request"] = round(1000 * apart_cpu / max(result.completed, 1), 2)
    if probe:
        summary["alongside"] = summary_of(probe_results[0])
    else:
        # With a probe beside it the CPU would be shared between two kinds of request.
        summary["suite_cpu_ms_per_request"] = round(1000 * cpu / max(result.completed, 1), 2)
    return summary


def get_me(suite, token):
    headers = {"Authorization": f"Bearer {token}"}
    url = suite.url("/api/v1/me")
    return lambda session: session.get(url, headers=headers, timeout=HTTP_TIMEOUT)


def me_latency_at_concurrency_1(suite, token, seconds):
    return measured_load(suite, get_me(suite, token), 1, seconds)


def me_throughput_at_concurrency_16(suite, token, seconds):
    return measured_load(suite, get_me(suite, token), 16, seconds)


def health_latency_at_concurrency_1(suite, seconds):
    def get_health(session):
        return session.get(suite.url("/health"), timeout=HTTP_TIMEOUT)

    return measured_load(suite, get_health, 1, seconds)


def logins_at_concurrency_4(suite, username, password, token, seconds):
    """Logins per second at c=4, with GET /me at c=1 alongside.

    Every service shares the suite's one eventlet hub and argon2 runs on it without yielding,
    so logins should also slow requests that never touch a password; the /me beside them shows
    by how much.
    """
    credentials = {"username": username, "password": password}

    def log_in(session):
        return session.post(suite.url("/api/v1/auth/token"), json=credentials, timeout=HTTP_TIMEOUT)

    return measured_load(suite, log_in, 4, seconds, alongside=get_me(suite, token))


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
            floors[f"c{concurrency}"] = summary_of(run_load(get_ok, concurrency, seconds))
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
    summary = summary_of(result)
    del summary["generator_cpu_percent"]  # another process; its CPU is not measured
    return summary


def admin_session(suite):
    session = requests.Session()
    session.headers["Authorization"] = (
        f"Bearer {access_token(suite, ADMIN_USERNAME, suite.admin_password)}"
    )
    return session


def register_reference_convention(suite, session):
    """The 2022–2024 convention, registered as ``make demo`` does."""
    import demo

    reference = json.loads(demo.CONVENTION_FILE.read_text(encoding="utf-8"))
    session.post(suite.url("/api/v1/conventions"), json=demo.convention_from(reference),
                 timeout=HTTP_TIMEOUT).raise_for_status()


def communes_to_change(member_communes):
    """Every member commune but Lavérune, which has more than open data under the reference
    convention: the others all start alike."""
    import demo

    return [insee for insee in sorted(member_communes) if insee != demo.LAVERUNE]


def file_change_request(suite, session, insee, n):
    """A letter received on 15 June 2022 asking for one more application, recorded by an
    admin; returns its decision URL."""
    application = CHANGE_APPLICATIONS[n % len(CHANGE_APPLICATIONS)]
    requests_url = suite.url(f"/api/v1/communes/{insee}/subscription-requests")
    filed = session.post(requests_url, timeout=HTTP_TIMEOUT, json={
        "application": application, "action": "add", "received_on": "2022-06-15"})
    filed.raise_for_status()
    return f"{requests_url}/{filed.json()['id']}/decision"


def suite_memory(suite):
    """Each process's resident memory now (RSS and PSS) and at its peak (RSS), and their sums,
    in MiB. A shared library's pages count in the RSS of every process that maps them, so the
    RSS sums overstate the suite; the PSS sum is what the suite holds."""
    per_process = {
        name: {"rss_mib": round(kib["VmRSS"] / 1024, 1),
               "pss_mib": round(kib["Pss"] / 1024, 1),
               "peak_rss_mib": round(kib["VmHWM"] / 1024, 1)}
        for name, kib in suite.memory_kib().items()
    }
    return {
        "processes": per_process,
        **{f"total_{figure}": round(sum(p[figure] for p in per_process.values()), 1)
           for figure in ("rss_mib", "pss_mib", "peak_rss_mib")},
    }


def billing_rules(communes=BILLING_COMMUNES):
    """Annex 1 and every title of a year with billing's rules, for ``communes`` synthetic
    communes each subscribing to the seven applications, beside a plain integer largest
    remainder over the same weights, seven times, timed in the same run.

    The synthetic convention bills all seven applications (open data included) so that both
    sides allocate seven times. Medians of a few runs, the garbage collector on as in service.
    """
    from datetime import date
    from decimal import Decimal

    from contracts.catalogue import APPLICATION_CODES
    from services.billing import rules

    draw = random.Random(2022)
    populations = {f"{n:05d}": draw.randint(0, 300_000) for n in range(communes)}
    costs = {code: Decimal(draw.randint(1_000_000, 5_000_000)).scaleb(-2)
             for code in APPLICATION_CODES}
    convention = rules.Convention("synthetic", date(2022, 1, 1), date(2024, 12, 31), 2023,
                                  frozenset(populations), costs)
    subscribers = {code: set(populations) for code in APPLICATION_CODES}

    def annex_and_titles():
        annex = rules.annex(2023, convention, populations, subscribers)
        return rules.titles(2023, annex, subscribers)

    weights = [*populations.values(), sum(populations.values())]
    cents = [rules.to_cents(cost) for cost in costs.values()]

    def baseline():
        for total in cents:
            _plain_largest_remainder(total, weights)

    titles = annex_and_titles()
    counts = {"titles": len(titles), "lines": sum(len(t.lines) for t in titles.values())}
    # Kept alive, a quarter of a million lines would slow every later collection it survives.
    del titles
    return {
        "communes": communes,
        "applications": len(APPLICATION_CODES),
        **counts,
        "rules_s": _median_seconds(annex_and_titles),
        "baseline_s": _median_seconds(baseline),
    }


def _plain_largest_remainder(total, weights):
    total_weight = sum(weights)
    exact = [divmod(total * weight, total_weight) for weight in weights]
    shares = [floor for floor, _ in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i][1], reverse=True)
    for i in order[:total - sum(shares)]:
        shares[i] += 1
    return shares


def _median_seconds(work):
    samples = []
    for _ in range(BILLING_SAMPLES):
        gc.collect()  # each sample starts without the previous one's garbage
        began = time.perf_counter()
        work()
        samples.append(time.perf_counter() - began)
    return round(statistics.median(samples), 3)
