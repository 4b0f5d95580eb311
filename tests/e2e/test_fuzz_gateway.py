"""Schemathesis against the gateway's own OpenAPI document, served by the whole suite (issue 13).

Every operation of ``/api/v1/openapi.json`` is called with what the document allows and with
what it forbids, and every answer goes through all of Schemathesis' checks: never a 5xx, only
documented statuses, content types, headers and bodies, what the document forbids refused with
a 4xx, what it allows accepted, a token required where the document says so. Once as a
Metropole admin, who reaches every operation; once more, smaller, without a token, on the
public operations.

Bounded so that ``make test`` runs it in minutes on two cores: a few generated cases per
operation, no shrinking, and a fixed seed, so that a failure found in CI is found again on a
laptop.
"""

import pytest
import schemathesis
from hypothesis import strategies as st
from stdnum import luhn

from tests.e2e.support import start_suite

pytestmark = pytest.mark.broker

SEED = 13
SETTINGS = {
    "seed": SEED,
    "suppress-health-check": ["too_slow", "filter_too_much"],
    "generation": {"deterministic": True, "no-shrink": True, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
}
ADMIN_EXAMPLES = 5
PUBLIC_EXAMPLES = 3


def with_luhn_key(digits):
    return digits + luhn.calc_check_digit(digits)


# ``format: siret`` (contracts.fields.Siret), which no pattern of the document can spell: a
# SIREN (8 digits and their Luhn key), 4 digits of establishment, and the whole's Luhn key.
SIRETS = st.builds(lambda siren, establishment: with_luhn_key(siren + establishment),
                   st.from_regex(r"[0-9]{8}", fullmatch=True).map(with_luhn_key),
                   st.from_regex(r"[0-9]{4}", fullmatch=True))
schemathesis.openapi.format("siret", SIRETS)


# Operations with a rule no OpenAPI 3.0 document can state, for which a 422 naming the field
# is the right answer to a request the document alone allows: a rule between two fields, or one
# that looks at the time, at what is stored, or inside a file. Every other rule is in the
# document (patterns, enums, a contract's ``openapi_rules``…); anything but a 422 is a failure.
RULES_BEYOND_THE_DOCUMENT = {
    # between two fields
    "POST /api/v1/conventions": "ends after it starts; each application once; subscriptions "
                                "to the convention's applications",
    "POST /api/v1/communes/{insee}/billing/extras": "quantity × unit price ≤ 10,000,000.00 €",
    "POST /api/v1/communes/{insee}/eservices/camps": "ends on or after the day it starts",
    "POST /api/v1/communes/{insee}/opendata/datasets": "its coverage ends after it starts",
    "PATCH /api/v1/communes/{insee}/opendata/datasets/{dataset_id}": "the same",
    "POST /api/v1/communes/{insee}/participation/processes": "max_projects ≥ min_projects",
    "POST /api/v1/communes/{insee}/procurement/consultations": "each lot its own number; "
                                                               "deadlines after publication",
    "POST /api/v1/communes/{insee}/alerting/campaigns": "a variable's name is a placeholder's "
                                                        "(OpenAPI 3.0 has no propertyNames)",
    # the time, what is stored, a file's content
    "POST /api/v1/communes/{insee}/subscription-requests": "a letter received in the past",
    "PATCH /api/v1/communes/{insee}": "a SIRET of the commune's own SIREN",
    "POST /api/v1/communes/{insee}/eservices/custom-forms": "a price from the commune's second "
                                                            "custom form on",
    "GET /api/v1/communes/{insee}/eservices/requests": "a cursor this list gave",
    "POST /api/v1/communes/{insee}/eadmin/acts": "a PDF",
    "POST /api/v1/communes/{insee}/eadmin/acts/{act_id}/answers": "a PDF",
    "POST /api/v1/communes/{insee}/eadmin/certificates": "a PKCS#12 file its passphrase opens",
}
# Schemathesis' own lists, each with one status more: a URL longer than the HTTP server reads
# is refused by it (414) before the gateway sees it; a rule above is refused with a 422.
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "414", "415", "422", "428", "429",
              "5xx"]
ACCEPTANCES_BUT_FOR_A_RULE = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]


def fuzz_settings(max_examples):
    return schemathesis.Config.from_dict({
        **SETTINGS,
        "generation": {**SETTINGS["generation"], "max-examples": max_examples},
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}},
        "operations": [
            {"include-name": label, "checks": {"positive_data_acceptance": {
                "expected-statuses": ACCEPTANCES_BUT_FOR_A_RULE}}}
            for label in RULES_BEYOND_THE_DOCUMENT],
    })


def served_document(base_url, max_examples):
    return schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json",
                                         config=fuzz_settings(max_examples))


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request):
    """Schemathesis 4.32 reads and rewrites a test's ``Node._nodeid`` to name each operation's
    subtest; pytest 9.2 keeps node ids elsewhere (``_id``): the attribute it reads is given."""
    request.node._nodeid = request.node.nodeid


@pytest.fixture
def admin(api, start_services, smtp_server, web_config_port, chorus_sandbox,
          prefecture_sandbox, operator_server):
    """Every service and the gateway, with the stand-ins of the outside systems they call
    (without which a valid request would rightly be a 503) and the reference convention
    registered, so that requests reach past "no convention yet"; a Metropole admin's client."""
    client, _ = start_suite(api, start_services, smtp_server, web_config_port,
                            **chorus_sandbox.billing_config(),
                            **prefecture_sandbox.eadmin_config(),
                            **operator_server.alerting_config())
    return client


@pytest.fixture
def gateway_document(admin):
    return served_document(admin.base_url, ADMIN_EXAMPLES)


@pytest.fixture
def public_gateway_document(admin):
    return served_document(admin.base_url, PUBLIC_EXAMPLES)


def is_public(context):
    """An operation the document declares no security requirement for."""
    return "security" not in context.operation.definition.raw


every_operation = schemathesis.pytest.from_fixture("gateway_document")
public_operations = schemathesis.pytest.from_fixture("public_gateway_document").include(is_public)


# A guard against a hang, not a speed target: the run takes about three minutes alone on
# two cores, and twice that on a loaded machine.
@pytest.mark.timeout(900)
@every_operation.parametrize()
def test_every_operation_as_a_metropole_admin(case, admin):
    case.call_and_validate(headers={"Authorization": admin.headers["Authorization"]})


@pytest.mark.timeout(120)
@public_operations.parametrize()
def test_public_operations_without_a_token(case):
    case.call_and_validate()
