"""What a ``201`` points at can be read: the ``Location`` of each created convention, change
request, termination notice and extra work is a GET route, answered by the service that owns
it. A commune's object is asked for under that commune, so the service finds it there only;
another commune's is ``404`` like an id that never existed."""

import uuid
from dataclasses import dataclass

import pytest

from contracts.errors import NotFound
from gateway.tests import fakes
from gateway.tests.fakes import LAVERUNE, MONTPELLIER

pytestmark = pytest.mark.broker


@dataclass(frozen=True)
class Located:
    create: str  # the POST that answers 201 with a Location; {insee} is the commune
    body: dict
    location: str  # where the created object is read; {insee} and {id}
    created_id: str
    service: str
    rpc: str
    not_found: str  # the service's detail for an id it does not find

    def url(self, object_id, commune=LAVERUNE):
        return self.location.format(insee=commune, id=object_id)

    @property
    def commune_scoped(self):
        return "{insee}" in self.location

    def rpc_args(self, object_id, commune=LAVERUNE):
        return (commune, object_id) if self.commune_scoped else (object_id,)


RESOURCES = [
    Located("/api/v1/conventions", fakes.NEW_CONVENTION, "/api/v1/conventions/{id}",
            fakes.CONVENTION_ID, "subscriptions", "get_convention", "No such convention."),
    Located("/api/v1/communes/{insee}/subscription-requests",
            {"application": "participation", "action": "add"},
            "/api/v1/communes/{insee}/subscription-requests/{id}", fakes.REQUEST_ID,
            "subscriptions", "get_subscription_request", "No such request for this commune."),
    Located("/api/v1/communes/{insee}/termination", {},
            "/api/v1/communes/{insee}/terminations/{id}", fakes.TERMINATION_ID,
            "subscriptions", "get_termination", "No such termination notice for this commune."),
    Located("/api/v1/communes/{insee}/billing/extras", fakes.NEW_EXTRA,
            "/api/v1/communes/{insee}/billing/extras/{id}", fakes.EXTRA_ID,
            "billing", "get_extra", "No such extra work for this commune."),
]
IDS = [resource.rpc for resource in RESOURCES]
COMMUNE_RESOURCES = [resource for resource in RESOURCES if resource.commune_scoped]


def assert_not_found(answer, detail):
    assert answer.status_code == 404, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["detail"] == detail


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_the_location_of_what_was_created_reads_it_back(gateway, api, admin_headers,
                                                        fake_services, resource):
    created = api.post(resource.create.format(insee=LAVERUNE), headers=admin_headers,
                       json=resource.body)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == resource.url(resource.created_id)

    answer = api.get(created.headers["Location"], headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == created.json()
    assert fake_services[resource.service].called(resource.rpc) == [
        (resource.rpc, resource.rpc_args(resource.created_id), {})]


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_an_unknown_id_is_404_naming_what_was_not_found(gateway, api, admin_headers,
                                                        fake_services, resource):
    def nothing_there(*_):
        raise NotFound(resource.not_found)

    fake = fake_services[resource.service]
    fake.answers[resource.rpc] = nothing_there
    unknown = str(uuid.uuid4())
    assert_not_found(api.get(resource.url(unknown), headers=admin_headers), resource.not_found)
    assert fake.called(resource.rpc) == [(resource.rpc, resource.rpc_args(unknown), {})]


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_an_id_that_is_no_uuid_reaches_no_service(gateway, api, admin_headers, fake_services,
                                                  resource):
    answer = api.get(resource.url("2022-000001"), headers=admin_headers)
    assert answer.status_code == 404, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert fake_services[resource.service].called(resource.rpc) == []


@pytest.mark.parametrize("resource", COMMUNE_RESOURCES,
                         ids=[resource.rpc for resource in COMMUNE_RESOURCES])
def test_another_communes_object_is_404_for_an_agent(gateway, api, admin_headers,
                                                     agent_headers, fake_services, resource):
    montpelliers = str(uuid.uuid4())
    fake = fake_services[resource.service]
    found = fake.answers[resource.rpc]

    def as_the_service_scopes_it(insee, object_id):
        if (insee, object_id) != (MONTPELLIER, montpelliers):
            raise NotFound(resource.not_found)
        return found(insee, object_id)

    fake.answers[resource.rpc] = as_the_service_scopes_it
    # Under its own commune's path, Lavérune's agent asks Lavérune's objects: the service
    # is told so, and Montpellier's id is unknown there.
    assert_not_found(api.get(resource.url(montpelliers), headers=agent_headers),
                     resource.not_found)
    assert fake.called(resource.rpc) == [
        (resource.rpc, (LAVERUNE, montpelliers), {})]
    # Under Montpellier's path the gateway answers before any service is asked.
    answer = api.get(resource.url(montpelliers, MONTPELLIER), headers=agent_headers)
    assert answer.status_code == 404, answer.text
    assert len(fake.called(resource.rpc)) == 1
    # A Metropole admin reaches it where it is.
    answer = api.get(resource.url(montpelliers, MONTPELLIER), headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["commune"] == MONTPELLIER


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_a_role_the_list_refuses_is_refused_the_object(gateway, api, agent_headers,
                                                       citizen_headers, fake_services,
                                                       resource):
    refused = [citizen_headers] + ([] if resource.commune_scoped else [agent_headers])
    for headers in refused:
        answer = api.get(resource.url(resource.created_id), headers=headers)
        assert answer.status_code == 403, answer.text
        assert answer.headers["Content-Type"] == "application/problem+json"
    assert fake_services[resource.service].called(resource.rpc) == []
