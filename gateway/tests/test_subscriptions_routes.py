"""What the subscriptions routes send to the service, and what they refuse before it: every
problem names its field, and nothing reaches the service on invalid input."""

import json

import pytest

from contracts.errors import Conflict, Invalid
from gateway.tests.fakes import (
    ADMIN_ID,
    AGENT_ID,
    CONVENTION_ID,
    LAVERUNE,
    NEW_CONVENTION,
    REQUEST_ID,
    TERMINATION_ID,
)

pytestmark = pytest.mark.broker

REQUESTS = f"/api/v1/communes/{LAVERUNE}/subscription-requests"
ADD_PARTICIPATION = {"application": "participation", "action": "add"}
JSON = {"Content-Type": "application/json"}


def assert_invalid(answer, field, fake, rpc):
    """A 422 naming ``field``, and the service never asked."""
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert field in answer.json()["errors"], answer.json()
    assert field in answer.json()["detail"]
    assert fake.called(rpc) == []


# -- change requests --------------------------------------------------------------------------


def test_an_agent_files_a_request_as_itself_and_is_told_where_it_is(
        gateway, api, agent_headers, fake_subscriptions):
    answer = api.post(REQUESTS, headers=agent_headers, json=ADD_PARTICIPATION)
    assert answer.status_code == 201, answer.text
    assert answer.headers["Location"] == f"{REQUESTS}/{REQUEST_ID}"
    assert answer.json()["status"] == "pending"
    assert fake_subscriptions.called("file_subscription_request") == [(
        "file_subscription_request", (LAVERUNE, ADD_PARTICIPATION),
        {"filed_by": {"id": AGENT_ID, "role": "commune_agent"}})]


def test_an_admin_records_the_day_a_letter_arrived(gateway, api, admin_headers,
                                                    fake_subscriptions):
    letter = {**ADD_PARTICIPATION, "received_on": "2022-06-15"}
    answer = api.post(REQUESTS, headers=admin_headers, json=letter)
    assert answer.status_code == 201, answer.text
    assert fake_subscriptions.called("file_subscription_request") == [(
        "file_subscription_request", (LAVERUNE, letter),
        {"filed_by": {"id": ADMIN_ID, "role": "metropole_admin"}})]


def test_an_agent_backdating_a_request_is_refused_by_the_service_naming_received_on(
        gateway, api, agent_headers, fake_subscriptions):
    # The gateway does not know the rule: the service decides, from who filed.
    def only_staff_dates_letters(insee, request, filed_by):
        raise Invalid({"received_on": ["Only Metropole staff record the date a letter arrived."]})

    fake_subscriptions.answers["file_subscription_request"] = only_staff_dates_letters
    answer = api.post(REQUESTS, headers=agent_headers,
                      json={**ADD_PARTICIPATION, "received_on": "2022-06-15"})
    assert answer.status_code == 422, answer.text
    assert list(answer.json()["errors"]) == ["received_on"]


@pytest.mark.parametrize(("body", "field"), [
    ({"application": "bowling", "action": "add"}, "application"),
    ({**ADD_PARTICIPATION, "received_on": "15/06/2022"}, "received_on"),
    ({**ADD_PARTICIPATION, "received_on": "2022-02-30"}, "received_on"),
    ({"application": "participation"}, "action"),
    ({"application": "participation", "action": "subscribe"}, "action"),
    ({**ADD_PARTICIPATION, "urgent": True}, "urgent"),
], ids=["unknown application", "received_on not ISO", "received_on no such day",
        "missing action", "unknown action", "unknown field"])
def test_an_invalid_request_is_422_naming_the_field(gateway, api, admin_headers,
                                                    fake_subscriptions, body, field):
    answer = api.post(REQUESTS, headers=admin_headers, json=body)
    assert_invalid(answer, field, fake_subscriptions, "file_subscription_request")


def test_a_malformed_request_is_400_and_reaches_no_service(gateway, api, admin_headers,
                                                           fake_subscriptions):
    answer = api.post(REQUESTS, headers={**admin_headers, **JSON},
                      data=json.dumps(ADD_PARTICIPATION)[:-1])
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert fake_subscriptions.called("file_subscription_request") == []


def test_the_requests_list_refuses_filters_it_does_not_have(gateway, api, agent_headers,
                                                            fake_subscriptions):
    answer = api.get(REQUESTS, headers=agent_headers, params={"status": "pending"})
    assert_invalid(answer, "status", fake_subscriptions, "subscription_requests")


def test_a_decision_names_the_request_and_the_admin(gateway, api, admin_headers,
                                                    fake_subscriptions):
    answer = api.post(f"{REQUESTS}/{REQUEST_ID}/decision", headers=admin_headers,
                      json={"decision": "accept"})
    assert answer.status_code == 200, answer.text
    assert fake_subscriptions.called("decide_subscription_request") == [(
        "decide_subscription_request", (LAVERUNE, REQUEST_ID, {"decision": "accept"}),
        {"decided_by": ADMIN_ID})]


def test_a_refusal_without_its_reason_is_422(gateway, api, admin_headers, fake_subscriptions):
    answer = api.post(f"{REQUESTS}/{REQUEST_ID}/decision", headers=admin_headers,
                      json={"decision": "refuse"})
    assert_invalid(answer, "reason", fake_subscriptions, "decide_subscription_request")


def test_a_decision_on_no_request_id_is_404(gateway, api, admin_headers, fake_subscriptions):
    answer = api.post(f"{REQUESTS}/not-a-uuid/decision", headers=admin_headers,
                      json={"decision": "accept"})
    assert answer.status_code == 404, answer.text
    assert fake_subscriptions.called("decide_subscription_request") == []


def test_a_decision_already_taken_is_409(gateway, api, admin_headers, fake_subscriptions):
    def already_decided(insee, request_id, decision, decided_by):
        raise Conflict("This request is already accepted.")

    fake_subscriptions.answers["decide_subscription_request"] = already_decided
    answer = api.post(f"{REQUESTS}/{REQUEST_ID}/decision", headers=admin_headers,
                      json={"decision": "accept"})
    assert answer.status_code == 409, answer.text
    assert answer.json()["detail"] == "This request is already accepted."


# -- terminations -----------------------------------------------------------------------------


def test_a_termination_is_notified_by_its_filer(gateway, api, agent_headers, fake_subscriptions):
    answer = api.post(f"/api/v1/communes/{LAVERUNE}/termination", headers=agent_headers,
                      json={})
    assert answer.status_code == 201, answer.text
    assert answer.headers["Location"] == (
        f"/api/v1/communes/{LAVERUNE}/terminations/{TERMINATION_ID}")
    assert answer.json()["effective_on"] == "2023-01-01"
    assert fake_subscriptions.called("notify_termination") == [(
        "notify_termination", (LAVERUNE, {}),
        {"filed_by": {"id": AGENT_ID, "role": "commune_agent"}})]


def test_a_termination_needs_no_body_at_all(gateway, api, agent_headers, fake_subscriptions):
    answer = api.post(f"/api/v1/communes/{LAVERUNE}/termination", headers=agent_headers)
    assert answer.status_code == 201, answer.text
    assert fake_subscriptions.called("notify_termination")[0][1] == (LAVERUNE, {})
    broken = api.post(f"/api/v1/communes/{LAVERUNE}/termination",
                      headers={**agent_headers, "Content-Type": "application/json"}, data="{")
    assert broken.status_code == 400, broken.text


def test_a_termination_received_on_a_non_date_is_422(gateway, api, admin_headers,
                                                     fake_subscriptions):
    answer = api.post(f"/api/v1/communes/{LAVERUNE}/termination", headers=admin_headers,
                      json={"received_on": "yesterday"})
    assert_invalid(answer, "received_on", fake_subscriptions, "notify_termination")


# -- conventions ------------------------------------------------------------------------------


def test_an_admin_registers_a_convention_and_is_told_where_it_is(
        gateway, api, admin_headers, fake_subscriptions):
    answer = api.post("/api/v1/conventions", headers=admin_headers, json=NEW_CONVENTION)
    assert answer.status_code == 201, answer.text
    assert answer.headers["Location"] == f"/api/v1/conventions/{CONVENTION_ID}"
    assert fake_subscriptions.called("register_convention") == [
        ("register_convention", (NEW_CONVENTION,), {"registered_by": ADMIN_ID})]


@pytest.mark.parametrize(("change", "field"), [
    ({"initial_subscriptions": {"*": ["opendata"]}}, "initial_subscriptions"),
    ({"period_start": "2022-02-01"}, "period_start"),
    ({"applications": [{"application": "bowling", "annual_cost": "1.00"}]}, "applications"),
    ({"applications": [{"application": "eadmin", "annual_cost": "-1.00"}]}, "applications"),
    ({"signed_by": "the mayor"}, "signed_by"),
], ids=["a wildcard commune", "not on 1 January", "unknown application", "a negative cost",
        "unknown field"])
def test_an_invalid_convention_is_422_naming_the_field(gateway, api, admin_headers,
                                                       fake_subscriptions, change, field):
    answer = api.post("/api/v1/conventions", headers=admin_headers,
                      json={**NEW_CONVENTION, **change})
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["errors"], answer.json()
    assert fake_subscriptions.called("register_convention") == []


def test_a_convention_overlapping_another_is_409(gateway, api, admin_headers,
                                                 fake_subscriptions):
    def overlapping(convention, registered_by):
        raise Conflict("A convention already covers 2022-01-01 to 2024-12-31.")

    fake_subscriptions.answers["register_convention"] = overlapping
    answer = api.post("/api/v1/conventions", headers=admin_headers, json=NEW_CONVENTION)
    assert answer.status_code == 409, answer.text


def test_an_amendment_names_its_convention_as_a_string(gateway, api, admin_headers,
                                                       fake_subscriptions):
    amendment = {"application": "alerting", "annual_cost": "30000.00", "signed_on": "2022-03-01"}
    answer = api.post(f"/api/v1/conventions/{CONVENTION_ID}/amendments", headers=admin_headers,
                      json=amendment)
    assert answer.status_code == 201, answer.text
    assert fake_subscriptions.called("amend_convention") == [
        ("amend_convention", (CONVENTION_ID, amendment), {"recorded_by": ADMIN_ID})]


# -- communes and populations -----------------------------------------------------------------


def test_a_population_takes_its_vintage_from_the_path(gateway, api, admin_headers,
                                                      fake_subscriptions):
    answer = api.put(f"/api/v1/communes/{LAVERUNE}/populations/2023", headers=admin_headers,
                     json={"population": 4469})
    assert answer.status_code == 200, answer.text
    assert fake_subscriptions.called("update_population") == [
        ("update_population", (LAVERUNE, {"vintage": 2023, "population": 4469}), {})]


@pytest.mark.parametrize(("vintage", "body", "field"), [
    ("1850", {"population": 4469}, "vintage"),
    ("2023", {"population": -1}, "population"),
    ("2023", {"population": 4469, "vintage": 2022}, "vintage"),
], ids=["vintage out of range", "negative population", "vintage in the body"])
def test_an_invalid_population_is_422_naming_the_field(gateway, api, admin_headers,
                                                       fake_subscriptions, vintage, body, field):
    answer = api.put(f"/api/v1/communes/{LAVERUNE}/populations/{vintage}",
                     headers=admin_headers, json=body)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["errors"], answer.json()
    assert fake_subscriptions.called("update_population") == []


def test_a_siret_is_14_digits(gateway, api, admin_headers, fake_subscriptions):
    answer = api.patch(f"/api/v1/communes/{LAVERUNE}", headers=admin_headers,
                       json={"siret": "2134"})
    assert_invalid(answer, "siret", fake_subscriptions, "update_commune")
