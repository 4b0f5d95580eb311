"""The logs of a citizen's whole journey name nobody (issue 12): a citizen signs up, confirms
the e-mail, mistypes the password once, books an appointment leaving a phone number, writes to
the town hall, is answered, exports the account and deletes it — and not one line of the JSON
log file holds the name, the e-mail address or the phone number. Each line is JSON with its
logger and event; a worker's lines carry their service, entrypoint and correlation id, and a
request's X-Request-Id finds its story in the gateway and in the services it reached."""

import json
import re
from datetime import datetime, timedelta

import pytest

from servicekit.clock import LEGAL_TIME_ZONE
from tests.e2e.support import agent_of, signed_up, start_suite, wait_for

pytestmark = pytest.mark.broker

LAVERUNE = "34134"
ES = f"/api/v1/communes/{LAVERUNE}/eservices"
PASSWORD = "a long enough secret"
# Rare enough that a hit in the log can only be a leak.
GIVEN_NAME, FAMILY_NAME = "Philomène", "Quintavalle-Rousset"
EMAIL = "philomene.quintavalle@example.org"
PHONE = "06 71 82 93 04"
PERSON = {"email": EMAIL, "password": PASSWORD, "given_name": GIVEN_NAME,
          "family_name": FAMILY_NAME}
BOOKING_REQUEST_ID = "logs-booking-00000001"


def personal_needles():
    """Every spelling of the citizen's data a log line could hold."""
    digits = re.sub(r"\D", "", PHONE)
    return {GIVEN_NAME, FAMILY_NAME, "Quintavalle", EMAIL, EMAIL.split("@")[0], PHONE, digits,
            "+33" + digits[1:], json.dumps(GIVEN_NAME)[1:-1]}


def test_a_citizens_journey_leaves_no_personal_data_in_the_logs(
        log_file, api, start_services, smtp_server, web_config_port):
    admin, _ = start_suite(api, start_services, smtp_server, web_config_port)
    branded = wait_for(lambda: admin.put(f"{ES}/branding", json={
        "name": "Mairie de Lavérune", "logo_url": None, "primary_colour": "#005a9c",
        "secondary_colour": "#f2a900", "contact": {
            "address": "Place de la mairie, 34880 Lavérune", "email": "mairie@laverune.fr",
            "phone": "04 67 47 00 00", "opening_hours": None}}), lambda a: a.status_code == 200)
    assert branded.status_code == 200, branded.text
    agent = agent_of(admin, api, LAVERUNE, "agent.laverune")
    for slug in ("rendez-vous", "contact"):
        assert agent.put(f"{ES}/forms/{slug}").status_code == 200
    agenda = agent.post(f"{ES}/agendas", json={"name": "Accueil", "kind": "service"})
    assert agenda.status_code == 201, agenda.text
    starts_at = (datetime.now(LEGAL_TIME_ZONE) + timedelta(days=7)).replace(
        hour=10, minute=0, second=0, microsecond=0)
    slots = agent.post(f"{ES}/agendas/{agenda.json()['id']}/slots",
                       json={"starts_at": starts_at.isoformat(), "minutes": 30})
    assert slots.status_code == 201, slots.text

    citizen = signed_up(api, smtp_server, "/api/v1/citizens", PERSON)
    mistyped = api.post("/api/v1/auth/token", json={"username": EMAIL,
                                                    "password": "not the password"})
    assert mistyped.status_code == 401, mistyped.text
    booked = citizen.post(f"{ES}/requests", headers={"X-Request-Id": BOOKING_REQUEST_ID},
                          json={"form": "rendez-vous", "data": {
                              "slot_id": slots.json()[0]["id"],
                              "subject": f"Rendez-vous pour {GIVEN_NAME} {FAMILY_NAME}",
                              "phone": PHONE}})
    assert booked.status_code == 201, booked.text
    written = citizen.post(f"{ES}/requests", json={"form": "contact", "data": {
        "subject": "Horaires", "message": f"Bonjour, je suis {GIVEN_NAME}, joignable au "
                                          f"{PHONE} ou à {EMAIL}."}})
    assert written.status_code == 201, written.text
    request = f"{ES}/requests/{written.json()['id']}"
    assert agent.post(f"{request}/transitions", json={"to": "in_progress"}).status_code == 200
    assert agent.post(f"{request}/transitions", json={"to": "done"}).status_code == 200
    assert citizen.get("/api/v1/me/export").status_code == 200
    assert citizen.delete("/api/v1/me").status_code == 204
    # The deletion reaches online services by an event: its handler's lines are part of it.
    anonymised = wait_for(lambda: agent.get(request).json(), lambda r: r["anonymised"])
    assert anonymised["anonymised"], anonymised

    lines = log_file.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # every line is JSON, or this fails
    assert len(records) > 50, "the journey wrote hardly anything: is the log file the one?"

    needles = personal_needles()
    leaks = [(needle, line) for line in lines for needle in needles
             if needle.lower() in line.lower()]
    assert leaks == [], "\n".join(f"{needle!r} in {line}" for needle, line in leaks[:10])

    for record in records:
        assert record.get("event") and record.get("logger") and record.get("level"), record
        assert record.get("timestamp"), record
        if "entrypoint" in record:
            # A worker's line: who worked, and for which request.
            assert record.get("service") and record.get("correlation_id"), record
        if record["event"] == "http.request":
            assert record.get("correlation_id") and record.get("service") == "gateway", record

    story = [record for record in records if record.get("correlation_id") == BOOKING_REQUEST_ID]
    assert {"gateway", "eservices"} <= {record.get("service") for record in story}, story
