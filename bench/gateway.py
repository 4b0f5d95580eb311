"""The gateway beside the framework's own ceiling, and its load ramp (anchors §4, row 23).

A read route (``GET /api/v1/me``: a token checked, one RPC to identity, one read) and a write
route (``PATCH /api/v1/communes/{insee}``: validated, one RPC to subscriptions, a commit with
its outbox row, an event billing handles) at c=1, 16 and 64, then the same concurrencies
against ``bench.bare_ceiling``'s ``@http`` → one RPC → a do-nothing ``@rpc``, in the same
vhost, while the suite idles.
"""

import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

import requests
from kombu import Connection

from bench import broker, measures, say
from bench.http_load import run_load
from bench.suite import GATEWAY, free_port

CONCURRENCIES = (1, 16, 64)
RAMP = (1, 2, 4, 8, 16, 32, 64)
# Reads must reach this share of the bare ceiling's rate (issue 12).
READ_TARGET_SHARE = 0.7
# The knee: the first concurrency that reaches this share of the ramp's best rate; beyond it,
# more clients only queue (Little's law).
KNEE_SHARE = 0.9
QUEUE_POLL_SECONDS = 0.1
# Lavérune's SIRET (README): the write sets it again, which the service records and announces.
WRITE_SIRET = "21340134200018"
CEILING_START_TIMEOUT = 30.0
# The suite's max_workers (COMMUNS_MAX_WORKERS, unset by the bench): the gateway's requests in
# flight at once, hence its RPCs.
GATEWAY_WORKERS = 10


def read_route(suite, token):
    return measures.get_me(suite, token)


def write_route(suite, admin_token):
    headers = {"Authorization": f"Bearer {admin_token}"}
    url = suite.url(f"/api/v1/communes/{measures.AGENT_COMMUNE}")
    body = {"siret": WRITE_SIRET}
    return lambda session: session.patch(url, json=body, headers=headers,
                                         timeout=measures.HTTP_TIMEOUT)


@contextmanager
def bare_ceiling(amqp_uri):
    """Yields ``(url, pids)`` of the bare ``@http`` → RPC → ``@rpc`` pair, once it answers."""
    port = free_port()
    processes = [
        subprocess.Popen([sys.executable, "-m", "bench.bare_ceiling", "noop", amqp_uri],
                         cwd=measures.REPOSITORY, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "bench.bare_ceiling", "http", amqp_uri,
                          str(port)], cwd=measures.REPOSITORY, stderr=subprocess.DEVNULL),
    ]
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + CEILING_START_TIMEOUT
        while True:
            try:
                if requests.get(url, timeout=2).ok:
                    break
            except requests.RequestException:
                pass  # not listening yet, or the callee's queue not declared yet
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError("the bare ceiling did not answer within "
                                   f"{CEILING_START_TIMEOUT:g} s")
            time.sleep(0.2)
        yield url, [process.pid for process in processes]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()


def against_ceiling(suite, amqp_uri, token, admin_token, seconds):
    """Each route at each concurrency, then the bare ceiling at the same ones."""
    routes = {"read": read_route(suite, token), "write": write_route(suite, admin_token)}
    figures = {name: {} for name in routes}
    gateway_pid = suite.processes[GATEWAY].pid
    for name, send in routes.items():
        for concurrency in CONCURRENCIES:
            say(f"gateway {name} route at c={concurrency} for {seconds:g} s")
            summary = measures.measured_load(suite, send, concurrency, seconds,
                                             apart=gateway_pid)
            summary["gateway_cpu_ms_per_request"] = summary.pop("apart_cpu_ms_per_request")
            figures[name][f"c{concurrency}"] = summary
    with bare_ceiling(amqp_uri) as (url, pids):
        ceiling = {
            "read": lambda session: session.get(url, timeout=measures.HTTP_TIMEOUT),
            "write": lambda session: session.post(url, json={}, timeout=measures.HTTP_TIMEOUT),
        }
        for name, send in ceiling.items():
            figures[f"ceiling_{name}"] = {}
            for concurrency in CONCURRENCIES:
                say(f"bare ceiling {name} at c={concurrency} for {seconds:g} s")
                figures[f"ceiling_{name}"][f"c{concurrency}"] = measures.measured_load(
                    None, send, concurrency, seconds, cpu_of=pids)
    figures["read_target"] = read_target(figures)
    return figures


def read_target(figures):
    """The read route's rate over the ceiling's at each concurrency, and whether every one
    reaches the target."""
    ratios = {key: round(figures["read"][key]["per_second"]
                         / figures["ceiling_read"][key]["per_second"], 2)
              for key in figures["read"]}
    return {"ratios": ratios, "target": READ_TARGET_SHARE,
            "met": all(ratio >= READ_TARGET_SHARE for ratio in ratios.values())}


# -- the ramp ------------------------------------------------------------------------------------

def _gateway_queues(amqp_uri):
    """The queues the read route's RPCs cross: identity's RPC queue and the gateway's replies."""
    vhost = unquote(urlsplit(amqp_uri).path[1:]) or "/"
    names = broker.queue_names(vhost)
    return [name for name in names
            if name == "rpc-identity" or name.startswith("rpc.reply-gateway")]


class QueueDepths:
    """Samples the ready messages of ``queues`` every 0.1 s with passive declares: live counts,
    where the management API's figures are refreshed only every few seconds."""

    def __init__(self, amqp_uri, queues):
        self.amqp_uri, self.queues = amqp_uri, queues
        self.deepest = dict.fromkeys(queues, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        with Connection(self.amqp_uri, connect_timeout=5) as connection:
            channel = connection.channel()
            while not self._stop.is_set():
                for name in self.queues:
                    _, ready, _ = channel.queue_declare(queue=name, passive=True)
                    self.deepest[name] = max(self.deepest[name], ready)
                self._stop.wait(QUEUE_POLL_SECONDS)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()


def ramp(suite, amqp_uri, token, seconds):
    """The read route at each concurrency of ``RAMP``; the knee, its p99, the deepest queue."""
    send = read_route(suite, token)
    steps = {}
    queues = _gateway_queues(amqp_uri)
    with QueueDepths(amqp_uri, queues) as depths:
        for concurrency in RAMP:
            say(f"ramp: read route at c={concurrency} for {seconds:g} s")
            run_load(send, concurrency, measures.WARM_UP_SECONDS / 2)
            steps[f"c{concurrency}"] = measures.summary_of(run_load(send, concurrency, seconds))
    best = max(step["per_second"] for step in steps.values())
    knee = next(step for step in steps.values()
                if step["per_second"] >= KNEE_SHARE * best)
    return {
        "steps": steps,
        "knee": {"concurrency": knee["concurrency"], "per_second": knee["per_second"],
                 "p99_ms": knee["p99_ms"], "best_per_second": best},
        "max_queue_depth": max(depths.deepest.values(), default=0),
        "queue_depths": depths.deepest,
        "gateway_workers": GATEWAY_WORKERS,
    }
