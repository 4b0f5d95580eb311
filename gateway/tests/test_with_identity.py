"""The gateway in front of the real identity service, over the broker: what only the two
together can show — API clients, identity's refusals reaching callers as problems, a citizen's
account from sign-up (a real e-mail) to deletion, a company's from sign-up to its SIRET on
``/api/v1/me``, and a commune portal relying on tokens through OpenID Connect."""

import re

import jwt
import pytest
import requests
from eventlet.queue import Queue
from nameko.events import event_handler
from nameko.rpc import rpc

from contracts.personal_data import email_digest
from gateway.service import GatewayService
from services.identity.service import IdentityService

pytestmark = pytest.mark.broker

# The first admin the root conftest's suite_config asks identity to create.
ADMIN_USERNAME, ADMIN_PASSWORD = "metropole.admin", "correct horse battery staple"
LAVERUNE, MONTPELLIER = "34134", "34172"
AGENT = {"username": "agent.laverune", "password": "a long enough secret",
         "role": "commune_agent", "commune": LAVERUNE}


@pytest.fixture
def admin_api(start_services, api):
    start_services(IdentityService, GatewayService)
    return api.as_user(ADMIN_USERNAME, ADMIN_PASSWORD)


def client_token(api, client_id, client_secret):
    return api.post("/api/v1/auth/token",
                    json={"client_id": client_id, "client_secret": client_secret})


def test_a_commune_system_gets_a_token_and_reaches_its_commune_only(admin_api, api):
    created = admin_api.post("/api/v1/api-clients",
                             json={"name": "Lavérune finance software", "commune": LAVERUNE})
    assert created.status_code == 201, created.text
    credentials = created.json()
    assert credentials["client_id"] and credentials["client_secret"]

    issued = client_token(api, credentials["client_id"], credentials["client_secret"])
    assert issued.status_code == 200, issued.text
    assert issued.json()["token_type"] == "Bearer"
    system = type(api)(api.base_url)  # a client of its own, as the commune's software is
    system.headers["Authorization"] = f"Bearer {issued.json()['access_token']}"

    me = system.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["kind"] == "api_client"
    assert me.json()["id"] == credentials["client_id"]
    assert me.json()["commune"] == LAVERUNE
    assert system.get(f"/api/v1/communes/{LAVERUNE}/accounts").status_code == 200
    assert system.get(f"/api/v1/communes/{MONTPELLIER}/accounts").status_code == 404
    # A commune's system acts for the commune, not for the Metropole.
    assert system.post("/api/v1/accounts", json=AGENT).status_code == 403


def test_a_wrong_client_secret_is_401(admin_api, api):
    created = admin_api.post("/api/v1/api-clients",
                             json={"name": "Lavérune website", "commune": LAVERUNE}).json()
    answer = client_token(api, created["client_id"], "not the secret")
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_a_taken_username_is_a_409_problem(admin_api):
    assert admin_api.post("/api/v1/accounts", json=AGENT).status_code == 201
    again = admin_api.post("/api/v1/accounts", json={**AGENT, "username": "Agent.Laverune"})
    assert again.status_code == 409, again.text
    assert again.headers["Content-Type"] == "application/problem+json"


def test_repeated_failed_logins_are_throttled_with_a_retry_after(admin_api, api):
    wrong = {"username": ADMIN_USERNAME, "password": "not the password"}
    statuses = [api.post("/api/v1/auth/token", json=wrong).status_code for _ in range(5)]
    assert statuses == [401] * 5
    throttled = api.post("/api/v1/auth/token",
                         json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
    assert throttled.status_code == 429, throttled.text
    assert throttled.headers["Content-Type"] == "application/problem+json"
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60


# -- a citizen's account, over HTTP, mail included --------------------------------------------

ADA = {"email": "ada.lovelace@example.org", "password": "analytical engine 1843",
       "given_name": "Ada", "family_name": "Lovelace"}


def eservices_stand_in(deleted):
    class EservicesStandIn:
        """eservices as identity and the gateway see it: the citizen's requests for the
        export, and the handler that anonymises them when the account is deleted."""

        name = "eservices"

        @rpc
        def export_personal_data(self, citizen):
            return {"requests": [{"id": "0a6c1b52-8a59-4a3e-9d0b-2f1d7f0b6a11",
                                  "commune": LAVERUNE, "anonymised": False}], "mails": []}

        @event_handler("identity", "account.deleted")
        def on_account_deleted(self, envelope):
            deleted.put(envelope["data"])

    return EservicesStandIn


class ParticipationStandIn:
    """The other holders of a citizen's data answer the export with nothing held."""

    name = "participation"

    @rpc
    def export_personal_data(self, citizen):
        return {"residence": None, "proposals": [], "comments": [], "votes": [], "reports": []}


class AlertingStandIn:
    name = "alerting"

    @rpc
    def export_personal_data(self, citizen):
        return {"contacts": [], "deliveries": []}


@pytest.fixture
def deleted_accounts():
    return Queue()


@pytest.fixture
def suite(start_services, smtp_server, deleted_accounts):
    return start_services(IdentityService, GatewayService, eservices_stand_in(deleted_accounts),
                          ParticipationStandIn, AlertingStandIn, **smtp_server.mail_config())


def test_a_citizen_signs_up_follows_the_mailed_link_logs_in_exports_and_deletes(
        suite, api, smtp_server, deleted_accounts):
    answer = api.post("/api/v1/citizens", json=ADA)
    assert answer.status_code == 202, answer.text
    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == (ADA["email"],)
    (link,) = re.findall(r"^(https?://\S+/api/v1/citizens/email-verification\?token=\S+)$",
                         mail.text, re.MULTILINE)
    # Not confirmed yet: the right password is told so.
    refused = api.post("/api/v1/auth/token",
                       json={"username": ADA["email"], "password": ADA["password"]})
    assert refused.status_code == 403, refused.text

    # The link opens the gateway, as a mail client would.
    opened = requests.get(link, timeout=10)
    assert opened.status_code == 200, opened.text
    assert opened.json() == {"email": ADA["email"], "verified": True}
    assert requests.get(link, timeout=10).status_code == 404

    citizen = api.as_user(ADA["email"], ADA["password"])
    me = citizen.get("/api/v1/me").json()
    assert (me["name"], me["email"], me["role"]) == ("Ada Lovelace", ADA["email"], "citizen")
    # A citizen reaches no commune's agent routes, in any of the 31.
    assert citizen.get(f"/api/v1/communes/{LAVERUNE}/accounts").status_code == 404

    export = citizen.get("/api/v1/me/export")
    assert export.status_code == 200, export.text
    identity_part = export.json()["identity"]
    assert identity_part["account"]["email"] == ADA["email"]
    assert [login["outcome"] for login in identity_part["logins"]][:2] == [
        "success", "unverified"]
    assert [mail["subject"] for mail in identity_part["mails"]] == [
        "Confirmez votre adresse e-mail"]
    assert export.json()["eservices"]["requests"][0]["commune"] == LAVERUNE

    assert citizen.delete("/api/v1/me").status_code == 204
    assert deleted_accounts.get(timeout=10) == {"account_id": me["id"], "role": "citizen",
                                                "email_digest": email_digest(ADA["email"])}
    # Account deletion: the citizen can no longer log in.
    again = api.post("/api/v1/auth/token",
                     json={"username": ADA["email"], "password": ADA["password"]})
    assert again.status_code == 401, again.text
    assert citizen.get("/api/v1/me").status_code == 404


# -- a company's account ----------------------------------------------------------------------

LEZ = {"email": "appels.offres@travaux-du-lez.example.fr", "password": "a long enough secret",
       "company_name": "Travaux du Lez", "siret": "73282932000074",
       "contact_name": "Camille Roux"}


@pytest.fixture
def identity_with_mail(start_services, smtp_server):
    return start_services(IdentityService, GatewayService, **smtp_server.mail_config())


def test_a_company_signs_up_confirms_logs_in_and_is_known_by_its_siret(
        identity_with_mail, api, smtp_server):
    answer = api.post("/api/v1/companies", json=LEZ)
    assert answer.status_code == 202, answer.text
    # The same address again is one account: the answer is the same, a notice is mailed.
    again = api.post("/api/v1/companies", json={**LEZ, "company_name": "Autre"})
    assert (again.status_code, again.json()) == (202, answer.json())
    mail, notice = smtp_server.wait_for(2)
    assert mail.rcpt_tos == notice.rcpt_tos == (LEZ["email"],)
    assert notice.message["Subject"] == "Vous avez déjà un compte"
    (link,) = re.findall(r"^(https?://\S+/api/v1/citizens/email-verification\?token=\S+)$",
                         mail.text, re.MULTILINE)
    refused = api.post("/api/v1/auth/token",
                       json={"username": LEZ["email"], "password": LEZ["password"]})
    assert refused.status_code == 403, refused.text

    assert requests.get(link, timeout=10).json() == {"email": LEZ["email"], "verified": True}
    company = api.as_user(LEZ["email"], LEZ["password"])
    me = company.get("/api/v1/me").json()
    assert (me["name"], me["role"], me["email"], me["siret"]) == (
        "Travaux du Lez", "company", LEZ["email"], "73282932000074")
    # Deletion and export stay the citizens' own.
    assert company.get("/api/v1/me/export").status_code == 403
    assert company.delete("/api/v1/me").status_code == 403
    assert company.get(f"/api/v1/communes/{LAVERUNE}/accounts").status_code == 404


def test_an_invalid_siret_is_a_422_problem_naming_it_and_saying_why(
        identity_with_mail, api, smtp_server):
    answer = api.post("/api/v1/companies", json={**LEZ, "siret": "73282932000075"})
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["errors"] == {
        "siret": ["Not a SIRET: its check digit (Luhn key) is wrong."]}
    # The same sign-up with its SIRET right makes the account: its mail is the first one.
    assert api.post("/api/v1/companies", json=LEZ).status_code == 202
    (mail,) = smtp_server.wait_for(1)
    assert mail.message["Subject"] == "Confirmez votre adresse e-mail"


def test_a_commune_portal_verifies_tokens_with_the_discovery_document_and_the_jwks_only(
        admin_api, api):
    """A commune's portal knows the suite's public URL and nothing else: it finds the keys
    through OpenID Connect discovery, and relies on the tokens they verify."""
    access_token = api.token(ADMIN_USERNAME, ADMIN_PASSWORD)

    discovery = requests.get(f"{api.base_url}/.well-known/openid-configuration", timeout=10)
    assert discovery.status_code == 200, discovery.text
    document = discovery.json()
    assert document["issuer"] == api.base_url
    assert document["token_endpoint"] == f"{api.base_url}/api/v1/auth/token"
    signing_key = jwt.PyJWKClient(document["jwks_uri"]).get_signing_key_from_jwt(access_token)
    claims = jwt.decode(access_token, signing_key.key,
                        algorithms=document["id_token_signing_alg_values_supported"],
                        audience="communs-api", issuer=document["issuer"])
    assert claims["role"] == "metropole_admin"

    userinfo = requests.get(document["userinfo_endpoint"], timeout=10,
                            headers={"Authorization": f"Bearer {access_token}"})
    assert userinfo.json() == {"sub": claims["sub"], "preferred_username": ADMIN_USERNAME}
