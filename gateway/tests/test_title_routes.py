"""What the routes of a title's life send to billing, what they refuse before it (naming the
field), and the e-invoice answered as XML."""

import pytest

from contracts.errors import Invalid
from gateway.tests.fakes import ADMIN_ID, AGENT_ID, E_INVOICE, LAVERUNE

pytestmark = pytest.mark.broker

TITLE = f"/api/v1/communes/{LAVERUNE}/billing/titles/2022-000001"


def assert_invalid(answer, field, fake, rpc):
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert field in answer.json()["errors"]
    assert fake.called(rpc) == []


def test_the_e_invoice_is_answered_as_xml(gateway, api, agent_headers, fake_billing):
    answer = api.get(f"{TITLE}/invoice.xml", headers=agent_headers)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/xml")
    assert answer.text == E_INVOICE
    assert fake_billing.called("e_invoice") == [("e_invoice", (LAVERUNE, "2022-000001"), {})]


def test_a_contestation_goes_with_its_author(gateway, api, agent_headers, fake_billing):
    body = {"emailed_on": "2022-03-05", "reason": "Population erronée"}
    answer = api.post(f"{TITLE}/contestation", headers=agent_headers, json=body)
    assert answer.status_code == 201, answer.text
    assert fake_billing.called("contest_title") == [
        ("contest_title", (LAVERUNE, "2022-000001", body), {"filed_by": AGENT_ID})]


@pytest.mark.parametrize("body, field", [
    ({"reason": "x"}, "emailed_on"),
    ({"emailed_on": "05/03/2022", "reason": "x"}, "emailed_on"),
    ({"emailed_on": "2022-03-05"}, "reason"),
    ({"emailed_on": "2022-03-05", "reason": ""}, "reason"),
    ({"emailed_on": "2022-03-05", "reason": "x" * 2001}, "reason"),
    ({"emailed_on": "2022-03-05", "reason": "x", "late": True}, "late"),
])
def test_a_bad_contestation_is_refused_naming_the_field(gateway, api, agent_headers,
                                                        fake_billing, body, field):
    assert_invalid(api.post(f"{TITLE}/contestation", headers=agent_headers, json=body), field,
                   fake_billing, "contest_title")


@pytest.mark.parametrize("body, field", [
    ({"paid_on": "2022-03-20", "amount": 150.11}, "amount"),
    ({"paid_on": "2022-03-20", "amount": "150.111"}, "amount"),
    ({"paid_on": "2022-03-20", "amount": "0.00"}, "amount"),
    ({"paid_on": "2022-03-20", "amount": "-1.00"}, "amount"),
    ({"amount": "1.00"}, "paid_on"),
])
def test_a_bad_payment_is_refused_naming_the_field(gateway, api, admin_headers, fake_billing,
                                                   body, field):
    assert_invalid(api.post(f"{TITLE}/payments", headers=admin_headers, json=body), field,
                   fake_billing, "record_payment")


def test_a_decision_is_maintain_or_correct(gateway, api, admin_headers, fake_billing):
    assert_invalid(api.post(f"{TITLE}/decision", headers=admin_headers,
                            json={"decision": "cancel"}), "decision", fake_billing,
                   "decide_contestation")
    answer = api.post(f"{TITLE}/decision", headers=admin_headers, json={"decision": "correct"})
    assert answer.status_code == 200, answer.text
    assert fake_billing.called("decide_contestation") == [
        ("decide_contestation", (LAVERUNE, "2022-000001", {"decision": "correct"}),
         {"decided_by": ADMIN_ID})]


def test_deadlines_need_a_date_of_reception(gateway, api, citizen_headers, fake_billing):
    for params in ({}, {"received_on": "2026-02-30"}, {"received_on": "tomorrow"}):
        assert_invalid(api.get("/api/v1/billing/deadlines", headers=citizen_headers,
                               params=params), "received_on", fake_billing, "deadlines")
    answer = api.get("/api/v1/billing/deadlines", headers=citizen_headers,
                     params={"received_on": "2026-11-02"})
    assert answer.status_code == 200, answer.text
    assert fake_billing.called("deadlines") == [("deadlines", ("2026-11-02",), {})]


def test_a_refusal_of_billing_keeps_its_field(gateway, api, agent_headers, fake_billing):
    def window_closed(insee, number, contestation, filed_by):
        raise Invalid({"emailed_on": ["The contestation window closed on 14/11/2022."]},
                      detail="The contestation window closed on 14/11/2022.")

    fake_billing.answers["contest_title"] = window_closed
    answer = api.post(f"{TITLE}/contestation", headers=agent_headers,
                      json={"emailed_on": "2022-11-15", "reason": "Trop tard"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == {
        "emailed_on": ["The contestation window closed on 14/11/2022."]}
    assert "14/11/2022" in answer.json()["detail"]


def test_the_buyer_references_are_both_sent(gateway, api, agent_headers, fake_billing):
    assert_invalid(api.put(f"/api/v1/communes/{LAVERUNE}/billing/buyer", headers=agent_headers,
                           json={"service_code": "FINANCES"}), "commitment_number",
                   fake_billing, "update_buyer")
    body = {"service_code": "FINANCES", "commitment_number": "EJ-42"}
    answer = api.put(f"/api/v1/communes/{LAVERUNE}/billing/buyer", headers=agent_headers,
                     json=body)
    assert answer.status_code == 200, answer.text
    assert fake_billing.called("update_buyer") == [("update_buyer", (LAVERUNE, body), {})]
