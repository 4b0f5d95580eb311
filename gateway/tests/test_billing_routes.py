"""What the billing routes send to the service: the year of the query, the Idempotency-Key of
an issue, the caller's id; and what they refuse before it, naming the parameter."""

import pytest

from contracts.errors import Conflict, NotFound
from gateway.tests.fakes import ADMIN_ID, EXTRA_ID, LAVERUNE, NEW_EXTRA

pytestmark = pytest.mark.broker

ISSUE = "/api/v1/billing/titles/issue"
TITLES = f"/api/v1/communes/{LAVERUNE}/billing/titles"


def assert_invalid(answer, field, fake, rpc):
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert list(answer.json()["errors"]) == [field]
    assert field in answer.json()["detail"]
    assert fake.called(rpc) == []


# -- the year ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "rpc"), [
    ("/api/v1/billing/shares", "shares"),
    ("/api/v1/billing/titles/late", "late_titles"),
])
def test_annex_and_late_titles_need_a_year(gateway, api, admin_headers, fake_billing, path,
                                           rpc):
    for params in ({}, {"year": "2022a"}, {"year": "22.5"}, {"year": "1999"}):
        assert_invalid(api.get(path, headers=admin_headers, params=params), "year",
                       fake_billing, rpc)
    answer = api.get(path, headers=admin_headers, params={"year": "2022"})
    assert answer.status_code == 200, answer.text
    assert fake_billing.called(rpc) == [(rpc, (2022,), {})]


def test_titles_of_every_year_without_a_year(gateway, api, agent_headers, fake_billing):
    assert api.get(TITLES, headers=agent_headers).status_code == 200
    assert api.get(TITLES, headers=agent_headers, params={"year": "2023"}).status_code == 200
    assert fake_billing.called("titles") == [
        ("titles", (LAVERUNE, None), {}), ("titles", (LAVERUNE, 2023), {})]


def test_titles_refuse_a_bad_year_and_unknown_parameters(gateway, api, agent_headers,
                                                         fake_billing):
    assert_invalid(api.get(TITLES, headers=agent_headers, params={"year": "last"}), "year",
                   fake_billing, "titles")
    assert_invalid(api.get(TITLES, headers=agent_headers, params={"status": "draft"}),
                   "status", fake_billing, "titles")


def test_no_annex_for_a_year_without_convention_is_404(gateway, api, agent_headers,
                                                       fake_billing):
    def no_convention(year):
        raise NotFound(f"No convention covers {year}.")

    fake_billing.answers["shares"] = no_convention
    answer = api.get("/api/v1/billing/shares", headers=agent_headers, params={"year": "2030"})
    assert answer.status_code == 404, answer.text
    assert answer.json()["detail"] == "No convention covers 2030."


# -- issuing ----------------------------------------------------------------------------------


def test_the_idempotency_key_is_passed_to_billing(gateway, api, admin_headers, fake_billing):
    answer = api.post(ISSUE, headers={**admin_headers, "Idempotency-Key": "issue-2022-first"},
                      json={"year": 2022})
    assert answer.status_code == 200, answer.text
    assert fake_billing.called("issue_titles") == [(
        "issue_titles", (2022,), {"idempotency_key": "issue-2022-first", "issued_by": ADMIN_ID})]


def test_without_an_idempotency_key_billing_is_told_none(gateway, api, admin_headers,
                                                         fake_billing):
    assert api.post(ISSUE, headers=admin_headers, json={"year": 2022}).status_code == 200
    assert fake_billing.called("issue_titles") == [
        ("issue_titles", (2022,), {"idempotency_key": None, "issued_by": ADMIN_ID})]


@pytest.mark.parametrize("key", ["", "k" * 256, "clé-2022", "tab\there"],
                         ids=["empty", "256 characters", "not ASCII", "control character"])
def test_an_odd_idempotency_key_is_422_naming_the_header(gateway, api, admin_headers,
                                                         fake_billing, key):
    answer = api.post(ISSUE, headers={**admin_headers, "Idempotency-Key": key.encode()},
                      json={"year": 2022})
    assert_invalid(answer, "Idempotency-Key", fake_billing, "issue_titles")


def test_a_key_of_255_printable_characters_is_accepted(gateway, api, admin_headers,
                                                       fake_billing):
    key = ("~ 2022!" * 40)[:255]
    answer = api.post(ISSUE, headers={**admin_headers, "Idempotency-Key": key},
                      json={"year": 2022})
    assert answer.status_code == 200, answer.text
    assert fake_billing.called("issue_titles")[0][2]["idempotency_key"] == key


def test_a_key_reused_for_another_year_is_409(gateway, api, admin_headers, fake_billing):
    def reused(year, idempotency_key, issued_by):
        raise Conflict("This Idempotency-Key issued the titles of 2022.")

    fake_billing.answers["issue_titles"] = reused
    answer = api.post(ISSUE, headers={**admin_headers, "Idempotency-Key": "issue-2022-first"},
                      json={"year": 2023})
    assert answer.status_code == 409, answer.text


@pytest.mark.parametrize(("body", "field"), [
    ({}, "year"), ({"year": "next"}, "year"), ({"year": 2022, "dry_run": True}, "dry_run")])
def test_an_invalid_issue_is_422_naming_the_field(gateway, api, admin_headers, fake_billing,
                                                  body, field):
    assert_invalid(api.post(ISSUE, headers=admin_headers, json=body), field, fake_billing,
                   "issue_titles")


# -- corrections and extras -------------------------------------------------------------------


def test_a_correction_names_the_title_and_the_admin(gateway, api, admin_headers, fake_billing):
    answer = api.post("/api/v1/billing/titles/2022-000001/correction", headers=admin_headers)
    assert answer.status_code == 201, answer.text
    assert fake_billing.called("correct_title") == [
        ("correct_title", ("2022-000001",), {"confirmed_by": ADMIN_ID})]


def test_an_extra_is_recorded_and_located(gateway, api, admin_headers, fake_billing):
    answer = api.post(f"/api/v1/communes/{LAVERUNE}/billing/extras", headers=admin_headers,
                      json=NEW_EXTRA)
    assert answer.status_code == 201, answer.text
    assert answer.headers["Location"] == f"/api/v1/communes/{LAVERUNE}/billing/extras/{EXTRA_ID}"
    assert fake_billing.called("record_extra") == [
        ("record_extra", (LAVERUNE, NEW_EXTRA), {"recorded_by": ADMIN_ID})]


@pytest.mark.parametrize(("change", "field"), [
    ({"unit_price": "-1.00"}, "unit_price"), ({"quantity": "0.00"}, "quantity"),
    ({"vat_rate": "0.10"}, "vat_rate")], ids=["a negative price", "no quantity", "unknown field"])
def test_an_invalid_extra_is_422_naming_the_field(gateway, api, admin_headers, fake_billing,
                                                  change, field):
    answer = api.post(f"/api/v1/communes/{LAVERUNE}/billing/extras", headers=admin_headers,
                      json={**NEW_EXTRA, **change})
    assert_invalid(answer, field, fake_billing, "record_extra")
