"""The framework's own ceiling for the gateway: a bare Nameko ``@http`` entrypoint that makes
one RPC to a service that does nothing, each in a process of its own as the gateway and the
services run under ``make run-split``.

    python -m bench.bare_ceiling http AMQP_URI PORT   # GET and POST / → one RPC → the answer
    python -m bench.bare_ceiling noop AMQP_URI        # the RPC's do-nothing callee

No token, no validation, no logging, no deadline: whatever the gateway does not reach of these
figures is what its own checks cost. Same worker pool as the suite's services (10).
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402

from nameko.cli.run import run  # noqa: E402
from nameko.rpc import RpcProxy, rpc  # noqa: E402
from nameko.web.handlers import http  # noqa: E402

MAX_WORKERS = 10


class NoopService:
    name = "bench_noop"

    @rpc
    def nothing(self):
        return {"ok": True}


class CeilingHttpService:
    name = "bench_ceiling_http"

    noop = RpcProxy("bench_noop")

    @http("GET", "/")
    def read(self, request):
        return json.dumps(self.noop.nothing())

    @http("POST", "/")
    def write(self, request):
        return json.dumps(self.noop.nothing())


if __name__ == "__main__":
    role, amqp_uri = sys.argv[1], sys.argv[2]
    config = {"AMQP_URI": amqp_uri, "max_workers": MAX_WORKERS}
    if role == "http":
        config["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{sys.argv[3]}"
    run([CeilingHttpService if role == "http" else NoopService], config)
