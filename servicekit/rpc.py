"""Calls to another service with a deadline.

Nameko 2.14's ``RpcProxy`` waits for a reply forever; a caller that serves people must not.
At the deadline the callee's queue tells which failure it is: no consumer on ``rpc-<service>``
means the service is stopped or was killed (``ServiceUnavailable``, 503); a consumer that did
not answer, a service slow or hung (``GatewayTimeout``, 504). Either way the caller's worker is
free again after the deadline, whatever the callee does.

The request is published with an AMQP expiration equal to the deadline: a service that comes
back, or frees a worker, later does not run a request its caller gave up on.
"""

from contextlib import suppress

import eventlet
from amqp.exceptions import NotFound as QueueNotFound
from kombu import Connection
from kombu.exceptions import OperationalError as KombuOperationalError
from kombu.pools import connections
from nameko.exceptions import UnknownService
from nameko.rpc import ServiceProxy

from contracts.errors import GatewayTimeout, ServiceUnavailable
from servicekit.logging import get_logger

log = get_logger(__name__)

# The check at the deadline must not hold the caller much longer than the deadline itself.
CONSUMER_CHECK_TIMEOUT = 2.0
RPC_QUEUE = "rpc-{}"


def call(service_proxy, method, *args, timeout, **kwargs):
    """``call(self.identity, "get_account", account_id, timeout=5)``."""
    service = service_proxy.service_name
    proxy = _expiring(service_proxy, timeout)
    # Publishing the request counts against the deadline too: a broker under a resource
    # alarm blocks publishers without refusing them, and kombu's reconnection attempts to a
    # stopped broker take longer than a caller may wait. The publish runs in a greenthread of
    # its own, left to finish when the deadline passes: interrupted, it would still hold the
    # caller while it closed its blocked channel. Its request expires at the deadline anyway.
    deadline = eventlet.Timeout(timeout)
    reply = None
    try:
        reply = eventlet.spawn(getattr(proxy, method).call_async, *args, **kwargs).wait()
        return reply.result()
    except UnknownService:
        raise ServiceUnavailable(f"The {service} service is not running.") from None
    except (KombuOperationalError, OSError) as error:
        raise ServiceUnavailable(f"The message broker cannot be reached to call the {service} "
                                 f"service.") from error
    except eventlet.Timeout as expired:
        if expired is not deadline:
            raise
        if reply is None:
            raise ServiceUnavailable(f"The message broker did not take the request for the "
                                     f"{service} service within {timeout:g} s.") from None
    finally:
        deadline.cancel()
    if not _has_consumer(service_proxy, service):
        raise ServiceUnavailable(f"The {service} service is not running: it did not answer "
                                 f"within {timeout:g} s.")
    raise GatewayTimeout(f"The {service} service did not answer within {timeout:g} s.")


def _expiring(service_proxy, timeout):
    """The same proxy, its requests expiring at the deadline. Nameko's own proxies only: a
    test's stand-in sends nothing to a broker."""
    if not isinstance(service_proxy, ServiceProxy):
        return service_proxy
    return ServiceProxy(service_proxy.worker_ctx, service_proxy.service_name,
                        service_proxy.reply_listener,
                        **{**service_proxy.options, "expiration": timeout})


def _has_consumer(service_proxy, service):
    """Whether a service consumes its RPC queue now. A broker that does not say in time counts
    as none: all the caller can tell is that the service is not there. A test's stand-in has no
    queue, and counts as a running service."""
    if not isinstance(service_proxy, ServiceProxy):
        return True
    amqp_uri = service_proxy.worker_ctx.container.config["AMQP_URI"]
    try:
        with eventlet.Timeout(CONSUMER_CHECK_TIMEOUT):
            return consumer_count(amqp_uri, RPC_QUEUE.format(service)) > 0
    except (Exception, eventlet.Timeout) as error:
        log.warning("rpc.consumer_check_failed", service=service, error=type(error).__name__)
        return False


def consumer_count(amqp_uri, queue):
    """How many consumers ``queue`` has (0 if it does not exist), through a pooled connection:
    a new TCP connection per late request would add load when the suite is already slow."""
    pool = connections[Connection(amqp_uri, connect_timeout=CONSUMER_CHECK_TIMEOUT)]
    with pool.acquire(block=True, timeout=CONSUMER_CHECK_TIMEOUT) as connection:
        try:
            return _consumer_count(connection, queue)
        except connection.connection_errors:
            # The pooled connection went stale (the broker restarted): once more on a new one.
            connection.collect()
            return _consumer_count(connection, queue)
        except BaseException:
            # Interrupted mid-conversation (the deadline): not to be handed out again as it is.
            connection.collect()
            raise


def _consumer_count(connection, queue):
    channel = connection.channel()
    try:
        return channel.queue_declare(queue=queue, passive=True).consumer_count
    except QueueNotFound:
        return 0
    finally:
        # After a 404 the broker has closed the channel already.
        with suppress(Exception):
            channel.close()
