"""What the e-administration routes refuse before the service (naming the field), and the
service's refusal of a commune that does not subscribe, passed on as a 403 problem."""

import base64

import pytest

from contracts.errors import Forbidden
from gateway.tests.fakes import LAVERUNE, NEW_ACT

pytestmark = pytest.mark.broker

ACTS = f"/api/v1/communes/{LAVERUNE}/eadmin/acts"


@pytest.mark.parametrize("change, field", [
    ({"number": "2022-042"}, "number"),
    ({"number": "_2022"}, "number"),
    ({"number": "A" * 16}, "number"),
    ({"number": "2022_042a"}, "number"),
    ({"nature": "XX"}, "nature"),
    ({"subject": "x" * 500}, "subject"),
    ({"classification": "12"}, "classification"),
    ({"decided_on": "2022-02-30"}, "decided_on"),
    ({"document": {"file_name": "d.pdf", "content": "not base64!"}}, "document"),
    ({"signatories": []}, "signatories"),
])
def test_a_bad_act_is_refused_naming_the_field(gateway, api, agent_headers, fake_services,
                                               change, field):
    answer = api.post(ACTS, headers=agent_headers, json={**NEW_ACT, **change})
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert field in answer.json()["errors"]
    assert fake_services["eadmin"].called("create_act") == []


def test_a_commune_without_e_administration_gets_a_403_naming_it(gateway, api, agent_headers,
                                                                 fake_services):
    def not_subscribed(insee):
        raise Forbidden(f"Commune {insee} does not subscribe to e-administration (eadmin).")

    fake_services["eadmin"].answers["acts"] = not_subscribed
    answer = api.get(ACTS, headers=agent_headers)
    assert answer.status_code == 403, answer.text
    assert "does not subscribe to e-administration" in answer.json()["detail"]


def test_routes_that_take_files_accept_larger_bodies_than_the_others(gateway, api,
                                                                     agent_headers,
                                                                     fake_services):
    three_mib_pdf = base64.b64encode(b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)).decode()
    act = {**NEW_ACT, "document": {"file_name": "gros.pdf", "content": three_mib_pdf}}
    answer = api.post(ACTS, headers=agent_headers, json=act)
    assert answer.status_code == 201, answer.text
    assert len(fake_services["eadmin"].called("create_act")) == 1
    too_large = api.post(f"/api/v1/communes/{LAVERUNE}/subscription-requests",
                         headers=agent_headers,
                         json={"application": "alerting", "action": "add",
                               "padding": "x" * (2 * 1024 * 1024)})
    assert too_large.status_code == 413, too_large.text
    huge = {**NEW_ACT, "document": {"file_name": "enorme.pdf",
                                    "content": "A" * (33 * 1024 * 1024)}}
    assert api.post(ACTS, headers=agent_headers, json=huge).status_code == 413
