"""A gateway in front of stand-in services, and tokens signed with a key the tests hold.

The gateway runs for real — its HTTP server, its token checks, its validation — on a vhost
of its own; each RPC proxy is replaced by a ``FakeService`` that answers what the test says
and records every call, so a test can tell that a refused request reached no service.
"""

import pytest
from nameko.testing.services import replace_dependencies

from contracts.catalogue import SERVICES
from contracts.identity import (
    CITIZEN,
    COMMUNE_AGENT,
    COMPANY,
    METROPOLE_ADMIN,
    RELAY_INTERPRETER,
)
from gateway.service import GatewayService
from gateway.tests.fakes import (
    ADMIN_ID,
    AGENT_ID,
    CITIZEN_ID,
    COMPANY_ID,
    INTERPRETER_ID,
    LAVERUNE,
    FakeService,
    SigningKey,
    accessibility_answers,
    alerting_answers,
    bearer,
    billing_answers,
    eadmin_answers,
    eservices_answers,
    opendata_answers,
    participation_answers,
    procurement_answers,
    subscriptions_answers,
)


@pytest.fixture
def signing_key(suite_config):
    """Signs as identity does, for the issuer the gateway expects: its public URL."""
    return SigningKey.generate(suite_config)


@pytest.fixture
def principals():
    """What the fake identity's ``get_principal`` knows, by id."""
    return {
        ADMIN_ID: {"kind": "account", "id": ADMIN_ID, "name": "metropole.admin",
                   "role": METROPOLE_ADMIN, "commune": None},
        AGENT_ID: {"kind": "account", "id": AGENT_ID, "name": "agent.laverune",
                   "role": COMMUNE_AGENT, "commune": LAVERUNE},
        CITIZEN_ID: {"kind": "account", "id": CITIZEN_ID, "name": "Ada Lovelace",
                     "role": CITIZEN, "commune": None, "email": "ada@example.org"},
        COMPANY_ID: {"kind": "account", "id": COMPANY_ID, "name": "ACME Travaux",
                     "role": COMPANY, "commune": None, "email": "offres@acme.example",
                     "siret": "73282932000074"},
        INTERPRETER_ID: {"kind": "account", "id": INTERPRETER_ID, "name": "interprete.lsf",
                         "role": RELAY_INTERPRETER, "commune": None},
    }


@pytest.fixture
def fake_services(signing_key, principals):
    """One fake per service; identity publishes ``signing_key`` and knows ``principals``."""
    fakes = {name: FakeService(name, health={"service": name, "status": "ok",
                                             "database": "ok"})
             for name in SERVICES}
    fakes["identity"].answers.update(
        public_keys=lambda: {"keys": [signing_key.jwk()]},
        get_principal=lambda kind, principal_id: principals[principal_id],
        accounts_of_commune=lambda commune: [],
    )
    fakes["subscriptions"].answers.update(subscriptions_answers())
    fakes["billing"].answers.update(billing_answers())
    fakes["eadmin"].answers.update(eadmin_answers())
    fakes["opendata"].answers.update(opendata_answers())
    fakes["eservices"].answers.update(eservices_answers())
    fakes["procurement"].answers.update(procurement_answers())
    fakes["participation"].answers.update(participation_answers())
    fakes["alerting"].answers.update(alerting_answers())
    fakes["accessibility"].answers.update(accessibility_answers())
    return fakes


@pytest.fixture
def fake_identity(fake_services):
    return fake_services["identity"]


@pytest.fixture
def start_gateway(container_factory, suite_config, fake_services):
    """``start_gateway(ServiceClass, **config)`` runs that gateway (``GatewayService`` by
    default) in front of the fakes, on the port the ``api`` fixture calls; the services named
    in ``real_services`` are called for real instead, the test having started them."""

    def start(service_cls=GatewayService, real_services=(), **config_overrides):
        container = container_factory(service_cls, {**suite_config, **config_overrides})
        replace_dependencies(container, **{name: fake for name, fake in fake_services.items()
                                           if name not in real_services})
        container.start()
        return container

    return start


@pytest.fixture
def fake_subscriptions(fake_services):
    return fake_services["subscriptions"]


@pytest.fixture
def fake_billing(fake_services):
    return fake_services["billing"]


@pytest.fixture
def gateway(start_gateway):
    return start_gateway()


@pytest.fixture
def admin_headers(signing_key):
    return bearer(signing_key.token(ADMIN_ID, METROPOLE_ADMIN))


@pytest.fixture
def agent_headers(signing_key):
    return bearer(signing_key.token(AGENT_ID, COMMUNE_AGENT, LAVERUNE))


@pytest.fixture
def citizen_headers(signing_key):
    return bearer(signing_key.token(CITIZEN_ID, CITIZEN))


@pytest.fixture
def company_headers(signing_key):
    return bearer(signing_key.token(COMPANY_ID, COMPANY))


@pytest.fixture
def interpreter_headers(signing_key):
    return bearer(signing_key.token(INTERPRETER_ID, RELAY_INTERPRETER))
