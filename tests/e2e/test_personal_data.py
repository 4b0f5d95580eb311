"""A citizen's rights over HTTP, across the suite (issue 13): a citizen of Lavérune writes to
the town hall, proposes and comments in a consultation, and is in the commune's alert register,
which alerted them by e-mail and SMS. Their export holds their data from every service that has
any; once they delete their account, no service returns their name, e-mail or phone, and the
commune's records — the request, the proposal, the register's row, the campaign's counts —
remain, anonymised; and no line of the suite's log names them."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from contracts.personal_data import ERASED, HOLDERS, PersonalDataExportSchema
from tests.e2e.support import agent_of, assert_problem, signed_up, start_suite, wait_for

pytestmark = pytest.mark.broker

LAVERUNE = "34134"
ES = f"/api/v1/communes/{LAVERUNE}/eservices"
ALERTING = f"/api/v1/communes/{LAVERUNE}/alerting"
PLATFORM = "/api/v1/participation/processes"
PASSWORD = "a long enough secret"
GIVEN_NAME, FAMILY_NAME = "Clothilde", "Vandermeersch"
EMAIL = "clothilde.vandermeersch@example.org"
PHONE, E164 = "06 71 82 93 05", "+33671829305"
REGISTER = "\n".join([
    "external_id,name,phone,email,groups,consent,consent_method,kind",
    f"R1,{GIVEN_NAME} {FAMILY_NAME},{PHONE},{EMAIL},quartier,yes,formulaire papier,resident",
    "R2,Voisin Durand,06 71 82 93 06,voisin@example.org,quartier,yes,formulaire papier,"
    "resident",
])


def needles_in(text):
    """Which of the citizen's name, e-mail and phone the text holds, however written."""
    text = text.lower()
    return {needle for needle in (GIVEN_NAME, FAMILY_NAME, EMAIL, PHONE, E164,
                                  PHONE.replace(" ", ""))
            if needle.lower() in text}


@pytest.fixture
def suite(api, start_services, smtp_server, web_config_port, operator_server):
    admin, _ = start_suite(api, start_services, smtp_server, web_config_port,
                           extra_subscriptions=((LAVERUNE, "participation"),
                                                (LAVERUNE, "alerting")),
                           **operator_server.alerting_config(), ALERTING_DISPATCH_INTERVAL=0.1)
    return admin, agent_of(admin, api, LAVERUNE, "agent.laverune")


def test_the_export_spans_every_holder_and_deletion_leaves_only_anonymous_records(
        log_file, suite, api, smtp_server, operator_server):
    admin, agent = suite
    branded = wait_for(lambda: admin.put(f"{ES}/branding", json={
        "name": "Mairie de Lavérune", "logo_url": None, "primary_colour": "#005a9c",
        "secondary_colour": "#f2a900", "contact": {
            "address": "Place de la mairie, 34880 Lavérune", "email": "mairie@laverune.fr",
            "phone": "04 67 47 00 00", "opening_hours": None}}), lambda a: a.status_code == 200)
    assert branded.status_code == 200, branded.text
    assert agent.put(f"{ES}/forms/contact").status_code == 200
    imported = wait_for(lambda: agent.post(f"{ALERTING}/contacts/import", json={
        "file_name": "registre.csv",
        "content": base64.b64encode(REGISTER.encode()).decode()}), lambda a: a.ok)
    assert imported.json()["inserted"] == 2, imported.text
    now = datetime.now(UTC).replace(microsecond=0)
    process = wait_for(lambda: agent.post(
        f"/api/v1/communes/{LAVERUNE}/participation/processes", json={
            "title": "Place du marché", "description": "Que faire de la place ?",
            "kind": "consultation", "phases": {
                "proposals": {"starts_at": (now - timedelta(hours=1)).isoformat(),
                              "ends_at": (now + timedelta(days=7)).isoformat()},
                "voting": {"starts_at": (now + timedelta(days=7)).isoformat(),
                           "ends_at": (now + timedelta(days=14)).isoformat()},
                "results": {"starts_at": (now + timedelta(days=14)).isoformat(),
                            "ends_at": None}}}), lambda a: a.status_code == 201)
    assert process.status_code == 201, process.text

    citizen = signed_up(api, smtp_server, "/api/v1/citizens", {
        "email": EMAIL, "password": PASSWORD, "given_name": GIVEN_NAME,
        "family_name": FAMILY_NAME})
    written = citizen.post(f"{ES}/requests", json={"form": "contact", "data": {
        "subject": "Horaires", "message": "Quels sont les horaires de la mairie ?"}})
    assert written.status_code == 201, written.text
    assert citizen.put("/api/v1/me/participation/residence",
                       json={"commune": LAVERUNE}).status_code == 200
    proposals = f"{PLATFORM}/{process.json()['id']}/proposals"
    proposed = citizen.post(proposals, json={"title": "Un marché bio", "body": "Le samedi."})
    assert proposed.status_code == 201, proposed.text
    commented = citizen.post(f"{proposals}/{proposed.json()['id']}/comments",
                             json={"body": "Avec des producteurs locaux."})
    assert commented.status_code == 201, commented.text
    launched = agent.post(f"{ALERTING}/campaigns", json={
        "scenario": "inondation", "groups": ["quartier"], "channels": ["sms", "email"]})
    assert launched.status_code == 201, launched.text
    campaign = f"{ALERTING}/campaigns/{launched.json()['id']}"
    alerted = wait_for(lambda: agent.get(campaign).json(),
                       lambda c: c["status"] == "completed", seconds=30)

    exported = citizen.get("/api/v1/me/export")

    assert exported.status_code == 200, exported.text
    export = exported.json()
    assert PersonalDataExportSchema().validate(export) == {}
    assert set(export) == {"generated_at", *HOLDERS}
    assert export["identity"]["account"]["email"] == EMAIL
    assert [login["outcome"] for login in export["identity"]["logins"]] == [
        "success", "unverified"]
    (request,) = export["eservices"]["requests"]
    assert request["id"] == written.json()["id"]
    assert any(request["reference"] in mail["subject"] for mail in export["eservices"]["mails"])
    participation = export["participation"]
    assert participation["residence"]["commune"] == LAVERUNE
    assert [p["title"] for p in participation["proposals"]] == ["Un marché bio"]
    assert [c["body"] for c in participation["comments"]] == ["Avec des producteurs locaux."]
    (contact,) = export["alerting"]["contacts"]
    assert (contact["name"], contact["phone"]) == (f"{GIVEN_NAME} {FAMILY_NAME}", E164)
    assert sorted((d["channel"], d["address"]) for d in export["alerting"]["deliveries"]) == [
        ("email", EMAIL), ("sms", E164)]

    assert citizen.delete("/api/v1/me").status_code == 204

    assert_problem(api.post("/api/v1/auth/token",
                            json={"username": EMAIL, "password": PASSWORD}), 401)
    request_path = f"{ES}/requests/{written.json()['id']}"
    kept_request = wait_for(lambda: agent.get(request_path).json(), lambda r: r["anonymised"])
    kept_proposals = wait_for(lambda: api.get(proposals).json(),
                              lambda page: page[0]["author"] is None)
    contacts = wait_for(lambda: agent.get(f"{ALERTING}/contacts").json(),
                        lambda page: any(c["name"] == ERASED for c in page["results"]))
    comments = api.get(f"{proposals}/{proposed.json()['id']}/comments").json()
    campaign_after = agent.get(campaign).json()
    deliveries = agent.get(f"{campaign}/deliveries").json()
    # What every service shows of the citizen now, to the commune and to anyone.
    for answer in (kept_request, kept_proposals, comments, contacts, campaign_after,
                   deliveries):
        assert needles_in(json.dumps(answer, ensure_ascii=False)) == set(), answer
    # The commune's records remain.
    assert kept_request["reference"] == request["reference"]
    assert [(p["id"], p["title"]) for p in kept_proposals] == [
        (proposed.json()["id"], "Un marché bio")]
    assert [c["author"] for c in comments] == [None]
    assert contacts["total_count"] == 2
    assert campaign_after["counts"] == alerted["counts"]
    assert deliveries["total_count"] == alerted["totals"]["total"]
    # Nor do the logs of the whole journey, nor the dead letters, name them.
    logged = log_file.read_text(encoding="utf-8")
    assert '"contacts.anonymised"' in logged and '"requests.anonymised"' in logged
    assert needles_in(logged) == set()
    dead_letters = admin.get("/api/v1/ops/dead-letters").json()
    assert sum(report["total"] for report in dead_letters["services"].values()) == 0
