"""TéléAlerte over HTTP, as a commune and the Metropole use it (issue 10): the Metropole opens
a commune's fifteen alert accounts and refuses the sixteenth; the commune's agent imports
1,000 contacts (the invalid rows reported, none imported half), launches a campaign on SMS and
e-mail, follows it live as server-sent events, and every consenting recipient gets a
personalised e-mail at the SMTP server and an SMS at the operator's, none twice, as the
tracking counts say; the CAP export validates; the campaign's cost lands on the commune's
draft title. A contact without consent is never alerted; a commune that does not subscribe
launches nothing."""

import base64
import json
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from servicekit.clock import LEGAL_TIME_ZONE
from services.alerting.cap import validate_cap
from tests.e2e.support import agent_of, assert_problem, start_suite, wait_for

pytestmark = pytest.mark.broker

LAVERUNE, GRABELS = "34134", "34116"
CONTACTS = 1000
HEADER = "external_id,name,phone,email,address,language,groups,consent,consent_method,kind"


def alerting(insee):
    return f"/api/v1/communes/{insee}/alerting"


def contact_rows():
    """The commune's register: each row with what the import should make of it."""
    rows = []
    for number in range(1, CONTACTS + 1):
        name = "" if number % 97 == 0 else f"Habitant {number}"
        phone = "12345" if number % 50 == 0 else f"0612{number:04d}00"
        email = f"habitant{number}@example.org"
        if number % 4 == 0:
            email = ""
        elif number % 4 == 1:
            phone = ""
        kind, consent, method = "resident", "yes", "formulaire papier"
        if number % 10 == 3:
            consent, method = "no", ""
        elif number % 10 == 7:
            kind, consent, method = "staff", "", ""
        groups = "population;ecoles" if number % 3 == 0 else "population"
        rows.append({"external_id": f"H{number}", "name": name, "phone": phone,
                     "email": email, "groups": groups, "consent": consent,
                     "consent_method": method, "kind": kind,
                     "valid": bool(name) and phone != "12345"})
    return rows


def csv_upload(rows):
    lines = [HEADER] + [
        f"{r['external_id']},{r['name']},{r['phone']},{r['email']},,fr,\"{r['groups']}\","
        f"{r['consent']},{r['consent_method']},{r['kind']}" for r in rows]
    content = "\n".join(lines).encode("utf-8")
    return {"file_name": "registre.csv", "content": base64.b64encode(content).decode()}


def e164(phone):
    return "+33" + phone[1:]


@pytest.fixture
def admin_api(api, start_services, smtp_server, web_config_port, operator_server):
    admin, _ = start_suite(api, start_services, smtp_server, web_config_port,
                           extra_subscriptions=((LAVERUNE, "alerting"),),
                           **operator_server.alerting_config(),
                           ALERTING_DISPATCH_INTERVAL=0.1, ALERTING_SSE_INTERVAL=0.2)
    return admin


def test_a_campaign_reaches_every_consenting_recipient_once_and_is_billed(
        admin_api, api, smtp_server, operator_server):
    for number in range(15):
        created = wait_for(lambda number=number: admin_api.post(
            f"{alerting(LAVERUNE)}/accounts", json={"name": f"Agent {number}",
                                                     "email": f"agent{number}@laverune.fr"}),
            lambda answer: answer.status_code != 403)  # the subscription on its way
        assert created.status_code == 201, created.text
    sixteenth = admin_api.post(f"{alerting(LAVERUNE)}/accounts", json={
        "name": "Agent 16", "email": "agent16@laverune.fr"})
    assert_problem(sixteenth, 409)
    assert "at most 15 alert accounts" in sixteenth.json()["detail"]

    agent = agent_of(admin_api, api, LAVERUNE, "agent.alerte.laverune")
    rows = contact_rows()
    report = agent.post(f"{alerting(LAVERUNE)}/contacts/import", json=csv_upload(rows))
    assert report.status_code == 200, report.text
    valid = [row for row in rows if row["valid"]]
    assert report.json()["inserted"] == len(valid)
    assert {r["row"] for r in report.json()["rejected"]} == {
        number + 2 for number, row in enumerate(rows) if not row["valid"]}
    assert {r["column"] for r in report.json()["rejected"]} == {"name", "phone"}
    listed = agent.get(f"{alerting(LAVERUNE)}/contacts", params={"limit": 1})
    assert listed.json()["total_count"] == len(valid)  # none imported half

    leaving = agent.get(f"{alerting(LAVERUNE)}/contacts",
                        params={"limit": 1, "group": "ecoles"}).json()["results"][0]
    assert agent.post(f"{alerting(LAVERUNE)}/contacts/{leaving['id']}/unsubscription").ok
    alerted = [row for row in valid if row["consent"] == "yes" or row["kind"] == "staff"
               if row["external_id"] != leaving["external_id"]]
    texted = {e164(row["phone"]) for row in alerted if row["phone"]}
    mailed = {row["email"]: row["name"] for row in alerted if row["email"]}

    launched = agent.post(f"{alerting(LAVERUNE)}/campaigns",
                          headers={"Idempotency-Key": "inondation-mosson"},
                          json={"scenario": "inondation", "groups": ["population", "ecoles"],
                                "channels": ["sms", "email"], "area": "Berges de la Mosson"})
    assert launched.status_code == 201, launched.text
    campaign = launched.json()
    assert campaign["recipients"] == len(alerted)
    path = f"{alerting(LAVERUNE)}/campaigns/{campaign['id']}"

    events = []
    with agent.get(f"{path}/events", stream=True, timeout=120) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        name = None
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: "):])))
                if name == "end":
                    break
    states = [data for name, data in events if name == "campaign"]
    assert states[-1]["status"] == "completed"
    assert len(states) >= 2  # it was followed while it ran

    done = agent.get(path).json()
    sms = operator_server.messages(channel="sms")
    assert sorted(m["to"] for m in sms) == sorted(texted)  # every one, none twice
    assert done["counts"]["sms"]["delivered"] == len(sms) == len(texted)
    mails = smtp_server.wait_for(len(mailed))
    campaign_mails = [m for m in mails if m.message["Subject"] == "Alerte inondation – Lavérune"]
    assert sorted(m.rcpt_tos[0] for m in campaign_mails) == sorted(mailed)
    assert done["counts"]["email"]["delivered"] == len(campaign_mails) == len(mailed)
    first = campaign_mails[0]
    assert first.text.startswith(f"Bonjour {mailed[first.rcpt_tos[0]]},")
    assert done["totals"]["failed"] == 0

    cap = agent.get(f"{path}/cap.xml")
    assert cap.status_code == 200 and cap.headers["Content-Type"].startswith(
        "application/cap+xml")
    validate_cap(cap.content)
    assert b"<areaDesc>Berges de la Mosson</areaDesc>" in cap.content

    year = datetime.now(LEGAL_TIME_ZONE).year

    def cost_lines():
        titles = admin_api.get(f"/api/v1/communes/{LAVERUNE}/billing/titles",
                               params={"year": year}).json()
        return [line for title in titles if title["status"] == "draft"
                for line in title["lines"] if "campagne d'alerte" in line["description"]]

    (line,) = wait_for(cost_lines, bool)
    expected = (Decimal("0.045") * len(texted)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert line["amount"] == done["cost"] == str(expected)
    assert f"{len(texted)} segment(s) SMS" in line["description"]
    assert line["vat_rate"] == "0.20"

    again = agent.post(f"{alerting(LAVERUNE)}/campaigns",
                       headers={"Idempotency-Key": "inondation-mosson"},
                       json={"scenario": "inondation", "groups": ["population", "ecoles"],
                             "channels": ["sms", "email"], "area": "Berges de la Mosson"})
    assert again.json()["id"] == campaign["id"]


def test_who_is_never_alerted_and_who_may_not_alert(admin_api, api, operator_server):
    agent = agent_of(admin_api, api, LAVERUNE, "agent.alerte.laverune")
    wait_for(lambda: agent.get(f"{alerting(LAVERUNE)}/groups"), lambda a: a.status_code == 200)
    upload = {"file_name": "refus.csv", "content": base64.b64encode(
        (HEADER + "\nR1,Sans Accord,0612000100,,,fr,quartier,no,,resident\n"
                  "R2,Pas Demande,0612000200,,,fr,quartier,,,resident\n").encode()).decode()}
    assert agent.post(f"{alerting(LAVERUNE)}/contacts/import", json=upload).json()[
        "inserted"] == 2

    refused = agent.post(f"{alerting(LAVERUNE)}/campaigns", json={
        "scenario": "canicule", "groups": ["quartier"], "channels": ["sms"]})
    assert_problem(refused, 422, "groups")
    assert agent.get(f"{alerting(LAVERUNE)}/campaigns").json() == []
    assert operator_server.messages() == []

    grabels = agent_of(admin_api, api, GRABELS, "agent.alerte.grabels")
    not_subscribed = grabels.post(f"{alerting(GRABELS)}/campaigns", json={
        "scenario": "canicule", "groups": ["quartier"], "channels": ["sms"]})
    assert_problem(not_subscribed, 403)
    assert "does not subscribe" in not_subscribed.json()["detail"]
