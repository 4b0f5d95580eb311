"""How much each caller may ask of the gateway: a token bucket per caller.

A caller is the principal of its token on the routes that need one, and its address on the
public ones (login, sign-up, the portals) and for a request without a valid token. Each has
``COMMUNS_RATE_BURST`` requests at once, then ``COMMUNS_RATE_LIMIT`` a second; one more is
refused with a 429 whose ``Retry-After`` says when a request will be let through again —
before any service is called, so a refused request changes nothing.

Buckets live in the gateway's memory, one set per process: a replica counts its own callers.
The address is REMOTE_ADDR, the peer's, unless the peer is one of ``COMMUNS_TRUSTED_PROXIES``:
then it is the client that proxy names in X-Forwarded-For (``client_address``).
"""

import ipaddress
import math
import time
from collections import OrderedDict

from nameko.extensions import DependencyProvider

from contracts.errors import TooManyRequests
from servicekit.config import DEFAULT_RATE_BURST, DEFAULT_RATE_LIMIT

# The callers whose buckets are remembered, least recently seen forgotten first: a flood of
# tokens or addresses costs bounded memory. A caller forgotten gets a full bucket back, which
# it would have had anyway if it stayed away for burst / rate seconds (two at the defaults).
REMEMBERED_CALLERS = 10_000
IPV6_SUBSCRIBER_PREFIX = 64
TOO_MANY_REQUESTS = "Too many requests from this caller; wait as Retry-After says."


def _address(text):
    """``text`` as an IP address, an IPv4-mapped IPv6 one as its IPv4; None if it is none."""
    try:
        address = ipaddress.ip_address(text.strip())
    except (AttributeError, ValueError):
        return None
    return (address.ipv4_mapped or address) if address.version == 6 else address


def client_address(remote_addr, forwarded_for, trusted_proxies):
    """The address of the client a request comes from: the peer's (REMOTE_ADDR), unless the
    peer is a trusted proxy. Then X-Forwarded-For (``forwarded_for``: its values, in the order
    received) is read from the right, each proxy having appended whom it heard from: the first
    entry that is no trusted proxy is the client. Only the trusted proxies' entries are
    believed, since a caller writes whatever it likes to the left of them: an untrusted peer's
    header is ignored, and so is what lies left of an entry that is no address (a trusted proxy
    that could not say whom it heard from), the last trusted hop standing for the client."""
    hop = _address(remote_addr)
    if hop is None or not any(hop in network for network in trusted_proxies):
        return remote_addr
    client = remote_addr
    entries = [entry for value in forwarded_for for entry in value.split(",")]
    for entry in reversed(entries):
        if not entry.strip():
            continue
        hop = _address(entry)
        if hop is None:
            break
        client = str(hop)
        if not any(hop in network for network in trusted_proxies):
            break
    return client


def caller_address(remote_addr):
    """An anonymous caller, as far as limits go: its IPv4 address, or the /64 network of its
    IPv6 one — what one subscriber's line is given, and can rotate through at will. An
    IPv4 client of a dual-stack listener (``::ffff:a.b.c.d``) is its IPv4 address."""
    address = _address(remote_addr)
    if address is None:
        return remote_addr
    if address.version == 4:
        return str(address)
    return str(ipaddress.IPv6Network((address, IPV6_SUBSCRIBER_PREFIX), strict=False))


def caller_of(principal, remote_addr):
    """The bucket a request draws on: its principal's when it has one, its address's else."""
    if principal is None:
        return ("address", caller_address(remote_addr))
    return (principal.kind, principal.id)


class TokenBuckets:
    """``burst`` requests at once per caller, then ``rate`` a second.

    Each caller's bucket holds up to ``burst`` tokens and gains ``rate`` a second; a request
    takes one. ``clock`` gives seconds (``time.monotonic``; a test's own clock).
    """

    def __init__(self, rate, burst, clock=time.monotonic, capacity=REMEMBERED_CALLERS):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.capacity = capacity
        self._buckets = OrderedDict()  # caller → [tokens, when counted], least recent first

    def __len__(self):
        return len(self._buckets)

    def take(self, caller):
        """0 when ``caller`` had a token, now taken; otherwise the whole seconds, rounded up,
        until it has one (a client that waits them is let through), and nothing is taken.

        No greenthread switch happens in here, so concurrent requests cannot both take the
        last token."""
        now = self.clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = self._buckets[caller] = [self.burst, now]
            if len(self._buckets) > self.capacity:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(caller)
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        if bucket[0] >= 1:
            bucket[0] -= 1
            return 0
        return math.ceil((1 - bucket[0]) / self.rate)


class RateLimiter:
    """What a gateway worker sees: ``admit``, which refuses a caller without tokens, and
    ``address_of``, the address of the client a request comes from."""

    def __init__(self, buckets, trusted_proxies=()):
        self.buckets = buckets
        self.trusted_proxies = trusted_proxies

    def address_of(self, request):
        return client_address(request.remote_addr, request.headers.getlist("X-Forwarded-For"),
                              self.trusted_proxies)

    def admit(self, principal, request):
        wait = self.buckets.take(caller_of(principal, self.address_of(request)))
        if wait:
            raise TooManyRequests(TOO_MANY_REQUESTS, retry_after=wait)


class RateLimits(DependencyProvider):
    """One set of buckets per gateway container, sized by ``RATE_LIMIT`` and ``RATE_BURST``,
    and the proxies whose X-Forwarded-For it believes, ``TRUSTED_PROXIES``."""

    def setup(self):
        config = self.container.config
        self.limiter = RateLimiter(
            TokenBuckets(config.get("RATE_LIMIT") or DEFAULT_RATE_LIMIT,
                         config.get("RATE_BURST") or DEFAULT_RATE_BURST),
            tuple(ipaddress.ip_network(network)
                  for network in config.get("TRUSTED_PROXIES") or ()))

    def get_dependency(self, worker_ctx):
        return self.limiter
