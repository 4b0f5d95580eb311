"""What one caller may ask of the gateway: its token bucket (the rule, on a test's clock), the
429 a caller past it gets from the real gateway before any service is called, and the bound
on every paginated route's ``limit``."""

import ipaddress
import re
import uuid

import pytest

from contracts.identity import (
    CITIZEN,
    COMMUNE_AGENT,
    COMPANY,
    METROPOLE_ADMIN,
    RELAY_INTERPRETER,
)
from contracts.participation import MAX_PAGE
from gateway.auth import Principal
from gateway.http import COMMUNE_PATH_PARAMETER
from gateway.limits import TokenBuckets, caller_address, caller_of, client_address
from gateway.openapi import routes_of
from gateway.service import GatewayService
from gateway.tests.fakes import (
    ADMIN_ID,
    AGENT_ID,
    CITIZEN_ID,
    COMPANY_ID,
    INTERPRETER_ID,
    LAVERUNE,
    bearer,
)
from gateway.tests.test_access import NEW_AGENT, identity_answers
from gateway.tests.test_operations_routes import figure


class Clock:
    """Seconds, as ``time.monotonic`` gives them, set by the test."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def waits(buckets, clock, requests, caller="caller"):
    """What ``take`` answers for each request, each sent at its moment (seconds)."""
    answers = []
    for moment in requests:
        clock.now = moment
        answers.append(buckets.take(caller))
    return answers


# -- the bucket -------------------------------------------------------------------------------


@pytest.mark.parametrize("rate, burst, requests, expected", [
    # The burst goes through at once; the next request waits for the next token.
    (1, 3, [0, 0, 0, 0], [0, 0, 0, 1]),
    # Tokens come back at the rate: two a second here.
    (2, 2, [0, 0, 0, 0.5, 0.5, 1], [0, 0, 1, 0, 1, 0]),
    # Retry-After is the time until a whole token, rounded up to the second: one token every
    # four seconds, asked again at 1, 1.5, 3.75 and 4 seconds.
    (0.25, 1, [0, 0, 1, 1.5, 3.75, 4], [0, 4, 3, 3, 1, 0]),
    # A client that waits what it was told is let through: told 2 s at 0.5 s.
    (0.5, 1, [0, 0.5, 2.5], [0, 2, 0]),
    # A refused request takes nothing: the token due at 1 s is there at 1 s.
    (1, 1, [0, 0.5, 0.5, 0.5, 1], [0, 1, 1, 1, 0]),
    # A bucket holds no more than its burst, however long its caller stayed away.
    (1, 2, [0, 100, 100, 100], [0, 0, 0, 1]),
])
def test_a_caller_has_its_burst_then_the_rate(rate, burst, requests, expected):
    clock = Clock()
    assert waits(TokenBuckets(rate, burst, clock=clock), clock, requests) == expected


def test_each_caller_has_a_bucket_of_its_own():
    clock = Clock()
    buckets = TokenBuckets(1, 2, clock=clock)
    assert waits(buckets, clock, [0, 0, 0], caller="flooder") == [0, 0, 1]
    assert waits(buckets, clock, [0, 0, 0], caller="neighbour") == [0, 0, 1]
    assert waits(buckets, clock, [0], caller="flooder") == [1]


def test_the_least_recently_seen_caller_is_forgotten_beyond_capacity():
    clock = Clock()
    buckets = TokenBuckets(0.5, 1, clock=clock, capacity=2)
    assert [buckets.take(caller) for caller in ("a", "b")] == [0, 0]
    # Refused, but seen: "a" is now the most recent, and "b" goes when "c" comes.
    assert buckets.take("a") == 2
    assert buckets.take("c") == 0
    assert len(buckets) == 2
    # Forgotten, "b" starts again with a full bucket, and pushes "a" out.
    assert buckets.take("b") == 0
    assert buckets.take("a") == 0


def test_a_flood_of_distinct_callers_takes_bounded_memory():
    buckets = TokenBuckets(1000, 2000, clock=Clock(), capacity=100)
    for number in range(10_000):
        buckets.take(("api_client", f"cli_{number}"))
    assert len(buckets) == 100


# -- who the caller is ------------------------------------------------------------------------


@pytest.mark.parametrize("remote_addr, caller", [
    ("192.0.2.7", "192.0.2.7"),
    # An IPv6 subscriber gets a /64 and may use any address in it: the /64 is the caller.
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
    # An IPv4 client of a dual-stack listener is its IPv4 address, not ::ffff:0:0/64.
    ("::ffff:192.0.2.7", "192.0.2.7"),
    # What is no address at all (a Unix socket) stays as it is: one caller.
    ("", ""),
    (None, None),
])
def test_an_anonymous_caller_is_its_address_or_its_ipv6_network(remote_addr, caller):
    assert caller_address(remote_addr) == caller


PROXIES = tuple(ipaddress.ip_network(network)
                for network in ("10.0.0.0/8", "192.0.2.10/32", "2001:db8:ff::/48"))


@pytest.mark.parametrize("remote_addr, forwarded_for, client", [
    # Straight from the client: its address, with or without a header it wrote itself.
    ("198.51.100.7", [], "198.51.100.7"),
    ("198.51.100.7", ["203.0.113.9"], "198.51.100.7"),
    ("2001:db8:1::7", ["203.0.113.9"], "2001:db8:1::7"),
    # Through a trusted proxy: whom it heard from, not what the client wrote before that.
    ("10.0.0.2", ["198.51.100.7"], "198.51.100.7"),
    ("10.0.0.2", ["203.0.113.9, 198.51.100.7"], "198.51.100.7"),
    # A chain of trusted proxies, in one header or in several, each appending its peer.
    ("10.0.0.2", ["203.0.113.9, 198.51.100.7, 192.0.2.10, 10.1.2.3"], "198.51.100.7"),
    ("10.0.0.2", ["203.0.113.9, 198.51.100.7", "192.0.2.10", "10.1.2.3"], "198.51.100.7"),
    # The address right next to a trusted one, but outside it, is a client.
    ("10.0.0.2", ["192.0.2.11"], "192.0.2.11"),
    # IPv6 clients and proxies; an IPv4 client as a dual-stack proxy writes it.
    ("2001:db8:ff::1", ["2001:db8:1::7"], "2001:db8:1::7"),
    ("2001:db8:ff::1", ["2001:DB8:1:0:0:0:0:7, 2001:db8:ff:1::2"], "2001:db8:1::7"),
    ("::ffff:10.0.0.2", ["::ffff:198.51.100.7"], "198.51.100.7"),
    ("10.0.0.2", ["2001:db8:1::7"], "2001:db8:1::7"),
    # A trusted proxy that names no client, or only trusted hops: the last trusted hop.
    ("10.0.0.2", [], "10.0.0.2"),
    ("10.0.0.2", [""], "10.0.0.2"),
    ("10.0.0.2", ["10.1.2.3, 192.0.2.10"], "10.1.2.3"),
    # Garbage: empty entries are skipped; what is no address is never the client, nor is
    # anything left of it, which only the caller vouches for.
    ("10.0.0.2", [" , 198.51.100.7 ,,"], "198.51.100.7"),
    ("10.0.0.2", ["not an address, 198.51.100.7"], "198.51.100.7"),
    ("10.0.0.2", ["198.51.100.7, unknown"], "10.0.0.2"),
    ("10.0.0.2", ["203.0.113.9, 198.51.100.7:4711, 192.0.2.10"], "192.0.2.10"),
    ("10.0.0.2", ["\x00\xff" * 1000], "10.0.0.2"),
    ("10.0.0.2", ["198.51.100.7/24"], "10.0.0.2"),
    # A peer that is no address (a Unix socket) trusts no one's header.
    ("", ["198.51.100.7"], ""),
    (None, ["198.51.100.7"], None),
])
def test_the_client_is_whom_the_trusted_proxies_name_and_the_peer_otherwise(
        remote_addr, forwarded_for, client):
    assert client_address(remote_addr, forwarded_for, PROXIES) == client


def test_without_trusted_proxies_the_client_is_the_peer():
    assert client_address("10.0.0.2", ["198.51.100.7"], ()) == "10.0.0.2"


def test_an_authenticated_caller_is_its_principal_wherever_it_calls_from():
    agent = Principal("account", AGENT_ID, COMMUNE_AGENT, LAVERUNE)
    assert caller_of(agent, "192.0.2.7") == caller_of(agent, "198.51.100.1") == (
        "account", AGENT_ID)
    assert caller_of(None, "192.0.2.7") == ("address", "192.0.2.7")


# -- through the gateway ----------------------------------------------------------------------

# Two requests at once, then one every 10,000 seconds: no token comes back during a test.
TINY_LIMIT = {"RATE_LIMIT": 0.0001, "RATE_BURST": 2}


@pytest.fixture
def identity_answering(fake_identity):
    fake_identity.answers.update(
        {name: answer for name, answer in identity_answers().items()
         if name not in ("public_keys", "get_principal")})
    return fake_identity


def assert_too_many_requests(answer):
    assert answer.status_code == 429, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["status"] == 429
    # The whole seconds until the next token: 10,000 less the few the test took.
    assert 9_000 < int(answer.headers["Retry-After"]) <= 10_000


@pytest.mark.broker
def test_a_caller_past_its_burst_is_refused_429_and_nothing_reaches_identity(
        start_gateway, api, identity_answering, admin_headers, agent_headers):
    start_gateway(**TINY_LIMIT)
    for number in (1, 2):
        created = api.post("/api/v1/accounts", headers=admin_headers,
                           json={**NEW_AGENT, "username": f"agent.laverune{number}"})
        assert created.status_code == 201, created.text

    assert_too_many_requests(api.post("/api/v1/accounts", headers=admin_headers,
                                      json={**NEW_AGENT, "username": "agent.laverune3"}))
    created = [args[0]["username"] for _, args, _ in identity_answering.called("create_account")]
    assert created == ["agent.laverune1", "agent.laverune2"]

    # Another principal has a bucket of its own, and so has the address of anonymous callers.
    assert api.get("/api/v1/me", headers=agent_headers).status_code == 200
    figures = api.get("/metrics")
    assert figures.status_code == 200, figures.text
    assert figure(figures.text, "communs_gateway_requests_total", method="POST",
                  route="/api/v1/accounts", status="429") == 1


@pytest.mark.broker
def test_anonymous_callers_are_counted_by_address(start_gateway, api, identity_answering):
    start_gateway(**TINY_LIMIT)
    credentials = {"username": "agent.laverune", "password": "a long enough secret"}
    for _ in range(2):
        assert api.post("/api/v1/auth/token", json=credentials).status_code == 200
    assert_too_many_requests(api.post("/api/v1/auth/token", json=credentials))
    assert len(identity_answering.called("issue_token")) == 2


@pytest.mark.broker
def test_behind_a_trusted_proxy_each_client_has_a_bucket_of_its_own(
        start_gateway, api, fake_identity):
    # The tests' requests come from the loopback: here, a trusted proxy.
    start_gateway(**TINY_LIMIT, TRUSTED_PROXIES=["127.0.0.0/8", "::1/128"])
    first, second = ({"X-Forwarded-For": f"203.0.113.9, {client}"}
                     for client in ("198.51.100.7", "198.51.100.8"))
    for _ in range(2):
        assert api.get("/health/live", headers=first).status_code == 200
    assert_too_many_requests(api.get("/health/live", headers=first))
    # What the client wrote left of the proxy's entry does not make it someone else.
    assert_too_many_requests(api.get("/health/live", headers={
        "X-Forwarded-For": "192.0.2.99, 198.51.100.7"}))
    assert api.get("/health/live", headers=second).status_code == 200


@pytest.mark.broker
def test_an_untrusted_peer_cannot_choose_its_bucket(start_gateway, api, fake_identity):
    start_gateway(**TINY_LIMIT)
    for client in ("198.51.100.7", "198.51.100.8"):
        assert api.get("/health/live", headers={"X-Forwarded-For": client}).status_code == 200
    assert_too_many_requests(api.get("/health/live",
                                     headers={"X-Forwarded-For": "198.51.100.9"}))


@pytest.mark.broker
def test_a_caller_without_a_valid_token_is_counted_by_its_address(
        start_gateway, api, fake_identity, admin_headers):
    start_gateway(**TINY_LIMIT)
    for forged in ("not-a-token", "a.b.c"):
        assert api.get("/api/v1/me", headers=bearer(forged)).status_code == 401
    assert_too_many_requests(api.get("/api/v1/me", headers=bearer("a.b.c")))
    # The address's bucket, which the public routes draw on too; a valid token has its own.
    assert_too_many_requests(api.get("/health/live"))
    assert api.get("/api/v1/me", headers=admin_headers).status_code == 200


# -- pagination -------------------------------------------------------------------------------

PATH_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
# Who may call a route, by the first of its roles that can: a Metropole admin where it may.
CALLERS = {
    METROPOLE_ADMIN: (ADMIN_ID, None),
    COMMUNE_AGENT: (AGENT_ID, LAVERUNE),
    CITIZEN: (CITIZEN_ID, None),
    COMPANY: (COMPANY_ID, None),
    RELAY_INTERPRETER: (INTERPRETER_ID, None),
}
PAGINATED = [(name, spec) for name, spec in routes_of(GatewayService)
             if spec.query is not None and "limit" in spec.query().fields]


def sample_path(spec):
    """The route's path with a value its converters accept: Lavérune for the commune."""
    def value(match):
        converter, name = match.groups()
        if name == COMMUNE_PATH_PARAMETER:
            return LAVERUNE
        return {"uuid": str(uuid.UUID(int=1)), "int": "1"}.get(converter, "sample")

    return PATH_PARAMETER.sub(value, spec.path)


def headers_for(spec, signing_key):
    if spec.public:
        return {}
    role = METROPOLE_ADMIN if not spec.roles or METROPOLE_ADMIN in spec.roles else spec.roles[0]
    principal_id, commune = CALLERS[role]
    return bearer(signing_key.token(principal_id, role, commune))


# The lists answered whole, and what keeps each short. A list that grows with what the public
# sends (proposals, comments, requests) is read a page at a time instead: ``limit``.
UNPAGED_LISTS = {
    "/api/v1/communes": "the 31 member communes",
    "/api/v1/conventions": "one convention for several years, with its amendments",
    "/api/v1/communes/{insee}/subscription-requests": "a commune's changes of applications",
    "/api/v1/communes/{insee}/terminations": "a commune's notices of leaving the convention",
    "/api/v1/communes/{insee}/accounts": "a commune's agents and API clients",
    "/api/v1/communes/{insee}/billing/titles": "a title a year and its credit notes",
    "/api/v1/billing/titles/late": "a year's titles: one per commune at most",
    "/api/v1/communes/{insee}/billing/extras": "extra work a commune orders, a year at a time",
    "/api/v1/communes/{insee}/eadmin/certificates": "a commune's signing certificates",
    "/api/v1/communes/{insee}/eadmin/acts": "the acts a commune's agents transmit",
    "/api/v1/communes/{insee}/eadmin/archive": "the acts a commune's agents archived",
    "/api/v1/communes/{insee}/eadmin/accounting-batches": "a commune's PES bordereaux",
    "/api/v1/catalogue": "the fixed catalogue of tele-services",
    "/api/v1/communes/{insee}/eservices/forms": "the catalogue's forms and the commune's own",
    "/api/v1/communes/{insee}/eservices/agendas": "a commune's officials and services",
    "/api/v1/communes/{insee}/eservices/agendas/{agenda_id}/slots":
        "the slots to come that the commune's agents opened",
    "/api/v1/communes/{insee}/eservices/camps": "a commune's holiday camps",
    "/api/v1/communes/{insee}/eservices/custom-forms": "the forms a commune had made",
    "/api/v1/me/requests": "the caller's own requests",
    "/api/v1/opendata/publishers": "each commune, its CCAS and the Metropole",
    "/api/v1/communes/{insee}/opendata/datasets": "the datasets a commune's agents publish",
    "/api/v1/communes/{insee}/opendata/overdue-datasets": "some of those",
    "/api/v1/participation/processes": "the processes communes' agents open",
    "/api/v1/communes/{insee}/participation/processes": "the processes of one commune",
    "/api/v1/procurement/buyers": "each commune, its CCAS and the Metropole",
    "/api/v1/communes/{insee}/procurement/consultations": "the consultations of one commune",
    "/api/v1/communes/{insee}/procurement/consultations/{consultation_id}/bids":
        "a count per lot",
    "/api/v1/communes/{insee}/alerting/accounts": "a commune's alert accounts",
    "/api/v1/communes/{insee}/alerting/groups": "a commune's recipient groups",
    "/api/v1/communes/{insee}/alerting/scenarios": "the library and a commune's own scenarios",
    "/api/v1/communes/{insee}/alerting/crisis-cells": "a commune's crisis cells",
    "/api/v1/communes/{insee}/alerting/campaigns": "the campaigns a commune's agents launch",
    "/api/v1/communes/{insee}/accessibility/hours": "a commune's reception points",
    "/api/v1/communes/{insee}/accessibility/links": "a commune's relay links",
    "/api/v1/accessibility/queue": "the sessions waiting for an interpreter now",
    "/api/v1/accessibility/sessions/{session_id}/transcript":
        "one session's lines after the last one read; the session ends",
    "/api/v1/relay/{token}/sessions/{session_id}/transcript":
        "one session's lines after the last one read; the session ends",
}


def test_every_list_route_is_paginated_or_says_what_keeps_it_short():
    lists = {spec.openapi_path for _, spec in routes_of(GatewayService)
             if spec.many and spec.method == "GET"}
    paginated = {spec.openapi_path for _, spec in PAGINATED}
    assert lists - paginated == set(UNPAGED_LISTS)
    # The test below reads the paginated routes from the routes: it finds today's.
    assert paginated >= {"/api/v1/audit/logins", "/api/v1/communes/{insee}/eservices/requests",
                         "/api/v1/participation/processes/{process_id}/proposals"}


@pytest.mark.broker
@pytest.mark.parametrize("name, spec", PAGINATED, ids=[name for name, _ in PAGINATED])
def test_a_page_larger_than_the_cap_is_422_naming_limit(
        gateway, api, fake_services, signing_key, name, spec):
    answer = api.request(spec.method, sample_path(spec), params={"limit": 100_000},
                         headers=headers_for(spec, signing_key))
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "limit" in answer.json()["errors"]
    # The keys that verify the token, and nothing else.
    assert [call for fake in fake_services.values() for call in fake.calls
            if call[0] != "public_keys"] == []


@pytest.mark.broker
def test_the_page_asked_for_reaches_the_service(gateway, api, fake_services):
    proposals = f"/api/v1/participation/processes/{uuid.UUID(int=1)}/proposals"
    assert api.get(proposals, params={"limit": 10, "offset": 20}).status_code == 200
    assert api.get(proposals).status_code == 200
    assert [args[1] for _, args, _ in fake_services["participation"].called("proposals")] == [
        {"limit": 10, "offset": 20}, {"limit": MAX_PAGE, "offset": 0}]
