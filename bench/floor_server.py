"""The load generator's floor: a WSGI app that answers ``ok`` on eventlet's server, nothing else.

The gateway serves HTTP on the same eventlet server, so what the generator reaches here bounds
every HTTP figure of the suite on this machine at this moment: whatever it does not reach
against the suite is the suite's own cost. Run as ``python -m bench.floor_server PORT``.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import sys  # noqa: E402

from eventlet import wsgi  # noqa: E402


def answer_ok(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


if __name__ == "__main__":
    wsgi.server(eventlet.listen(("127.0.0.1", int(sys.argv[1]))), answer_ok, log_output=False)
