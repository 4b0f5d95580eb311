"""What the sandboxes' pytest fixtures (``chorus_sandbox.testing``,
``prefecture_sandbox.testing``) share: a sandbox application served on a free port of this
machine, in a thread of the test process, and a client of its control API under ``/_sandbox``.
"""

import threading
from contextlib import contextmanager

import requests


class ControlClient:
    """A sandbox served at ``url``: its control API, and ``app``, the application itself, for
    what the HTTP control API does not show."""

    def __init__(self, url, app):
        self.url = url
        self.app = app
        self._http = requests.Session()

    def faults(self):
        """The faults still waiting for their calls."""
        return self._control("GET", "/faults")["faults"]

    def reset(self):
        self._control("POST", "/reset")

    def _control(self, method, path, **kwargs):
        answer = self._http.request(method, f"{self.url}/_sandbox{path}", timeout=10, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def close(self):
        self._http.close()


@contextmanager
def serving(app, client):
    """Serves ``app`` until the block ends; ``client(url)`` is what the block is given (and
    closed after it)."""
    from servicekit.sandboxes import make_wsgi_server

    # A late answer (a 'timeout' fault) may outlive the test: no access line to stray then.
    server = make_wsgi_server(app, "127.0.0.1:0", log_requests=False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    running = client(f"http://127.0.0.1:{server.port}")
    try:
        yield running
    finally:
        running.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
