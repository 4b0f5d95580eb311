"""Raw Nameko RPC to ``identity.health``: the framework's own round trip, no gateway.

Run as its own process (``python -m bench.raw_rpc AMQP_URI SECONDS``) because a standalone
proxy needs eventlet's monkey-patching, which the HTTP load threads of the bench must not get.
Prints one JSON object: the latencies of sequential calls through one long-lived
``ClusterRpcProxy``, the way the gateway should hold its proxies (a proxy per call costs
~10-14 ms, anchors §3.2).
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

WARM_UP_SECONDS = 1.0
CALL_TIMEOUT = 5


def _calls_for(identity, seconds):
    latencies_ms = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        identity.health()
        latencies_ms.append((time.perf_counter() - began) * 1000)
    return latencies_ms


def measure_raw_rpc(amqp_uri, seconds):
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=CALL_TIMEOUT) as cluster:
        # The first calls declare the reply queue and open the publisher's connection.
        _calls_for(cluster.identity, WARM_UP_SECONDS)
        began = time.perf_counter()
        latencies_ms = _calls_for(cluster.identity, seconds)
        return {"latencies_ms": latencies_ms, "seconds": time.perf_counter() - began}


if __name__ == "__main__":
    print(json.dumps(measure_raw_rpc(sys.argv[1], float(sys.argv[2]))))
