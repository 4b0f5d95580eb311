"""The routes of a citizen's account, a company's sign-up and OpenID Connect, in front of fake
services: what each sends identity (and eservices), and how their answers and refusals reach
the caller."""

import pytest

from contracts.errors import Forbidden, NotFound, ServiceUnavailable
from contracts.identity import CITIZEN, COMMUNE_AGENT, COMPANY
from contracts.personal_data import HOLDERS, PersonalDataExportSchema
from gateway.tests.fakes import LAVERUNE, SigningKey, bearer, citizen_request
from gateway.tests.test_access import NEW_CITIZEN, NEW_COMPANY, identity_answers

pytestmark = pytest.mark.broker

CITIZEN_ID = "5f0c7c52-8a59-4a3e-9d0b-2f1d7f0b6a11"
REQUEST = citizen_request(LAVERUNE)


@pytest.fixture
def fake_identity(fake_services):
    fake_services["identity"].answers.update(
        {name: answer for name, answer in identity_answers().items()
         if name not in ("public_keys", "get_principal")},
        get_principal=lambda kind, principal_id: {
            "kind": kind, "id": principal_id, "name": "Ada Lovelace", "role": CITIZEN,
            "commune": None, "email": "ada@example.org"})
    return fake_services["identity"]


@pytest.fixture
def fake_eservices(fake_services):
    fake_services["eservices"].answers["export_personal_data"] = lambda citizen: {
        "requests": [REQUEST], "mails": []}
    return fake_services["eservices"]


@pytest.fixture
def citizen(signing_key):
    return bearer(signing_key.token(CITIZEN_ID, CITIZEN))


def assert_problem(answer, status):
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    return answer.json()


# -- sign-up and the confirmation link --------------------------------------------------------


def test_a_sign_up_is_forwarded_as_sent_and_answered_202(gateway, api, fake_identity):
    answer = api.post("/api/v1/citizens", json=NEW_CITIZEN)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"detail": "A message is on its way."}
    assert fake_identity.called("sign_up_citizen") == [("sign_up_citizen", (NEW_CITIZEN,), {})]


@pytest.mark.parametrize("change, field", [
    ({"password": "eleven char"}, "password"),
    ({"email": "ada"}, "email"),
    ({"family_name": ""}, "family_name"),
    ({"role": "metropole_admin"}, "role"),
])
def test_an_invalid_sign_up_is_refused_before_identity_hears_of_it(
        gateway, api, fake_identity, change, field):
    problem = assert_problem(api.post("/api/v1/citizens", json={**NEW_CITIZEN, **change}), 422)
    assert list(problem["errors"]) == [field]
    assert fake_identity.called("sign_up_citizen") == []


def test_a_companys_sign_up_is_forwarded_as_sent_and_answered_202(gateway, api, fake_identity):
    answer = api.post("/api/v1/companies", json=NEW_COMPANY)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"detail": "A message is on its way."}
    assert fake_identity.called("sign_up_company") == [("sign_up_company", (NEW_COMPANY,), {})]


@pytest.mark.parametrize("change, field, message", [
    ({"siret": "73282932000075"}, "siret", "Not a SIRET: its check digit (Luhn key) is wrong."),
    ({"siret": "732 829 320 00074"}, "siret", "A SIRET is 14 digits."),
    ({"siret": None}, "siret", "Field may not be null."),
    ({"company_name": "x" * 201}, "company_name", None),
    ({"contact_name": ""}, "contact_name", None),
    ({"email": "appels"}, "email", None),
    ({"password": "eleven char"}, "password", None),
    ({"role": "metropole_admin"}, "role", None),
])
def test_an_invalid_company_sign_up_is_a_problem_naming_the_field(
        gateway, api, fake_identity, change, field, message):
    problem = assert_problem(api.post("/api/v1/companies", json={**NEW_COMPANY, **change}), 422)
    assert list(problem["errors"]) == [field]
    if message:
        assert problem["errors"][field] == [message]
    assert fake_identity.called("sign_up_company") == []


def test_a_company_without_a_siret_is_refused_naming_it(gateway, api, fake_identity):
    without = {name: value for name, value in NEW_COMPANY.items() if name != "siret"}
    problem = assert_problem(api.post("/api/v1/companies", json=without), 422)
    assert problem["errors"] == {"siret": ["Missing data for required field."]}


def test_a_companys_principal_carries_its_siret(gateway, api, fake_services, signing_key):
    company_id = "7d1f0c52-8a59-4a3e-9d0b-2f1d7f0b6a11"
    fake_services["identity"].answers["get_principal"] = lambda kind, principal_id: {
        "kind": kind, "id": principal_id, "name": "Travaux du Lez", "role": COMPANY,
        "commune": None, "email": NEW_COMPANY["email"], "siret": NEW_COMPANY["siret"]}
    answer = api.get("/api/v1/me", headers=bearer(signing_key.token(company_id, COMPANY)))
    assert answer.status_code == 200, answer.text
    assert answer.json()["siret"] == "73282932000074"


def test_the_link_of_the_mail_confirms_the_address(gateway, api, fake_identity):
    answer = api.get("/api/v1/citizens/email-verification", params={"token": "abc-DEF_123"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"email": "ada@example.org", "verified": True}
    assert fake_identity.called("verify_email") == [("verify_email", ("abc-DEF_123",), {})]


def test_an_unknown_used_or_expired_link_is_a_404_naming_the_token(gateway, api, fake_identity):
    def refused(token):
        raise NotFound("token: this link is unknown, already used or expired; ask for a new "
                       "one (POST /api/v1/citizens/email-verification).")

    fake_identity.answers["verify_email"] = refused
    problem = assert_problem(
        api.get("/api/v1/citizens/email-verification", params={"token": "used"}), 404)
    assert problem["detail"].startswith("token: ")
    # Without a token the link is not one: the query is refused, naming it.
    problem = assert_problem(api.get("/api/v1/citizens/email-verification"), 422)
    assert list(problem["errors"]) == ["token"]


def test_a_new_link_is_asked_for_by_address_and_answered_202(gateway, api, fake_identity):
    answer = api.post("/api/v1/citizens/email-verification", json={"email": "ada@example.org"})
    assert answer.status_code == 202, answer.text
    assert fake_identity.called("resend_verification") == [
        ("resend_verification", ({"email": "ada@example.org"},), {})]


def test_a_login_is_forwarded_with_the_address_it_came_from(gateway, api, fake_identity):
    credentials = {"username": "ada@example.org", "password": "analytical engine 1843"}
    answer = api.post("/api/v1/auth/token", json=credentials)
    assert answer.status_code == 200, answer.text
    # Identity locks an address that fails on many names (credential stuffing).
    assert fake_identity.called("issue_token") == [
        ("issue_token", (credentials,), {"client_address": "127.0.0.1"})]


def test_an_unconfirmed_address_is_a_403_problem_at_login(gateway, api, fake_identity):
    def unconfirmed(credentials, client_address):
        raise Forbidden("Confirm your e-mail address first: open the link …")

    fake_identity.answers["issue_token"] = unconfirmed
    problem = assert_problem(api.post("/api/v1/auth/token", json={
        "username": "ada@example.org", "password": "analytical engine 1843"}), 403)
    assert problem["detail"].startswith("Confirm your e-mail address first: ")


# -- the citizen's own data -------------------------------------------------------------------


def test_the_export_asks_every_service_holding_citizens_data_for_its_part(
        gateway, api, fake_services, fake_identity, fake_eservices, citizen):
    answer = api.get("/api/v1/me/export", headers=citizen)
    assert answer.status_code == 200, answer.text
    export = answer.json()
    PersonalDataExportSchema().load(export)
    assert set(export) == {"generated_at", *HOLDERS}
    assert export["identity"]["account"]["id"] == CITIZEN_ID
    assert export["eservices"]["requests"] == [REQUEST]
    # The address identity confirmed is how alerting finds the citizen in the communes'
    # registers.
    citizen_asked = {"account_id": CITIZEN_ID, "email": "ada@example.org"}
    for service in HOLDERS:
        assert fake_services[service].called("export_personal_data") == [
            ("export_personal_data", (citizen_asked,), {})], service


def test_no_partial_export_when_eservices_does_not_answer(
        gateway, api, fake_identity, fake_eservices, citizen):
    def away(citizen):
        raise ServiceUnavailable("The eservices service did not answer within 10 s.")

    fake_eservices.answers["export_personal_data"] = away
    assert_problem(api.get("/api/v1/me/export", headers=citizen), 503)


def test_a_citizen_deletes_their_account_with_no_body_in_answer(
        gateway, api, fake_identity, citizen):
    answer = api.delete("/api/v1/me", headers=citizen)
    assert answer.status_code == 204, answer.text
    assert answer.content == b""
    assert fake_identity.called("delete_citizen") == [("delete_citizen", (CITIZEN_ID,), {})]


def test_a_deleted_account_is_404_while_its_last_token_lasts(
        gateway, api, fake_identity, citizen):
    def deleted(*args):
        raise NotFound("No such account.")

    for rpc in ("get_principal", "userinfo", "export_personal_data"):
        fake_identity.answers[rpc] = deleted
    for path in ("/api/v1/me", "/api/v1/me/userinfo", "/api/v1/me/export"):
        assert_problem(api.get(path, headers=citizen), 404)


# -- OpenID Connect ---------------------------------------------------------------------------


def test_userinfo_asks_identity_for_the_tokens_principal(gateway, api, fake_identity, citizen):
    answer = api.get("/api/v1/me/userinfo", headers=citizen)
    assert answer.status_code == 200, answer.text
    assert fake_identity.called("userinfo") == [("userinfo", ("account", CITIZEN_ID), {})]


def test_the_discovery_document_is_identitys(gateway, api, fake_identity):
    answer = api.get("/.well-known/openid-configuration")
    assert answer.status_code == 200, answer.text
    assert answer.json() == identity_answers()["openid_configuration"]()


def test_the_gateway_expects_the_issuer_its_public_url_names(start_gateway, api, fake_services):
    start_gateway(PUBLIC_URL="https://services.montpellier3m.fr/")
    ours = SigningKey.generate({"PUBLIC_URL": "https://services.montpellier3m.fr"})
    fake_services["identity"].answers["public_keys"] = lambda: {"keys": [ours.jwk()]}
    agent = ours.token("agent", COMMUNE_AGENT, LAVERUNE)
    answer = api.get(f"/api/v1/communes/{LAVERUNE}/accounts", headers=bearer(agent))
    assert answer.status_code == 200, answer.text
    elsewhere = ours.token("agent", COMMUNE_AGENT, LAVERUNE, iss="http://127.0.0.1:8000")
    answer = api.get(f"/api/v1/communes/{LAVERUNE}/accounts", headers=bearer(elsewhere))
    assert_problem(answer, 401)
