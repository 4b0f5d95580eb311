"""Tenant isolation and mass assignment, for every route the gateway declares: the routes are
read from the gateway itself (``routes_of``), so a route added tomorrow is covered without a
line here.

Isolation: each commune-scoped route that needs a token is called for Lavérune by every kind
of caller — its agent, Montpellier's, a citizen, a company, a relay interpreter, no token, and
tokens the gateway must not believe (expired, signed by another key, unsigned, a claim changed
after signing). Lavérune's agent gets past the gateway where the route's roles admit agents,
and so do a citizen or a company where the route serves them in any commune — and what the
gateway then asks a service names the commune; every other call is refused — 401, 403, or the
404 of a commune that does not exist — before any service is asked anything.

Mass assignment: a body carrying a field its schema does not declare (whose a thing is, what
it costs, its state, a role…) is refused naming that field, never passed on; and a field
declared for some callers only (the day a letter was received, for Metropole staff) is refused
naming it for the others, nothing stored.
"""

import json
import re
import time
import uuid

import jwt
import pytest
from jwt.utils import base64url_decode, base64url_encode
from marshmallow import INCLUDE

from contracts.identity import (
    CITIZEN,
    COMMUNE_AGENT,
    COMPANY,
    METROPOLE_ADMIN,
    RELAY_INTERPRETER,
)
from gateway.http import COMMUNE_PATH_PARAMETER
from gateway.openapi import PATH_PARAMETER, routes_of
from gateway.service import GatewayService
from gateway.tests.fakes import (
    ADMIN_ID,
    AGENT_ID,
    CITIZEN_ID,
    LAVERUNE,
    MONTPELLIER,
    SigningKey,
    bearer,
)
from services.subscriptions.service import SubscriptionsService

pytestmark = pytest.mark.broker

PROBLEM = "application/problem+json"
NOT_A_MEMBER = "99999"
MONTPELLIER_AGENT_ID = str(uuid.UUID(int=36))
# A value for each kind of path parameter but the commune, by its werkzeug converter.
PATH_VALUES = {None: "x", "int": "2023", "uuid": str(uuid.UUID(int=99))}
COMMUNE_SEGMENT = re.compile(r"/communes/<(?:\w+:)?(\w+)>")

ROUTES = [spec for _, spec in routes_of(GatewayService)]


def route_id(spec):
    return f"{spec.method} {spec.openapi_path}"


def takes_a_commune(spec):
    return COMMUNE_PATH_PARAMETER in (name for _, name in PATH_PARAMETER.findall(spec.path))


COMMUNE_ROUTES = [spec for spec in ROUTES if takes_a_commune(spec) and not spec.public]
# A body declared open (``unknown = INCLUDE``) is another party's own format, passed on as it
# came (the SMS operator's callbacks): it has no field a caller could smuggle in.
BODY_ROUTES = [spec for spec in ROUTES if spec.body and spec.body().unknown != INCLUDE]


def url_of(spec, commune):
    def value(parameter):
        converter, name = parameter.groups()
        return commune if name == COMMUNE_PATH_PARAMETER else PATH_VALUES[converter]

    return PATH_PARAMETER.sub(value, spec.path)


def send(api, spec, commune, headers, body=None):
    """``spec`` called for ``commune``; with an empty JSON object where it takes a body and
    none is given, since who may call is settled before a body is read."""
    if body is None and spec.body:
        body = {}
    return api.request(spec.method, url_of(spec, commune), headers=headers, json=body)


def service_calls(fakes):
    """The RPCs the gateway made, as ``(service.method, args, kwargs)``, but for identity's
    public keys, which any token may fetch."""
    return [(f"{name}.{method}", args, kwargs) for name, fake in fakes.items()
            for method, args, kwargs in fake.calls
            if (name, method) != ("identity", "public_keys")]


def forget_calls(fakes):
    for fake in fakes.values():
        fake.calls.clear()


def served_role(spec):
    """A role the route serves — a Metropole admin's wherever it is one — or None when it
    takes no token."""
    if spec.public:
        return None
    if not spec.roles or METROPOLE_ADMIN in spec.roles:
        return METROPOLE_ADMIN
    return spec.roles[0]


@pytest.fixture
def role_headers(admin_headers, agent_headers, citizen_headers, company_headers,
                 interpreter_headers):
    """A caller of each role, the agent being Lavérune's."""
    return {None: {}, METROPOLE_ADMIN: admin_headers, COMMUNE_AGENT: agent_headers,
            CITIZEN: citizen_headers, COMPANY: company_headers,
            RELAY_INTERPRETER: interpreter_headers}


# -- tenant isolation -------------------------------------------------------------------------

LAVERUNE_AGENT = "Lavérune's agent"
MONTPELLIER_AGENT = "Montpellier's agent"
A_CITIZEN = "a citizen"
A_COMPANY = "a company"
AN_INTERPRETER = "a relay interpreter"
# The role of each caller whose token the gateway believes; the others hold none.
ROLES = {LAVERUNE_AGENT: COMMUNE_AGENT, MONTPELLIER_AGENT: COMMUNE_AGENT, A_CITIZEN: CITIZEN,
         A_COMPANY: COMPANY, AN_INTERPRETER: RELAY_INTERPRETER}
REACHED = "past the gateway's checks"
# Who the caller is, which no commune scopes.
CALLER_LOOKUPS = {"identity.get_principal"}


def with_claims(token, **claims):
    """``token`` with ``claims`` changed after it was signed: its header and signature kept."""
    header, payload, signature = token.split(".")
    changed = {**json.loads(base64url_decode(payload)), **claims}
    return ".".join((header, base64url_encode(json.dumps(changed).encode()).decode(),
                     signature))


@pytest.fixture
def callers(signing_key, suite_config, agent_headers, citizen_headers, company_headers,
            interpreter_headers):
    """Every kind of caller, by what it is, with the headers it sends."""
    now = int(time.time())
    montpellier_agent = signing_key.token(MONTPELLIER_AGENT_ID, COMMUNE_AGENT, MONTPELLIER)
    admin = signing_key.token(ADMIN_ID, METROPOLE_ADMIN)
    unsigned = jwt.encode(jwt.decode(admin, options={"verify_signature": False}), None,
                          algorithm="none", headers={"kid": signing_key.kid})
    impostor = SigningKey.generate(suite_config, kid=signing_key.kid)
    stranger = SigningKey.generate(suite_config)
    return {
        LAVERUNE_AGENT: agent_headers,
        MONTPELLIER_AGENT: bearer(montpellier_agent),
        A_CITIZEN: citizen_headers,
        A_COMPANY: company_headers,
        AN_INTERPRETER: interpreter_headers,
        "no token": {},
        "an expired token": bearer(signing_key.token(
            AGENT_ID, COMMUNE_AGENT, LAVERUNE, iat=now - 1000, nbf=now - 1000, exp=now - 100)),
        "a token signed by another key under the same key id": bearer(
            impostor.token(AGENT_ID, COMMUNE_AGENT, LAVERUNE)),
        "a token signed by a key identity does not publish": bearer(
            stranger.token(AGENT_ID, COMMUNE_AGENT, LAVERUNE)),
        "an unsigned token": bearer(unsigned),
        "Montpellier's agent's token, its commune changed to Lavérune": bearer(
            with_claims(montpellier_agent, commune=LAVERUNE)),
        "a citizen's token, its role changed to metropole_admin": bearer(
            with_claims(signing_key.token(CITIZEN_ID, CITIZEN), role=METROPOLE_ADMIN)),
    }


def expected_answer(spec, caller):
    """What the gateway must make of ``caller`` calling ``spec`` for Lavérune: ``REACHED``,
    or the status it refuses the call with."""
    role = ROLES.get(caller)
    if role is None:
        return 401
    if spec.roles and role not in spec.roles:
        return 403
    if caller == LAVERUNE_AGENT:
        return REACHED
    # An agent's commune is their own, whatever a route declares; only the roles a route
    # names may be served in any commune, and only where it says so.
    if role != COMMUNE_AGENT and spec.any_commune and role in spec.roles:
        return REACHED
    return 404


def outcome(answer, calls, out_of_reach):
    """What a call for Lavérune came to: ``REACHED``, or the status it was refused with —
    spelt out with what is wrong when a refusal is no problem document or came after an RPC,
    or when a call let through asked a service something without naming the commune (the
    service could then answer with another commune's data)."""
    if answer.status_code >= 500:
        return f"{answer.status_code}: {answer.text[:300]}"
    content_type = answer.headers.get("Content-Type")
    refused = answer.status_code in (401, 403) or (
        answer.status_code == 404 and content_type == PROBLEM
        and answer.json() == out_of_reach)
    if refused and (content_type != PROBLEM or calls):
        return f"{answer.status_code} as {content_type}, after {[c for c, _, _ in calls]}"
    if refused:
        return answer.status_code
    unscoped = [call for call, args, kwargs in calls
                if call not in CALLER_LOOKUPS and LAVERUNE not in (*args, *kwargs.values())]
    return f"{REACHED}, but {unscoped} not told the commune" if unscoped else REACHED


def test_every_route_under_a_commune_takes_it_as_the_commune_parameter():
    """The gateway keeps callers to their commune through the ``insee`` path parameter: a
    commune taken under another name would escape that check, and the matrix below."""
    misnamed = [route_id(spec) for spec in ROUTES
                if any(name != COMMUNE_PATH_PARAMETER
                       for name in COMMUNE_SEGMENT.findall(spec.path))]
    assert misnamed == []


@pytest.mark.parametrize("spec", COMMUNE_ROUTES, ids=[route_id(s) for s in COMMUNE_ROUTES])
def test_each_caller_reaches_laverune_through_a_commune_route_only_as_its_token_allows(
        gateway, api, fake_services, role_headers, callers, spec):
    # Another commune's data does not exist for a caller: the same 404 as for a code that is
    # no member commune, which no one reaches.
    out_of_reach = send(api, spec, NOT_A_MEMBER, role_headers[served_role(spec)])
    assert (out_of_reach.status_code, service_calls(fake_services)) == (404, []), (
        out_of_reach.text)
    answers = {}
    for caller, headers in callers.items():
        forget_calls(fake_services)
        answer = send(api, spec, LAVERUNE, headers)
        answers[caller] = outcome(answer, service_calls(fake_services), out_of_reach.json())
    assert answers == {caller: expected_answer(spec, caller) for caller in callers}


# -- mass assignment --------------------------------------------------------------------------

# What a caller could hope to slip into a body: whose a thing is, what it costs, where its
# life stands, who may do what.
SMUGGLED = {"commune": MONTPELLIER, "amount": "0.01", "status": "accepted",
            "role": METROPOLE_ADMIN, "received_on": "2022-01-01",
            "acknowledged_at": "2022-01-01T09:00:00+00:00", "acknowledged_on": "2022-01-01",
            "is_admin": True}


def wire_names(fields):
    return {field.data_key or name for name, field in fields.items()}


def undeclared_fields(spec):
    """The fields to smuggle into ``spec``'s body: those above, and those of what the route
    answers (what the service keeps: ids, states, amounts, dates), but for the ones its body
    declares."""
    answered = wire_names(spec.response().dump_fields) if spec.response else set()
    return sorted((SMUGGLED.keys() | answered) - wire_names(spec.body().load_fields))


@pytest.mark.parametrize("spec", BODY_ROUTES, ids=[route_id(s) for s in BODY_ROUTES])
def test_a_field_the_body_does_not_declare_is_refused_naming_it_before_any_service(
        gateway, api, fake_services, role_headers, spec):
    headers = role_headers[served_role(spec)]
    answers = {}
    for name in undeclared_fields(spec):
        forget_calls(fake_services)
        answer = send(api, spec, LAVERUNE, headers, body={name: SMUGGLED.get(name, "x")})
        errors = (answer.json().get("errors", {})
                  if answer.headers.get("Content-Type") == PROBLEM else {})
        answers[name] = (answer.status_code, name in errors, service_calls(fake_services))
    assert answers == {name: (422, True, []) for name in answers}


RECEIPTS = [
    ("subscription-requests", "subscription-requests",
     {"application": "participation", "action": "add"}),
    ("termination", "terminations", {}),
]


@pytest.fixture
def real_subscriptions(container_factory, suite_config, start_gateway):
    """The gateway in front of the subscriptions service itself, its database included."""
    container_factory(SubscriptionsService, suite_config).start()
    start_gateway(real_services=("subscriptions",))


@pytest.mark.parametrize("filed_at, listed_at, notice", RECEIPTS,
                         ids=[filed_at for filed_at, _, _ in RECEIPTS])
def test_only_metropole_staff_date_the_receipt_of_a_letter(
        real_subscriptions, api, agent_headers, admin_headers, filed_at, listed_at, notice):
    """An agent's request or notice is received the day it is filed (Art. 9 and 10): the
    date an agent gives is refused naming it, not dropped, and nothing is recorded."""
    commune = f"/api/v1/communes/{LAVERUNE}"
    dated = {**notice, "received_on": "2022-06-15"}

    refused = api.post(f"{commune}/{filed_at}", json=dated, headers=agent_headers)
    assert refused.status_code == 422, refused.text
    assert list(refused.json()["errors"]) == ["received_on"]
    assert api.get(f"{commune}/{listed_at}", headers=agent_headers).json() == []

    recorded = api.post(f"{commune}/{filed_at}", json=dated, headers=admin_headers)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["received_on"] == "2022-06-15"
    listed = api.get(f"{commune}/{listed_at}", headers=agent_headers).json()
    assert [entry["id"] for entry in listed] == [recorded.json()["id"]]
