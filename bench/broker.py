"""A RabbitMQ vhost of the bench's own, so its queues never meet a running suite's."""

import os
import uuid
from contextlib import contextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import requests

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MANAGEMENT_URI = "http://guest:guest@127.0.0.1:15672"
ALL = ".*"


def _management(path):
    base = urlsplit(os.environ.get("RABBIT_API_URI") or DEFAULT_MANAGEMENT_URI)
    host = f"{base.hostname}:{base.port or 15672}"
    return urlunsplit((base.scheme, host, f"/api/{path}", "", "")), (base.username, base.password)


def _amqp_uri_for(vhost):
    base = urlsplit(os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI)
    return urlunsplit((base.scheme, base.netloc, "/" + quote(vhost, safe=""), "", ""))


@contextmanager
def fresh_vhost():
    """Yields the AMQP URI of a new vhost that the broker's guest user may use; deletes it after."""
    vhost = f"communs-bench-{uuid.uuid4().hex[:8]}"
    amqp_user = urlsplit(os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI).username or "guest"
    vhost_url, auth = _management(f"vhosts/{quote(vhost, safe='')}")
    permissions_url, _ = _management(f"permissions/{quote(vhost, safe='')}/{quote(amqp_user)}")
    requests.put(vhost_url, auth=auth, timeout=10).raise_for_status()
    try:
        requests.put(
            permissions_url, auth=auth, timeout=10,
            json={"configure": ALL, "write": ALL, "read": ALL},
        ).raise_for_status()
        yield _amqp_uri_for(vhost)
    finally:
        requests.delete(vhost_url, auth=auth, timeout=10)


def queue_names(vhost):
    """The names of the queues of ``vhost``, from the management API (``RABBIT_API_URI``)."""
    url, auth = _management(f"queues/{quote(vhost, safe='')}?columns=name")
    response = requests.get(url, auth=auth, timeout=10)
    response.raise_for_status()
    return [queue["name"] for queue in response.json()]
