"""Calls to another service with a deadline.

Nameko 2.14's ``RpcProxy`` waits for a reply forever; a caller that serves people must not.
"""

import eventlet
from nameko.exceptions import UnknownService

from contracts.errors import ServiceUnavailable


def call(service_proxy, method, *args, timeout, **kwargs):
    """``call(self.identity, "get_account", account_id, timeout=5)``."""
    service = service_proxy.service_name
    try:
        reply = getattr(service_proxy, method).call_async(*args, **kwargs)
    except UnknownService:
        raise ServiceUnavailable(f"The {service} service is not running.") from None
    deadline = ServiceUnavailable(f"The {service} service did not answer within {timeout:g} s.")
    with eventlet.Timeout(timeout, deadline):
        return reply.result()
