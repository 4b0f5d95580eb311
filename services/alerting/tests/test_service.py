"""TéléAlerte's accounts, recipients and scenarios through the real broker: fifteen accounts and
no more, a CSV import kept in sync by external id with each refused row reported, consent and
unsubscribing, groups, and the scenario library."""

import base64
from datetime import UTC, datetime

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from contracts.errors import Conflict, Forbidden, Invalid
from servicekit.testing_bus import subscribe
from services.alerting.service import AlertingService

pytestmark = pytest.mark.broker

LAVERUNE, GRABELS = "34134", "34116"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
HEADER = "external_id;name;phone;email;groups;consent;consent_method;kind;action"


def csv_file(*lines):
    content = "\r\n".join([HEADER, *lines]).encode("utf-8")
    return {"file_name": "contacts.csv", "content": base64.b64encode(content).decode()}


@pytest.fixture
def alerting(container_factory, suite_config, smtp_server):
    container = container_factory(AlertingService, {
        **suite_config, **smtp_server.mail_config(), "CLOCK_FROZEN_AT": NOW.isoformat(),
        "POSTBOX_POLL_INTERVAL": 0.2})
    container.start()
    return container


@pytest.fixture
def rpc(suite_config, alerting):
    with ServiceRpcProxy("alerting", suite_config, timeout=10) as proxy:
        yield proxy


@pytest.fixture
def laverune(alerting, suite_config):
    subscribe(alerting, suite_config, LAVERUNE, "alerting", NOW)
    return LAVERUNE


def test_a_commune_not_subscribed_is_refused(rpc):
    with pytest.raises(Forbidden, match="does not subscribe"):
        rpc.import_contacts(GRABELS, csv_file("1;Ada;0612345678;;;yes;formulaire;;"))


def test_fifteen_accounts_and_not_one_more(laverune, rpc):
    for number in range(15):
        rpc.create_account(LAVERUNE, {"name": f"Agent {number}",
                                      "email": f"agent{number}@laverune.fr",
                                      "phone": "06 12 34 56 78"}, "admin")
    with pytest.raises(Conflict, match="15"):
        rpc.create_account(LAVERUNE, {"name": "Agent 16", "email": "agent16@laverune.fr"},
                           "admin")
    accounts = rpc.accounts(LAVERUNE)
    assert len(accounts) == 15 and accounts[0]["phone"] == "+33612345678"


def test_an_import_keeps_the_database_in_sync_and_reports_each_refused_row(laverune, rpc):
    first = rpc.import_contacts(LAVERUNE, csv_file(
        "1;Ada Martin;06 12 34 56 78;ada@example.org;rue-des-ecoles;yes;formulaire;;",
        "2;Jean Roux;0612;;rue-des-ecoles;yes;formulaire;;",
        "3;Services techniques;04 67 00 00 00;st@laverune.fr;services;;;service;",
        "4;Bob Durand;06 98 76 54 32;;rue-des-ecoles;;;;"))
    assert (first["inserted"], first["updated"], first["deleted"]) == (3, 0, 0)
    assert [(r["row"], r["column"]) for r in first["rejected"]] == [(3, "phone")]

    second = rpc.import_contacts(LAVERUNE, csv_file(
        "1;Ada Martin;06 12 34 56 79;ada@example.org;rue-des-ecoles;yes;formulaire;;",
        "4;;;;;;;;delete"))
    assert (second["inserted"], second["updated"], second["deleted"]) == (0, 1, 1)

    page = rpc.contacts(LAVERUNE, {"group": "rue-des-ecoles"})
    assert [(c["external_id"], c["phone"], c["alertable"]) for c in page["results"]] == [
        ("1", "+33612345679", True)]
    services = rpc.contacts(LAVERUNE, {"group": "services"})["results"][0]
    assert services["alertable"] is True and services["consent"] is None
    assert rpc.groups(LAVERUNE) == [
        {"name": "rue-des-ecoles", "contacts": 1, "alertable": 1},
        {"name": "services", "contacts": 1, "alertable": 1}]

    ada = page["results"][0]
    assert rpc.unsubscribe(LAVERUNE, ada["id"])["alertable"] is False
    assert rpc.groups(LAVERUNE)[0]["alertable"] == 0


def test_the_library_and_the_communes_own_scenarios(laverune, rpc):
    library = {s["slug"]: s for s in rpc.scenarios(LAVERUNE)}
    assert {"inondation", "canicule", "accident-industriel", "coupure-eau",
            "exercice"} <= set(library)
    flood = library["inondation"]
    assert flood["placeholders"] == ["commune", "name"]
    assert flood["sms_preview"]["encoding"] == "GSM-7"

    own = rpc.add_scenario(LAVERUNE, {
        "slug": "feu-de-foret", "title": "Feu de forêt", "event": "Feu de forêt",
        "category": "Fire", "severity": "Severe", "urgency": "Immediate",
        "instruction": "Restez chez vous, fermez les volets.",
        "sms": "Feu de forêt près de {{ commune }} : restez chez vous, fermez les volets."})
    assert own["commune"] == LAVERUNE and own["sms_preview"]["encoding"] == "UCS-2"
    with pytest.raises(Conflict):
        rpc.add_scenario(LAVERUNE, {
            "slug": "inondation", "title": "Crue", "event": "Inondation", "category": "Met",
            "severity": "Minor", "urgency": "Future", "instruction": "Restez informés."})


def test_an_account_with_a_wrong_phone_is_refused_naming_it(laverune, rpc):
    with pytest.raises(Invalid) as refused:
        rpc.create_account(LAVERUNE, {"name": "Agent", "email": "agent@laverune.fr",
                                      "phone": "12 34"}, "admin")
    assert "phone" in refused.value.errors


def test_a_crisis_cell_tells_its_members_and_stakeholders_first_and_keeps_its_log(
        laverune, rpc, smtp_server):
    mayor = rpc.create_account(LAVERUNE, {"name": "Maire", "email": "maire@laverune.fr"},
                               "admin")
    rpc.import_contacts(LAVERUNE, csv_file(
        "1;SDIS 34;04 67 00 00 18;cta@sdis34.fr;secours;;;service;",
        "2;Ada Martin;06 12 34 56 78;ada@example.org;secours;no;;;"))

    cell = rpc.activate_cell(LAVERUNE, {"title": "Crue de la Mosson",
                                        "scenario": "inondation",
                                        "stakeholder_groups": ["secours"]}, "agent")

    assert (cell["status"], cell["members"]) == ("active", [{"id": mayor["id"],
                                                             "name": "Maire"}])
    assert cell["stakeholders_notified"] == 1
    told = sorted(m.rcpt_tos[0] for m in smtp_server.wait_for(2))
    assert told == ["cta@sdis34.fr", "maire@laverune.fr"]
    with pytest.raises(Conflict, match="active"):
        rpc.activate_cell(LAVERUNE, {"title": "Autre"}, "agent")
    rpc.log_to_cell(LAVERUNE, cell["id"], {"kind": "decision",
                                           "text": "Évacuation du quartier du Mas"}, "agent")
    closed = rpc.close_cell(LAVERUNE, cell["id"], {"summary": "Décrue constatée."}, "agent")
    assert [e["kind"] for e in closed["log"]] == ["activation", "notified", "decision",
                                                  "closing"]
    with pytest.raises(Conflict, match="closed"):
        rpc.log_to_cell(LAVERUNE, cell["id"], {"kind": "message", "text": "Merci"}, "agent")
