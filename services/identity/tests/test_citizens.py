"""A citizen's account through the real broker and a real SMTP server: sign-up, the e-mail
whose link confirms the address, login, OpenID Connect, export and deletion."""

import json
import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from eventlet.queue import Queue
from nameko.events import event_handler

from contracts.envelope import EventEnvelopeSchema
from contracts.errors import Forbidden, Invalid, NotFound, Unauthorized
from contracts.events import AccountDeletedSchema
from contracts.identity import (
    EmailVerifiedSchema,
    MailAcceptedSchema,
    OpenIdConfigurationSchema,
    PrincipalSchema,
    UserInfoSchema,
    token_issuer,
)
from contracts.personal_data import IdentityExportSchema, email_digest
from servicekit.config import public_url
from services.identity.service import IdentityService
from services.identity.tests.test_service import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    claims_of,
    conforms,
    query,
    rpc,
    token_for,
)

pytestmark = pytest.mark.broker

ADA = {
    "email": "Ada.Lovelace@example.org",
    "password": "analytical engine 1843",
    "given_name": "Ada",
    "family_name": "Lovelace",
}
VERIFICATION = "/api/v1/citizens/email-verification"


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


def link_in(mail):
    (link,) = re.findall(r"^(https?://\S+)$", mail.text, re.MULTILINE)
    return link


def token_in(mail):
    (token,) = parse_qs(urlsplit(link_in(mail)).query)["token"]
    return token


def signed_up_and_confirmed(identity_rpc, smtp_server, citizen=ADA):
    identity_rpc.sign_up_citizen(citizen)
    mail = smtp_server.wait_for(len(smtp_server.messages) + 1)[-1]
    identity_rpc.verify_email(token_in(mail))
    return token_for(identity_rpc, citizen["email"], citizen["password"])


def test_a_citizen_confirms_their_address_by_the_link_mailed_to_them_then_logs_in(
        identity_rpc, smtp_server, suite_config):
    answer = conforms(MailAcceptedSchema(), identity_rpc.sign_up_citizen(ADA))

    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == (ADA["email"],)
    assert mail.message["Subject"] == "Confirmez votre adresse e-mail"
    link = link_in(mail)
    # The link opens the gateway's public route: what the mail client follows.
    assert link.startswith(f"{public_url(suite_config)}{VERIFICATION}?token=")
    # Only a digest of the link's secret is stored.
    token = token_in(mail)
    assert token not in json.dumps(query(suite_config, "SELECT * FROM email_verifications"))

    # A right password before the address is confirmed: told to confirm it first.
    with pytest.raises(Forbidden, match="^Confirm your e-mail address first: "):
        token_for(identity_rpc, ADA["email"], ADA["password"])

    verified = conforms(EmailVerifiedSchema(), identity_rpc.verify_email(token))
    assert verified == {"email": ADA["email"], "verified": True}
    with pytest.raises(NotFound, match="^token: "):
        identity_rpc.verify_email(token)

    # Logged in with the address, whatever its case: one account for all 31 communes.
    access_token = token_for(identity_rpc, "ada.lovelace@example.org", ADA["password"])
    claims = claims_of(access_token, identity_rpc.public_keys(), suite_config)
    assert (claims["kind"], claims["role"], claims["commune"]) == ("account", "citizen", None)
    assert conforms(PrincipalSchema(), identity_rpc.get_principal("account", claims["sub"])) == {
        "kind": "account", "id": claims["sub"], "name": "Ada Lovelace", "role": "citizen",
        "commune": None, "email": ADA["email"]}
    assert [e["outcome"] for e in identity_rpc.login_events(10)][:2] == ["success", "unverified"]

    # Signing up again answers the same, and mails the notice instead of a second account.
    assert identity_rpc.sign_up_citizen({**ADA, "password": "another password!"}) == answer
    notice = smtp_server.wait_for(2)[1]
    assert notice.message["Subject"] == "Vous avez déjà un compte"
    assert query(suite_config, "SELECT count(*) FROM accounts WHERE role = 'citizen'") == [(1,)]


def test_an_invalid_sign_up_writes_nothing_and_sends_nothing(identity_rpc, smtp_server,
                                                             suite_config):
    for change, wrong in [({"password": "eleven char"}, {"password"}),
                          ({"email": "not an address"}, {"email"}),
                          ({"given_name": ""}, {"given_name"}),
                          ({"role": "metropole_admin"}, {"role"})]:
        with pytest.raises(Invalid) as refusal:
            identity_rpc.sign_up_citizen({**ADA, **change})
        assert set(refusal.value.errors) == wrong
    assert query(suite_config, "SELECT count(*) FROM accounts WHERE role = 'citizen'") == [(0,)]
    assert query(suite_config, "SELECT count(*) FROM mail_outbox") == [(0,)]
    assert smtp_server.messages == []


def test_a_new_link_is_resent_on_request_and_the_answer_tells_nothing(
        identity_rpc, smtp_server):
    identity_rpc.sign_up_citizen(ADA)
    first = smtp_server.wait_for(1)[0]
    answers = {json.dumps(identity_rpc.resend_verification({"email": address}))
               for address in (ADA["email"], "nobody@example.org")}
    assert len(answers) == 1
    second = smtp_server.wait_for(2)[1]
    assert second.rcpt_tos == (ADA["email"],) and token_in(second) != token_in(first)
    assert identity_rpc.verify_email(token_in(second))["verified"] is True
    # Confirmed: the first link has stopped working, and no new one is sent.
    with pytest.raises(NotFound):
        identity_rpc.verify_email(token_in(first))
    identity_rpc.resend_verification({"email": ADA["email"]})
    assert len(smtp_server.messages) == 2


def account_deleted_listener(received):
    class EservicesStandIn:
        """Where ``account.deleted`` is routed: eservices' handler, stood in for."""

        name = "eservices"

        @event_handler("identity", "account.deleted")
        def on_account_deleted(self, envelope):
            received.put(envelope)

    return EservicesStandIn


def test_a_deleted_citizen_can_no_longer_log_in_and_every_service_hears_of_it(
        container_factory, identity_rpc, smtp_server, suite_config):
    received = Queue()
    container_factory(account_deleted_listener(received), suite_config).start()
    access_token = signed_up_and_confirmed(identity_rpc, smtp_server)
    account_id = claims_of(access_token, identity_rpc.public_keys(), suite_config)["sub"]

    with rpc(suite_config, "req-delete") as caller:
        assert caller.delete_citizen(account_id) is None

    envelope = received.get(timeout=10)
    EventEnvelopeSchema().load(envelope)
    assert (envelope["type"], envelope["producer"], envelope["correlation_id"]) == (
        "account.deleted", "identity", "req-delete")
    assert AccountDeletedSchema().load(envelope["data"]) and envelope["data"] == {
        "account_id": account_id, "role": "citizen", "email_digest": email_digest(ADA["email"])}
    assert ADA["email"].lower() not in json.dumps(envelope).lower()

    # The same refusal as a wrong password: nothing tells the address had an account.
    with pytest.raises(Unauthorized) as deleted:
        token_for(identity_rpc, ADA["email"], ADA["password"])
    with pytest.raises(Unauthorized) as unknown:
        token_for(identity_rpc, "nobody@example.org", ADA["password"])
    assert str(deleted.value) == str(unknown.value)
    for call in (lambda: identity_rpc.get_principal("account", account_id),
                 lambda: identity_rpc.export_personal_data(
                     {"account_id": account_id, "email": None})):
        with pytest.raises(NotFound):
            call()
    (row,) = query(suite_config, "SELECT username, email, email_key, given_name, family_name, "
                                 "deleted_at IS NOT NULL FROM accounts WHERE role = 'citizen'")
    assert row == (f"deleted-{account_id}", None, None, None, None, 1)
    # Deleting again changes nothing and announces nothing more.
    identity_rpc.delete_citizen(account_id)
    assert query(suite_config, "SELECT count(*) FROM outbox "
                               "WHERE event_type = 'account.deleted'") == [(1,)]


def test_only_citizens_delete_their_account(identity_rpc, suite_config):
    admin_token = token_for(identity_rpc, ADMIN_USERNAME, ADMIN_PASSWORD)
    admin_id = claims_of(admin_token, identity_rpc.public_keys(), suite_config)["sub"]
    with pytest.raises(Forbidden):
        identity_rpc.delete_citizen(admin_id)
    assert token_for(identity_rpc, ADMIN_USERNAME, ADMIN_PASSWORD)


def test_the_export_holds_the_account_its_logins_and_the_mails_kept(
        identity_rpc, smtp_server, suite_config):
    access_token = signed_up_and_confirmed(identity_rpc, smtp_server)
    account_id = claims_of(access_token, identity_rpc.public_keys(), suite_config)["sub"]

    export = conforms(IdentityExportSchema(), identity_rpc.export_personal_data(
        {"account_id": account_id, "email": ADA["email"]}))

    assert export["account"]["id"] == account_id
    assert (export["account"]["email"], export["account"]["email_verified"]) == (
        ADA["email"], True)
    assert [(e["outcome"], e["principal_id"]) for e in export["logins"]] == [
        ("success", account_id)]
    (mail,) = export["mails"]
    assert mail["subject"] == "Confirmez votre adresse e-mail" and mail["sent_at"]


def test_commune_portals_find_the_issuer_keys_and_claims_as_openid_connect_says(
        identity_rpc, smtp_server, suite_config):
    document = conforms(OpenIdConfigurationSchema(), identity_rpc.openid_configuration())
    issuer = token_issuer(public_url(suite_config))
    assert document["issuer"] == issuer
    assert document["jwks_uri"] == f"{issuer}/.well-known/jwks.json"

    access_token = signed_up_and_confirmed(identity_rpc, smtp_server)
    claims = claims_of(access_token, identity_rpc.public_keys(), suite_config)
    assert claims["iss"] == document["issuer"]
    assert conforms(UserInfoSchema(), identity_rpc.userinfo("account", claims["sub"])) == {
        "sub": claims["sub"], "email": ADA["email"], "email_verified": True,
        "given_name": "Ada", "family_name": "Lovelace"}
    admin = claims_of(token_for(identity_rpc, ADMIN_USERNAME, ADMIN_PASSWORD),
                      identity_rpc.public_keys(), suite_config)
    assert identity_rpc.userinfo("account", admin["sub"]) == {
        "sub": admin["sub"], "preferred_username": ADMIN_USERNAME}


def test_no_address_or_name_reaches_the_logs(identity, suite_config, smtp_server, caplog):
    caplog.set_level(logging.INFO)
    with rpc(suite_config) as identity_rpc:
        access_token = signed_up_and_confirmed(identity_rpc, smtp_server)
        account_id = claims_of(access_token, identity_rpc.public_keys(), suite_config)["sub"]
        identity_rpc.sign_up_citizen(ADA)
        identity_rpc.resend_verification({"email": ADA["email"]})
        identity_rpc.export_personal_data({"account_id": account_id, "email": ADA["email"]})
        identity_rpc.delete_citizen(account_id)
    smtp_server.wait_for(2)
    assert account_id in caplog.text  # the logs were captured, naming the account by id
    # Whole words: "ada" is also three letters of many a hexadecimal id.
    for personal in ("Ada", "Lovelace", "ada.lovelace", ADA["password"]):
        assert not re.search(rf"\b{re.escape(personal)}\b", caplog.text, re.IGNORECASE), personal
