"""The Chorus Pro client against our Chorus Pro server (``chorus_sandbox``): deposits, searches,
statuses, and what it does when Chorus Pro fails, refuses or forgets a token. Waits are short:
0.3 s for an answer, backoff recorded instead of slept."""

import base64
import json
from datetime import UTC, datetime

import pytest

from chorus_sandbox.testing import sample_cii
from servicekit.clock import LEGAL_TIME_ZONE
from servicekit.tests.support import closed_port
from services.billing.chorus import (
    ChorusAuthError,
    ChorusProClient,
    ChorusRejected,
    ChorusSettings,
    ChorusUnavailable,
    FlowReport,
    StatusChange,
    token_url_for,
)

SYNTAX = "IN_DP_E1_CII_16B"
NUMBER = "2022-000001"


class Recorder:
    def __init__(self):
        self.exchanges = []
        self.sleeps = []

    def operations(self):
        return [(e.operation, e.status) for e in self.exchanges]


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def make_client(chorus_sandbox, recorder):
    def make(**settings):
        settings = {"timeout": 0.3, "attempts": 4, "backoff": 0.01, **settings}
        return ChorusProClient(chorus_sandbox.settings(**settings),
                               record=recorder.exchanges.append, sleep=recorder.sleeps.append)

    return make


@pytest.fixture
def client(make_client):
    return make_client()


def deposit(client, number=NUMBER, content=None, **options):
    content = sample_cii(number) if content is None else content
    return client.deposit_invoice(number, f"titre-{number}.xml", content, SYNTAX, **options)


def test_a_deposited_invoice_is_found_with_its_history_and_its_flow_integrated(
        client, chorus_sandbox):
    before = datetime.now(UTC)
    sent = deposit(client)

    assert sent.flow_number.startswith("CPP") and sent.invoice_id is None
    assert not sent.already_there
    assert before.replace(microsecond=0) <= sent.deposited_at <= datetime.now(UTC)
    found = client.find_invoice(NUMBER)
    assert (found.number, found.status, found.flow_number) == (NUMBER, "DEPOSEE", sent.flow_number)
    assert isinstance(found.invoice_id, int)
    # rechercher/fournisseur gives the day only: its midnight in France.
    assert found.deposited_at.astimezone(LEGAL_TIME_ZONE) == sent.deposited_at.astimezone(
        LEGAL_TIME_ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    assert client.history(found.invoice_id) == [StatusChange("DEPOSEE", sent.deposited_at)]
    assert client.flow_report(sent.flow_number, SYNTAX) == FlowReport("IN_INTEGRE", None)
    assert client.find_invoice("2022-999999") is None
    (invoice,) = chorus_sandbox.invoices()
    assert (invoice["numeroFacture"], invoice["deposits"]) == (NUMBER, 1)


def test_a_credit_note_is_read_as_an_avoir_of_its_title(client, chorus_sandbox):
    deposit(client, "2022-000032", sample_cii("2022-000032", type_code="381", preceding=NUMBER))

    (listed,) = chorus_sandbox.invoices()
    assert (listed["typeFacture"], listed["numeroFactureOrigine"]) == ("AVOIR", NUMBER)
    assert (listed["codeDestinataire"], listed["montantTTC"]) == ("21340134000017", 150.11)


def test_statuses_set_on_chorus_pro_come_back_in_order_with_their_french_times_and_reason(
        client, chorus_sandbox):
    deposit(client)
    chorus_sandbox.set_status(NUMBER, "MISE_A_DISPOSITION", at="2022-03-01T10:00:00")
    chorus_sandbox.set_status(NUMBER, "REJETEE", motif="Code service inconnu")

    found = client.find_invoice(NUMBER)
    assert (found.status, found.comment) == ("REJETEE", "Code service inconnu")
    made_available, deposited, rejected = client.history(found.invoice_id)
    # 10:00 in Paris in winter is 09:00 UTC.
    assert made_available == StatusChange("MISE_A_DISPOSITION", datetime(2022, 3, 1, 9, tzinfo=UTC))
    assert deposited.status == "DEPOSEE"
    assert (rejected.status, rejected.comment) == ("REJETEE", "Code service inconnu")
    assert deposited.changed_at <= rejected.changed_at


def test_a_500_at_the_first_deposit_is_retried_after_a_search_and_deposits_once(
        client, chorus_sandbox, recorder):
    chorus_sandbox.fail("deposer/flux", "500")

    sent = deposit(client)

    assert not sent.already_there and sent.flow_number
    assert recorder.operations() == [
        ("token", 200), ("deposer/flux", 500), ("rechercher/fournisseur", 200),
        ("deposer/flux", 200),
    ]
    assert recorder.sleeps == [0.01]
    assert [i["numeroFacture"] for i in chorus_sandbox.invoices()] == [NUMBER]


def test_a_deposit_stored_but_unanswered_is_found_by_the_search_and_not_deposited_again(
        client, chorus_sandbox, recorder):
    chorus_sandbox.fail("deposer/flux", "timeout", after_store=True, seconds=1.0)

    sent = deposit(client)

    assert sent.already_there
    (invoice,) = chorus_sandbox.invoices()
    assert (sent.invoice_id, sent.flow_number) == (invoice["identifiantFactureCPP"],
                                                  invoice["numeroFluxDepot"])
    assert invoice["deposits"] == 1
    assert chorus_sandbox.state()["duplicates"] == {}
    timed_out = recorder.exchanges[1]
    assert (timed_out.operation, timed_out.status, timed_out.response) == (
        "deposer/flux", None, None)
    assert timed_out.error == "no answer within 0.3 s"
    assert recorder.operations()[2:] == [("rechercher/fournisseur", 200)]


def test_check_first_finds_an_invoice_an_earlier_instance_deposited(
        make_client, chorus_sandbox, recorder):
    deposit(make_client())
    recorder.exchanges.clear()

    again = deposit(make_client(), check_first=True)

    assert again.already_there
    assert [e.operation for e in recorder.exchanges] == ["token", "rechercher/fournisseur"]
    assert chorus_sandbox.invoices()[0]["deposits"] == 1


def test_a_number_refused_as_already_deposited_is_taken_as_there(client, chorus_sandbox):
    first = deposit(client)
    again = deposit(client)

    assert again.already_there and again.flow_number == first.flow_number
    assert chorus_sandbox.state()["duplicates"] == {NUMBER: 1}
    assert len(chorus_sandbox.invoices()) == 1


def test_a_business_refusal_raises_with_chorus_pros_reason(client, chorus_sandbox, recorder):
    chorus_sandbox.fail("deposer/flux", "reject", reason="Structure destinataire inactive")

    with pytest.raises(ChorusRejected) as refused:
        deposit(client)

    assert "Structure destinataire inactive" in refused.value.reason
    assert recorder.operations()[-2:] == [("deposer/flux", 400), ("rechercher/fournisseur", 200)]
    assert recorder.sleeps == [] and chorus_sandbox.invoices() == []


def test_a_file_failing_the_schema_is_a_rejected_flow_and_never_an_invoice(client, chorus_sandbox):
    sent = deposit(client, content=sample_cii(NUMBER, valid=False))

    assert sent.flow_number and not sent.already_there
    assert client.find_invoice(NUMBER) is None
    report = client.flow_report(sent.flow_number, SYNTAX)
    assert report.state == "IN_REJETE"
    assert "TypeCode" in report.reason or "IssueDateTime" in report.reason
    assert chorus_sandbox.invoices() == []


def test_the_token_is_kept_until_it_expires_then_fetched_again(chorus_sandbox, recorder):
    now = [1000.0]
    client = ChorusProClient(chorus_sandbox.settings(), record=recorder.exchanges.append,
                             clock=lambda: now[0])
    client.find_invoice(NUMBER)
    client.find_invoice(NUMBER)
    assert chorus_sandbox.state()["tokens_issued"] == 1

    now[0] += 3600
    client.find_invoice(NUMBER)
    assert chorus_sandbox.state()["tokens_issued"] == 2
    assert [e.operation for e in recorder.exchanges].count("token") == 2


@pytest.mark.parametrize("forgotten", ["expired", "revoked"])
def test_a_token_chorus_pro_refuses_is_fetched_again_once(
        client, chorus_sandbox, recorder, forgotten):
    client.find_invoice(NUMBER)
    if forgotten == "expired":
        chorus_sandbox.expire_tokens()
    else:
        chorus_sandbox.fail("rechercher/fournisseur", "401")
    recorder.exchanges.clear()

    assert client.find_invoice(NUMBER) is None

    assert recorder.operations() == [
        ("rechercher/fournisseur", 401), ("token", 200), ("rechercher/fournisseur", 200)]
    assert chorus_sandbox.state()["tokens_issued"] == 2


def test_wrong_credentials_are_a_setting_to_fix_not_a_refused_document(
        make_client, chorus_sandbox, recorder):
    with pytest.raises(ChorusAuthError, match="client credentials"):
        make_client(client_secret="not-the-secret").find_invoice(NUMBER)
    with pytest.raises(ChorusAuthError, match="HTTP 403"):
        make_client(technical_password="not-the-password").find_invoice(NUMBER)
    assert "not-the-secret" not in json.dumps([e.request for e in recorder.exchanges])


def test_failures_that_never_end_make_chorus_unavailable_after_backing_off(
        client, chorus_sandbox, recorder):
    chorus_sandbox.fail("deposer/flux", "500")
    chorus_sandbox.fail("rechercher/fournisseur", "500", times=3)

    with pytest.raises(ChorusUnavailable, match="4 attempts"):
        deposit(client)

    assert recorder.sleeps == [0.01, 0.02, 0.04]
    assert chorus_sandbox.invoices() == []


def test_an_unreachable_chorus_pro_is_unavailable(recorder):
    url = f"http://127.0.0.1:{closed_port()}"
    settings = ChorusSettings(url + "/api/oauth/token", url, "id", "secret", "login", "pw",
                              timeout=0.3, attempts=2, backoff=0.01)
    client = ChorusProClient(settings, record=recorder.exchanges.append,
                             sleep=recorder.sleeps.append)

    with pytest.raises(ChorusUnavailable, match="connection failed"):
        client.find_invoice(NUMBER)
    assert [(e.operation, e.error) for e in recorder.exchanges] == [
        ("token", "connection failed: ConnectionError")] * 2


def test_every_call_is_recorded_without_a_secret_or_the_file(
        client, chorus_sandbox, recorder):
    content = sample_cii(NUMBER)
    chorus_sandbox.fail("deposer/flux", "500")
    sent = deposit(client, content=content)
    client.history(client.find_invoice(NUMBER).invoice_id)
    client.flow_report(sent.flow_number, SYNTAX)

    assert [e.operation for e in recorder.exchanges] == [
        "token", "deposer/flux", "rechercher/fournisseur", "deposer/flux",
        "rechercher/fournisseur", "consulter/historique", "consulterCRDetaille"]
    recorded = json.dumps([
        [e.url, e.request, e.response, e.error] for e in recorder.exchanges])
    account = f"{chorus_sandbox.login}:{chorus_sandbox.password}".encode()
    secrets = [chorus_sandbox.client_secret, chorus_sandbox.password,
               base64.b64encode(account).decode(), *chorus_sandbox.app._tokens]
    assert [secret for secret in secrets if secret in recorded] == []
    assert base64.b64encode(content).decode()[:40] not in recorded
    token = recorder.exchanges[0]
    assert token.request["client_secret"] == "***" and token.response["access_token"] == "***"
    assert token.request["client_id"] == chorus_sandbox.client_id
    stored = recorder.exchanges[3]
    assert stored.request["fichierFlux"]["size"] == len(content)
    assert len(stored.request["fichierFlux"]["sha256"]) == 64
    assert stored.response["numeroFluxDepot"] == sent.flow_number
    for exchange in recorder.exchanges:
        assert exchange.method == "POST" and exchange.url.startswith(chorus_sandbox.url)
        assert exchange.started_at.tzinfo is not None and exchange.duration_ms >= 0
    json.dumps([e.request for e in recorder.exchanges])  # billing stores them as JSON


def test_settings_default_to_pistes_qualification_and_keep_their_secrets_out_of_repr():
    settings = ChorusSettings.from_config({"CHORUS_CLIENT_SECRET": "s3cr3t",
                                           "CHORUS_PASSWORD": "pa55"})
    assert (settings.api_url, settings.token_url) == (
        "https://sandbox-api.piste.gouv.fr", "https://sandbox-oauth.piste.gouv.fr/api/oauth/token")
    assert "s3cr3t" not in repr(settings) and "pa55" not in repr(settings)
    assert token_url_for("https://api.piste.gouv.fr/") == (
        "https://oauth.piste.gouv.fr/api/oauth/token")
    assert token_url_for("http://127.0.0.1:8090") == "http://127.0.0.1:8090/api/oauth/token"
