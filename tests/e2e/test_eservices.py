"""Online services over HTTP, as citizens, communes' agents and the Metropole use them (issue
7): a citizen signs up once, confirms their address from the e-mail a real SMTP server
received, and submits requests to two communes from the same account; each commune's agent
sees only its own and processes them, and the citizen is told by e-mail. The rules answer as
they should — a double booking, a full camp, a full birth copy for an unrelated requester, an
invalid submission — and leave nothing half-written. A commune's second custom form lands on
its next draft title as a VAT line, the first does not. A deleted account no longer logs in,
and its requests stay with the commune, anonymised."""

import base64
import functools
import uuid
from datetime import datetime, timedelta

import pytest

from servicekit.clock import LEGAL_TIME_ZONE
from tests.e2e.support import agent_of, assert_problem, signed_up, start_suite, wait_for

pytestmark = pytest.mark.broker

LAVERUNE, MONTPELLIER = "34134", "34172"
PASSWORD = "a long enough secret"
ADA = {"email": "ada.lovelace@example.org", "password": PASSWORD, "given_name": "Ada",
       "family_name": "Lovelace"}
BOB = {"email": "bob.martin@example.org", "password": PASSWORD, "given_name": "Bob",
       "family_name": "Martin"}
CONTACT = {"address": "Place de la mairie, 34880 Lavérune", "email": "mairie@laverune.fr",
           "phone": "04 67 47 00 00", "opening_hours": None}


def eservices(insee):
    return f"/api/v1/communes/{insee}/eservices"


def branding(name, email):
    return {"name": name, "logo_url": None, "primary_colour": "#005a9c",
            "secondary_colour": "#f2a900", "contact": {**CONTACT, "email": email}}


@pytest.fixture
def admin_api(api, start_services, smtp_server, web_config_port):
    """The whole suite with a real SMTP server; Montpellier subscribing to online services
    beside Lavérune, and both set up."""
    admin, _ = start_suite(api, start_services, smtp_server, web_config_port,
                           extra_subscriptions=((MONTPELLIER, "eservices"),))
    for insee, name, email in ((LAVERUNE, "Mairie de Lavérune", "mairie@laverune.fr"),
                               (MONTPELLIER, "Ville de Montpellier", "contact@montpellier.fr")):
        set_up = functools.partial(admin.put, f"{eservices(insee)}/branding",
                                   json=branding(name, email))
        answer = wait_for(set_up, lambda a: a.status_code == 200)
        assert answer.status_code == 200, answer.text
    return admin



def citizen(api, smtp_server, person):
    return signed_up(api, smtp_server, "/api/v1/citizens", person)


def mails_to(smtp_server, address, count):
    return wait_for(lambda: [m for m in smtp_server.messages if m.rcpt_tos == (address,)],
                    lambda found: len(found) >= count)



def offer(agent, insee, *slugs):
    for slug in slugs:
        answer = agent.put(f"{eservices(insee)}/forms/{slug}")
        assert answer.status_code == 200, answer.text


def test_one_account_requests_to_two_communes_each_agent_its_own_mails_on_the_way(
        admin_api, api, smtp_server):
    laverune = agent_of(admin_api, api, LAVERUNE, "agent.laverune")
    montpellier = agent_of(admin_api, api, MONTPELLIER, "agent.montpellier")
    offer(laverune, LAVERUNE, "contact", "demande-intervention")
    offer(montpellier, MONTPELLIER, "contact")
    assert {f["slug"] for f in api.get(f"{eservices(LAVERUNE)}/forms").json()} == {
        "contact", "demande-intervention"}
    ada = citizen(api, smtp_server, ADA)

    pothole = ada.post(f"{eservices(LAVERUNE)}/requests", json={
        "form": "demande-intervention",
        "data": {"category": "voirie", "description": "Nid-de-poule devant l'école",
                 "location": {"lat": 43.5869, "lon": 3.8003}}})
    question = ada.post(f"{eservices(MONTPELLIER)}/requests", json={
        "form": "contact", "data": {"subject": "Horaires", "message": "Bonjour"}})
    assert pothole.status_code == question.status_code == 201, (pothole.text, question.text)

    mine = ada.get("/api/v1/me/requests").json()
    assert {(r["commune"], r["reference"]) for r in mine} == {
        (LAVERUNE, f"{LAVERUNE}-{datetime.now(LEGAL_TIME_ZONE).year}-000001"),
        (MONTPELLIER, f"{MONTPELLIER}-{datetime.now(LEGAL_TIME_ZONE).year}-000001")}
    seen_here = laverune.get(f"{eservices(LAVERUNE)}/requests").json()
    assert [r["id"] for r in seen_here["items"]] == [pothole.json()["id"]]
    assert seen_here["counts"] == {"new": 1}
    assert laverune.get(f"{eservices(MONTPELLIER)}/requests").status_code == 404
    assert laverune.get(
        f"{eservices(LAVERUNE)}/requests/{question.json()['id']}").status_code == 404

    request = f"{eservices(LAVERUNE)}/requests/{pothole.json()['id']}"
    assert laverune.post(f"{request}/transitions", json={"to": "in_progress"}).ok
    asked = laverune.post(f"{request}/transitions", json={
        "to": "waiting_for_citizen", "message": "Pouvez-vous joindre une photo ?"})
    assert asked.status_code == 200, asked.text
    answered = ada.post(f"/api/v1/me/requests/{pothole.json()['id']}/messages",
                        json={"text": "Il est devant le numéro 3."})
    assert answered.json()["status"] == "in_progress"
    assert laverune.post(f"{request}/transitions", json={"to": "done"}).json()["status"] == "done"

    subjects = [m.message["Subject"] for m in mails_to(smtp_server, ADA["email"], 7)]
    assert sum("Accusé d'enregistrement" in s for s in subjects) == 2
    assert any("Accusé de réception" in s for s in subjects)
    assert any("en attente d'un complément" in s for s in subjects)
    assert any(s.endswith(": traitée") for s in subjects)


def test_the_second_custom_form_is_a_vat_line_on_the_next_draft_title(admin_api):
    year = datetime.now(LEGAL_TIME_ZONE).year
    titles = f"/api/v1/communes/{LAVERUNE}/billing/titles?year={year}"

    def form(slug, **extra):
        return {"slug": slug, "title": f"Formulaire {slug}", "description": "Hors catalogue.",
                "handling_service": "Accueil", "retention_days": 365,
                "fields": [{"name": "objet", "label": "Objet", "type": "text",
                            "required": True}], **extra}

    first = admin_api.post(f"{eservices(LAVERUNE)}/custom-forms", json=form("pret-de-salle"))
    assert first.status_code == 201, first.text
    assert first.json()["billable"] is False
    second = admin_api.post(f"{eservices(LAVERUNE)}/custom-forms",
                            json=form("pret-de-materiel", integration_price="450.00"))
    assert second.status_code == 201, second.text

    def vat_lines():
        drafts = [t for t in admin_api.get(titles).json() if t["status"] == "draft"]
        return [line for t in drafts for line in t["lines"] if line["vat_rate"] != "0.00"]

    (line,) = wait_for(vat_lines, bool)
    assert "pret-de-materiel" in line["description"]
    assert (line["amount"], line["vat_rate"]) == ("450.00", "0.20")
    assert not any("pret-de-salle" in line["description"] for line in vat_lines())
    draft = next(t for t in admin_api.get(titles).json() if t["status"] == "draft")
    assert draft["total_vat"] == "90.00"


def test_each_rule_answers_and_nothing_is_half_written(admin_api, api, smtp_server):
    agent = agent_of(admin_api, api, LAVERUNE, "agent.laverune")
    offer(agent, LAVERUNE, "rendez-vous", "inscription-centre-vacances", "acte-de-naissance",
          "demande-intervention")
    ada, bob = citizen(api, smtp_server, ADA), citizen(api, smtp_server, BOB)
    agenda = agent.post(f"{eservices(LAVERUNE)}/agendas",
                        json={"name": "M. le Maire", "kind": "elected_official"}).json()
    starts_at = (datetime.now(LEGAL_TIME_ZONE) + timedelta(days=7)).replace(
        hour=10, minute=0, second=0, microsecond=0)
    slots = agent.post(f"{eservices(LAVERUNE)}/agendas/{agenda['id']}/slots",
                       json={"starts_at": starts_at.isoformat(), "minutes": 30})
    assert slots.status_code == 201, slots.text
    camp = agent.post(f"{eservices(LAVERUNE)}/camps", json={
        "name": "Séjour neige", "starts_on": "2027-02-15", "ends_on": "2027-02-20",
        "places": 1}).json()
    booking = {"form": "rendez-vous",
               "data": {"slot_id": slots.json()[0]["id"], "subject": "Voirie"}}

    assert ada.post(f"{eservices(LAVERUNE)}/requests", json=booking).status_code == 201
    assert_problem(bob.post(f"{eservices(LAVERUNE)}/requests", json=booking), 409)

    def registration(child):
        return {"form": "inscription-centre-vacances", "data": {
            "camp_id": camp["id"], "child_family_name": "Martin", "child_given_names": child,
            "child_birth_date": "2016-05-01", "guardian_phone": "06 12 34 56 78"},
            "attachments": [{"name": "vaccination_record", "file_name": "carnet.pdf",
                             "content": base64.b64encode(b"%PDF-1.4 carnet").decode()}]}

    placed = ada.post(f"{eservices(LAVERUNE)}/requests", json=registration("Anne"))
    waiting = bob.post(f"{eservices(LAVERUNE)}/requests", json=registration("Byron"))
    assert (placed.json()["waiting_list_position"],
            waiting.json()["waiting_list_position"]) == (None, 1)

    full_copy = {"form": "acte-de-naissance", "data": {
        "copy_type": "full_copy", "relationship": "other", "family_name": "Lovelace",
        "given_names": "Ada", "act_date": "1990-12-10", "delivery": "email"}}
    assert_problem(bob.post(f"{eservices(LAVERUNE)}/requests", json=full_copy), 422,
                   "data.copy_type")
    assert_problem(bob.post(f"{eservices(LAVERUNE)}/requests", json={
        "form": "demande-intervention", "data": {"category": "voirie"}}), 422,
        "data.description")
    assert_problem(bob.post(f"{eservices(LAVERUNE)}/requests", json={
        "form": "contact", "data": {}, "surprise": True}), 422, "surprise")

    assert [r["form"] for r in bob.get("/api/v1/me/requests").json()] == [
        "inscription-centre-vacances"]
    counts = agent.get(f"{eservices(LAVERUNE)}/requests").json()["counts"]
    assert counts == {"new": 3}
    assert api.get(f"{eservices(LAVERUNE)}/camps").json()[0]["waiting_list"] == 1


def test_a_deleted_account_no_longer_logs_in_and_its_requests_stay_anonymised(
        admin_api, api, smtp_server):
    agent = agent_of(admin_api, api, LAVERUNE, "agent.laverune")
    offer(agent, LAVERUNE, "acte-de-naissance")
    ada = citizen(api, smtp_server, ADA)
    submitted = ada.post(f"{eservices(LAVERUNE)}/requests", json={
        "form": "acte-de-naissance", "data": {
            "copy_type": "full_copy", "relationship": "self", "family_name": "Lovelace",
            "given_names": "Ada", "act_date": "1990-12-10", "delivery": "email"}},
        headers={"Idempotency-Key": str(uuid.uuid4())})
    assert submitted.status_code == 201, submitted.text
    exported = ada.get("/api/v1/me/export")
    assert exported.status_code == 200, exported.text
    assert [r["id"] for r in exported.json()["eservices"]["requests"]] == [
        submitted.json()["id"]]

    assert ada.delete("/api/v1/me").status_code == 204

    refused = api.post("/api/v1/auth/token", json={"username": ADA["email"],
                                                   "password": PASSWORD})
    assert_problem(refused, 401)
    path = f"{eservices(LAVERUNE)}/requests/{submitted.json()['id']}"
    kept = wait_for(lambda: agent.get(path).json(), lambda r: r["anonymised"])
    assert kept["requester"] is None
    assert kept["reference"] == submitted.json()["reference"]
    assert "family_name" not in kept["data"] and kept["data"]["copy_type"] == "full_copy"
