"""TéléAlerte's campaigns through the real broker, a real SMTP server and the local operator,
whose receipts reach the service as the gateway forwards them: each person once per channel,
personalised; receipts late, twice or out of order; temporary failures tried again; pause,
resume, stop and re-sending; replies; calls and their minutes; the CAP export."""

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from werkzeug.wrappers import Request, Response

from contracts.errors import Conflict, Forbidden, Invalid, NotFound
from contracts.events import ACCOUNT_DELETED
from contracts.personal_data import ERASED, AlertingExportSchema, email_digest
from servicekit.sandbox_testing import serving
from servicekit.testing_bus import deliver, subscribe
from services.alerting.cap import validate_cap
from services.alerting.dispatch import callback_token
from services.alerting.service import AlertingService

pytestmark = pytest.mark.broker

LAVERUNE, GRABELS = "34134", "34116"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
HEADER = "external_id;name;phone;email;groups;consent;consent_method;kind;action"
TOKEN = "test-callback-token"


def csv_file(*lines):
    content = "\r\n".join([HEADER, *lines]).encode("utf-8")
    return {"file_name": "contacts.csv", "content": base64.b64encode(content).decode()}


class CallbackForwarder:
    """What the gateway's callback route does: the operator's JSON to ``operator_callback``."""

    def __init__(self, config):
        self.config = config
        self.answers = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        token = request.path.rstrip("/").rpartition("/")[2]
        with ServiceRpcProxy("alerting", self.config, timeout=10) as alerting:
            try:
                answer = alerting.operator_callback(token, json.loads(request.get_data()))
                status = 200
            except NotFound:
                answer, status = {"detail": "no such callback"}, 404
        self.answers.append(answer)
        return Response(json.dumps(answer), status=status,
                        mimetype="application/json")(environ, start_response)


class RunningForwarder:
    def __init__(self, url, app):
        self.url = url
        self.app = app

    def close(self):
        pass


@pytest.fixture
def callbacks(suite_config):
    app = CallbackForwarder(suite_config)
    with serving(app, lambda url: RunningForwarder(url, app)) as running:
        yield running


@pytest.fixture
def alerting(container_factory, suite_config, smtp_server, operator_server, callbacks):
    container = container_factory(AlertingService, {
        **suite_config, **smtp_server.mail_config(), "CLOCK_FROZEN_AT": NOW.isoformat(),
        **operator_server.alerting_config(
            OPERATOR_CALLBACK_URL=f"{callbacks.url}/callbacks",
            OPERATOR_CALLBACK_TOKEN=TOKEN),
        "ALERTING_DISPATCH_INTERVAL": 0.1, "ALERTING_RETRY_SECONDS": 0.1,
        "ALERTING_RECEIPT_WAIT": 60, "POSTBOX_POLL_INTERVAL": 0.2})
    container.start()
    return container


@pytest.fixture
def rpc(suite_config, alerting):
    with ServiceRpcProxy("alerting", suite_config, timeout=20) as proxy:
        yield proxy


@pytest.fixture
def laverune(alerting, suite_config, rpc):
    subscribe(alerting, suite_config, LAVERUNE, "alerting", NOW)
    rpc.import_contacts(LAVERUNE, csv_file(
        "1;Anne Roux;06 12 34 56 01;anne@example.org;quartier;yes;formulaire;;",
        # In both groups: alerted once per channel.
        '2;Paul Vidal;06 12 34 56 02;paul@example.org;"quartier;ecole";yes;formulaire;;',
        "3;Ines Bru;;ines@example.org;ecole;yes;courrier;;",
        "4;Sans Accord;06 12 34 56 04;refus@example.org;quartier;no;;;",
        "5;Agent Astreinte;06 12 34 56 05;astreinte@laverune.fr;ecole;;;staff;",
    ))
    return LAVERUNE


def wait_for_campaign(rpc, campaign_id, status="completed", timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        campaign = rpc.campaign(LAVERUNE, campaign_id)
        if campaign["status"] == status:
            return campaign
        if time.monotonic() > deadline:
            raise AssertionError(f"still {campaign['status']}: {campaign['totals']}")
        time.sleep(0.1)


FLOOD = {"scenario": "inondation", "groups": ["quartier", "ecole"],
         "channels": ["sms", "email"]}


def test_a_campaign_reaches_each_consenting_person_once_per_channel(laverune, rpc,
                                                                    smtp_server,
                                                                    operator_server):
    launched = rpc.launch_campaign(LAVERUNE, FLOOD, "agent-1")
    assert launched["recipients"] == 4  # not the one without consent
    assert launched["counts"]["sms"]["total"] == 3 and launched["counts"]["email"]["total"] == 4

    done = wait_for_campaign(rpc, launched["id"])

    sms = operator_server.messages(channel="sms")
    assert sorted(m["to"] for m in sms) == ["+33612345601", "+33612345602", "+33612345605"]
    assert {m["text"] for m in sms} == {
        "Mairie de Lavérune : risque d'inondation. Montez à l'étage, ne prenez pas votre "
        "voiture. Infos : site de la mairie."}
    mails = smtp_server.wait_for(4)
    assert sorted(m.rcpt_tos[0] for m in mails) == [
        "anne@example.org", "astreinte@laverune.fr", "ines@example.org", "paul@example.org"]
    anne = next(m for m in mails if m.rcpt_tos == ("anne@example.org",))
    assert anne.message["Subject"] == "Alerte inondation – Lavérune"
    assert anne.text.startswith("Bonjour Anne Roux,")
    assert done["counts"]["sms"]["delivered"] == len(sms) == 3
    assert done["counts"]["email"]["delivered"] == len(mails) == 4
    assert done["totals"]["failed"] == 0 and done["totals"]["queued"] == 0
    assert (done["sms_segments"], done["cost"]) == (3, "0.14")  # 3 × 0.045, half up
    assert done["sms_preview"]["segments"] == 1


def test_a_temporary_failure_is_tried_three_times_then_the_campaign_is_resent(
        laverune, rpc, operator_server):
    rpc.import_contacts(LAVERUNE, csv_file(
        "9;Hors Zone;06 12 34 56 98;;zone;yes;formulaire;;",
        "10;Numero Faux;06 12 34 56 99;;zone;yes;formulaire;;"))
    launched = rpc.launch_campaign(LAVERUNE, {"scenario": "canicule", "groups": ["zone"],
                                              "channels": ["sms"]}, "agent-1")

    done = wait_for_campaign(rpc, launched["id"])

    tries = [m["to"] for m in operator_server.messages(channel="sms")]
    assert tries.count("+33612345698") == 3  # out of reach: three tries
    assert tries.count("+33612345699") == 1  # failed for good: once
    assert done["counts"]["sms"]["failed"] == 2
    assert done["sms_segments"] == 4
    failed = rpc.campaign_deliveries(LAVERUNE, launched["id"], {"status": "failed"})
    assert failed["total_count"] == 2
    assert {d["last_error"] for d in failed["results"]} == {"Expired (406)", "Failed (402)"}

    again = rpc.resend_campaign(LAVERUNE, launched["id"], "agent-1")
    assert (again["status"], again["round"]) == ("running", 2)
    wait_for_campaign(rpc, launched["id"])
    assert len(operator_server.messages(channel="sms")) == 4 + 3 + 1


def test_pause_resume_stop_and_their_refusals(laverune, rpc, operator_server):
    # The operator is down: the SMS stay queued, tried again later.
    operator_server.fail("batches", "500", times=1000)
    launched = rpc.launch_campaign(LAVERUNE, {**FLOOD, "channels": ["sms"]}, "agent-1")
    paused = rpc.pause_campaign(LAVERUNE, launched["id"], "agent-1")
    assert paused["status"] == "paused"
    with pytest.raises(Conflict, match="running"):
        rpc.pause_campaign(LAVERUNE, launched["id"], "agent-1")
    with pytest.raises(Conflict, match="re-sent once it completed"):
        rpc.resend_campaign(LAVERUNE, launched["id"], "agent-1")
    resumed = rpc.resume_campaign(LAVERUNE, launched["id"], "agent-1")
    assert resumed["status"] == "running"
    stopped = rpc.stop_campaign(LAVERUNE, launched["id"], "agent-1")
    assert stopped["status"] == "stopped" and stopped["stopped_at"]
    assert stopped["counts"]["sms"]["queued"] == 3
    with pytest.raises(Conflict):
        rpc.resume_campaign(LAVERUNE, launched["id"], "agent-1")

    # The operator back, the campaign re-sent: what was still queued leaves at once.
    operator_server.reset()
    again = rpc.resend_campaign(LAVERUNE, launched["id"], "agent-1")
    assert (again["status"], again["round"], again["stopped_at"]) == ("running", 2, None)
    done = wait_for_campaign(rpc, launched["id"])
    assert done["counts"]["sms"]["delivered"] == 3
    assert len(operator_server.messages(channel="sms")) == 3


def test_receipts_late_twice_or_out_of_order_never_move_a_delivery_back(
        laverune, rpc, operator_server):
    launched = rpc.launch_campaign(LAVERUNE, {**FLOOD, "channels": ["sms"]}, "agent-1")
    wait_for_campaign(rpc, launched["id"])
    message = operator_server.messages(channel="sms")[0]
    late = {"type": "recipient_delivery_report_sms", "batch_id": message["batch_id"],
            "recipient": message["to"], "status": "Dispatched", "code": 401,
            "at": "2026-11-27T09:00:00Z"}

    assert rpc.operator_callback(TOKEN, late) == {"recorded": False}
    assert rpc.operator_callback(TOKEN, {**late, "status": "Delivered", "code": 0}) == {
        "recorded": False}
    assert rpc.campaign(LAVERUNE, launched["id"])["counts"]["sms"]["delivered"] == 3
    with pytest.raises(NotFound):
        rpc.operator_callback("wrong-token", late)
    with pytest.raises(Invalid, match="body"):
        rpc.operator_callback(TOKEN, {"type": "something else"})


def test_a_reply_acknowledges_the_alert(laverune, rpc, operator_server):
    launched = rpc.launch_campaign(LAVERUNE, {**FLOOD, "channels": ["sms"]}, "agent-1")
    wait_for_campaign(rpc, launched["id"])

    operator_server.reply("+33612345601", "OK bien reçu")

    deadline = time.monotonic() + 5
    while rpc.campaign(LAVERUNE, launched["id"])["counts"]["sms"]["acknowledged"] != 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    answered = rpc.campaign_deliveries(LAVERUNE, launched["id"], {"status": "acknowledged"})
    assert [(d["name"], d["reply"]) for d in answered["results"]] == [("Anne Roux",
                                                                       "OK bien reçu")]


def test_calls_are_read_their_text_and_billed_per_started_minute(laverune, rpc,
                                                                 operator_server):
    launched = rpc.launch_campaign(LAVERUNE, {**FLOOD, "channels": ["voice"]}, "agent-1")

    done = wait_for_campaign(rpc, launched["id"])

    calls = operator_server.messages(channel="voice")
    assert len(calls) == 3 and all(c["status"] == "ANSWERED" for c in calls)
    assert done["counts"]["voice"]["delivered"] == 3
    assert done["voice_minutes"] == 3  # each call under a minute: one started minute
    assert done["cost"] == "0.36"


def test_the_same_idempotency_key_launches_once(laverune, rpc, operator_server):
    first = rpc.launch_campaign(LAVERUNE, FLOOD, "agent-1", idempotency_key="crue-1")
    again = rpc.launch_campaign(LAVERUNE, FLOOD, "agent-1", idempotency_key="crue-1")
    assert again["id"] == first["id"]
    assert len(rpc.campaigns(LAVERUNE)) == 1


@pytest.mark.parametrize("change, field", [
    ({"scenario": "tsunami"}, "scenario"),
    ({"groups": ["personne"]}, "groups"),
    ({"channels": ["fax"]}, "channels"),
    ({"headline": ""}, "headline"),
])
def test_a_launch_refused_names_the_field_and_writes_nothing(laverune, rpc, change, field):
    with pytest.raises(Invalid) as refused:
        rpc.launch_campaign(LAVERUNE, {**FLOOD, **change}, "agent-1")
    assert field in refused.value.errors
    assert rpc.campaigns(LAVERUNE) == []


def test_a_scenario_of_the_communes_own_needs_its_variables(laverune, rpc):
    rpc.add_scenario(LAVERUNE, {
        "slug": "fermeture-pont", "title": "Fermeture du pont", "event": "Fermeture",
        "category": "Transport", "severity": "Minor", "urgency": "Expected",
        "instruction": "Prenez la déviation.", "sms": "{{ commune }} : pont fermé à {{ heure }}."})
    with pytest.raises(Invalid) as refused:
        rpc.launch_campaign(LAVERUNE, {**FLOOD, "scenario": "fermeture-pont",
                                       "channels": ["sms"]}, "agent-1")
    assert "heure" in refused.value.errors["variables"][0]
    with pytest.raises(Invalid, match="email"):
        rpc.launch_campaign(LAVERUNE, {**FLOOD, "scenario": "fermeture-pont",
                                       "variables": {"heure": "18 h"}}, "agent-1")


def test_a_commune_not_subscribed_launches_nothing(laverune, rpc):
    with pytest.raises(Forbidden, match="does not subscribe"):
        rpc.launch_campaign(GRABELS, FLOOD, "agent-1")


def test_the_cap_export_is_a_valid_cap_alert(laverune, rpc):
    launched = rpc.launch_campaign(LAVERUNE, {**FLOOD, "status": "Exercise",
                                              "area": "Quartier du Mas"}, "agent-1")

    xml = rpc.campaign_cap(LAVERUNE, launched["id"]).encode("utf-8")

    validate_cap(xml)
    text = xml.decode("utf-8")
    for element in ("<status>Exercise</status>", "<msgType>Alert</msgType>",
                    "<event>Inondation</event>", "<severity>Severe</severity>",
                    "<areaDesc>Quartier du Mas</areaDesc>", "<value>34134</value>",
                    f"{launched['id']}</identifier>"):
        assert element in text


def test_the_callback_token_is_the_configured_one_or_derived_from_the_operators():
    assert callback_token("api token") == callback_token("api token")
    assert callback_token("api token") != callback_token("another")
    assert len(callback_token("api token")) == 32


def test_a_crisis_cell_texts_its_members_and_stakeholders_and_logs_its_campaigns(
        laverune, rpc, operator_server):
    rpc.create_account(LAVERUNE, {"name": "Maire", "email": "maire@laverune.fr",
                                  "phone": "06 12 34 56 10"}, "admin")
    rpc.create_account(LAVERUNE, {"name": "DGS", "email": "dgs@laverune.fr"}, "admin")

    cell = rpc.activate_cell(LAVERUNE, {"title": "Crue de la Mosson",
                                        "stakeholder_groups": ["ecole"]}, "agent-1")

    (alert,) = rpc.campaigns(LAVERUNE)
    assert (alert["cell_id"], alert["scenario"], alert["recipients"]) == (
        cell["id"], "cellule-de-crise", 3)  # the mayor; Paul and the on-call agent, at school
    wait_for_campaign(rpc, alert["id"])
    texts = operator_server.messages(channel="sms")
    assert sorted(m["to"] for m in texts) == ["+33612345602", "+33612345605", "+33612345610"]
    assert "cellule de crise « Crue de la Mosson » activée" in texts[0]["text"]

    launched = rpc.launch_campaign(LAVERUNE, {**FLOOD, "cell_id": cell["id"]}, "agent-1")
    assert launched["cell_id"] == cell["id"]
    log = rpc.crisis_cell(LAVERUNE, cell["id"])["log"]
    assert log[1]["text"].endswith("prévenus par courriel, 3 par SMS")
    assert log[-1]["text"].startswith("Campagne « Risque d'inondation » lancée vers 4")
    rpc.close_cell(LAVERUNE, cell["id"], {"summary": "Décrue."}, "agent-1")
    with pytest.raises(Conflict, match="closed"):
        rpc.launch_campaign(LAVERUNE, {**FLOOD, "cell_id": cell["id"]}, "agent-1")


def test_a_residents_export_finds_them_and_deleting_their_account_erases_them_counted(
        laverune, rpc, alerting, suite_config, smtp_server, operator_server):
    done = wait_for_campaign(rpc, rpc.launch_campaign(LAVERUNE, FLOOD, "agent-1")["id"])
    smtp_server.wait_for(4)
    anne = {"account_id": "5f0c7c52-8a59-4a3e-9d0b-2f1d7f0b6a11", "email": "Anne@Example.org"}

    exported = rpc.export_personal_data(anne)

    assert AlertingExportSchema().validate(exported) == {}
    (contact,) = exported["contacts"]
    assert (contact["commune"], contact["name"], contact["phone"]) == (
        LAVERUNE, "Anne Roux", "+33612345601")
    assert sorted((d["channel"], d["address"], d["status"]) for d in exported["deliveries"]) == [
        ("email", "anne@example.org", "delivered"), ("sms", "+33612345601", "delivered")]
    assert rpc.export_personal_data({**anne, "email": None}) == {"contacts": [],
                                                                  "deliveries": []}

    for address in ("anne@example.org", "astreinte@laverune.fr"):
        deliver(alerting, suite_config, ACCOUNT_DELETED, "on_account_deleted",
                {"account_id": anne["account_id"], "role": "citizen",
                 "email_digest": email_digest(address)}, NOW)

    assert rpc.export_personal_data(anne) == {"contacts": [], "deliveries": []}
    kept = {c["external_id"]: c for c in rpc.contacts(LAVERUNE, {"limit": 10})["results"]}
    erased = next(c for c in kept.values() if c["name"] == ERASED)
    assert (erased["phone"], erased["email"], erased["groups"], erased["alertable"]) == (
        None, None, [], False)
    assert erased["external_id"] == "1"
    # A staff contact is the commune's, alerted by duty: a citizen's deletion leaves it.
    assert kept["5"]["name"] == "Agent Astreinte"
    # The commune's register still holding them does not bring them back.
    again = rpc.import_contacts(LAVERUNE, csv_file(
        "1;Anne Roux;06 12 34 56 01;anne@example.org;quartier;yes;formulaire;;"))
    assert ([(r["row"], r["column"]) for r in again["rejected"]], again["updated"]) == (
        [(2, "external_id")], 0)
    assert rpc.contacts(LAVERUNE, {"limit": 10})["results"][0]["name"] == ERASED
    # The commune's record of the campaign still counts whom it reached.
    assert rpc.campaign(LAVERUNE, done["id"])["counts"] == done["counts"]
    names = [d["name"] for d in rpc.campaign_deliveries(
        LAVERUNE, done["id"], {"limit": 100})["results"]]
    assert "Anne Roux" not in names and names.count(ERASED) == 2
