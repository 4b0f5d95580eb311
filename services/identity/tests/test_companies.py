"""A company's account through the real broker and a real SMTP server: it signs up as a
citizen does — the e-mail whose link confirms the address, no login before — with its SIRET
checked, and its principal carries the SIRET the gateway registers withdrawals and bids by."""

import logging

import pytest

from contracts.errors import Forbidden, Invalid
from contracts.identity import MailAcceptedSchema, PrincipalSchema, UserInfoSchema
from services.identity.service import SIGN_UP_ACCEPTED, IdentityService
from services.identity.tests.test_citizens import ADA, token_in
from services.identity.tests.test_service import claims_of, conforms, query, rpc, token_for

pytestmark = pytest.mark.broker

LEZ = {
    "email": "Appels.Offres@travaux-du-lez.example.fr",
    "password": "a long enough secret",
    "company_name": "Travaux du Lez",
    "siret": "73282932000074",
    "contact_name": "Camille Roux",
}
# The same answer whatever the address, as for citizens.
SIGN_UP_ANSWER = {"detail": SIGN_UP_ACCEPTED}


@pytest.fixture
def identity(container_factory, suite_config, smtp_server):
    """Identity, sending its mail through the test's SMTP server."""
    container = container_factory(IdentityService,
                                  {**suite_config, **smtp_server.mail_config()})
    container.start()
    return container


@pytest.fixture
def identity_rpc(suite_config, identity):
    with rpc(suite_config) as proxy:
        yield proxy


def test_a_company_confirms_its_address_logs_in_and_is_known_by_its_siret(
        identity_rpc, smtp_server, suite_config):
    answer = conforms(MailAcceptedSchema(), identity_rpc.sign_up_company(LEZ))
    assert answer == SIGN_UP_ANSWER

    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == (LEZ["email"],)
    assert mail.message["Subject"] == "Confirmez votre adresse e-mail"
    assert "Un compte entreprise a été créé" in mail.text
    with pytest.raises(Forbidden, match="^Confirm your e-mail address first: "):
        token_for(identity_rpc, LEZ["email"], LEZ["password"])

    assert identity_rpc.verify_email(token_in(mail)) == {"email": LEZ["email"], "verified": True}
    claims = claims_of(token_for(identity_rpc, LEZ["email"].lower(), LEZ["password"]),
                       identity_rpc.public_keys(), suite_config)
    assert (claims["kind"], claims["role"], claims["commune"]) == ("account", "company", None)
    assert conforms(PrincipalSchema(), identity_rpc.get_principal("account", claims["sub"])) == {
        "kind": "account", "id": claims["sub"], "name": "Travaux du Lez", "role": "company",
        "commune": None, "email": LEZ["email"], "siret": "73282932000074"}
    assert conforms(UserInfoSchema(), identity_rpc.userinfo("account", claims["sub"])) == {
        "sub": claims["sub"], "email": LEZ["email"], "email_verified": True,
        "name": "Travaux du Lez"}
    assert [e["outcome"] for e in identity_rpc.login_events(10)][:2] == ["success", "unverified"]
    (row,) = query(suite_config, "SELECT company_name, siret, contact_name FROM accounts "
                                 "WHERE role = 'company'")
    assert row == ("Travaux du Lez", "73282932000074", "Camille Roux")


def test_the_same_address_twice_is_one_account_as_a_company_or_a_citizen(
        identity_rpc, smtp_server, suite_config):
    identity_rpc.sign_up_company(LEZ)
    assert identity_rpc.sign_up_company({**LEZ, "company_name": "Autre"}) == SIGN_UP_ANSWER
    assert identity_rpc.sign_up_citizen({**ADA, "email": LEZ["email"]}) == SIGN_UP_ANSWER
    first, *notices = smtp_server.wait_for(3)
    assert first.message["Subject"] == "Confirmez votre adresse e-mail"
    assert [notice.message["Subject"] for notice in notices] == ["Vous avez déjà un compte"] * 2
    assert query(suite_config, "SELECT role, company_name FROM accounts "
                               "WHERE role IN ('company', 'citizen')") == [
        ("company", "Travaux du Lez")]


@pytest.mark.parametrize("change, wrong, message", [
    ({"siret": "73282932000075"}, "siret", "Not a SIRET: its check digit (Luhn key) is wrong."),
    ({"siret": "7328293200007"}, "siret", "A SIRET is 14 digits."),
    ({"company_name": ""}, "company_name", None),
    ({"contact_name": "x" * 201}, "contact_name", None),
    ({"password": "eleven char"}, "password", None),
    ({"given_name": "Ada"}, "given_name", None),
])
def test_an_invalid_company_sign_up_names_the_field_and_writes_and_sends_nothing(
        identity_rpc, smtp_server, suite_config, change, wrong, message):
    with pytest.raises(Invalid) as refusal:
        identity_rpc.sign_up_company({**LEZ, **change})
    assert list(refusal.value.errors) == [wrong]
    if message:
        assert refusal.value.errors[wrong] == [message]
    assert query(suite_config, "SELECT count(*) FROM accounts WHERE role = 'company'") == [(0,)]
    assert query(suite_config, "SELECT count(*) FROM mail_outbox") == [(0,)]
    assert smtp_server.messages == []


def test_a_company_does_not_delete_its_account(
        identity_rpc, smtp_server, suite_config):
    identity_rpc.sign_up_company(LEZ)
    identity_rpc.verify_email(token_in(smtp_server.wait_for(1)[0]))
    account_id = claims_of(token_for(identity_rpc, LEZ["email"], LEZ["password"]),
                           identity_rpc.public_keys(), suite_config)["sub"]
    with pytest.raises(Forbidden):
        identity_rpc.delete_citizen(account_id)
    assert token_for(identity_rpc, LEZ["email"], LEZ["password"])


def test_no_address_name_or_siret_reaches_the_logs(identity, suite_config, smtp_server, caplog):
    caplog.set_level(logging.INFO)
    with rpc(suite_config) as identity_rpc:
        identity_rpc.sign_up_company(LEZ)
        identity_rpc.verify_email(token_in(smtp_server.wait_for(1)[0]))
        identity_rpc.sign_up_company(LEZ)
        identity_rpc.resend_verification({"email": LEZ["email"]})
        smtp_server.wait_for(2)
    assert "company.signed_up" in caplog.text and "company.email_verified" in caplog.text
    for personal in ("Travaux", "73282932000074", "Camille", "Roux", "appels.offres",
                     LEZ["password"]):
        assert personal.lower() not in caplog.text.lower(), personal
