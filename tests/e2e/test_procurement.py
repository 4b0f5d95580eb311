"""The procurement portal over HTTP, as a buyer's agents and companies use it (issue 8), with
the portal's clock in the test's hands: a consultation published, two companies withdraw its
file and are e-mailed when a document changes, bids deposited and sealed — not even a
Metropole admin can open them before the deadline —, a bid one second after the deadline kept
but excluded, the opening that finds every receipt's fingerprint, the award, and its contract
data in the buyer's DECP on the open data portal. Bad input is refused clearly and loses
nothing."""

import base64
import functools
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.support import (
    agent_of,
    assert_problem,
    clock_of,
    signed_up,
    start_suite,
    wait_for,
)

pytestmark = pytest.mark.broker

LAVERUNE = "34134"
BUYER = f"/api/v1/communes/{LAVERUNE}/procurement"
PASSWORD = "a long enough secret"
ACME = {"email": "offres@acme.example", "password": PASSWORD, "company_name": "ACME Travaux",
        "siret": "73282932000074", "contact_name": "Ada Martin"}
BTP = {"email": "marches@btp-sud.example", "password": PASSWORD, "company_name": "BTP Sud",
       "siret": "35600000000048", "contact_name": "Jean Roux"}


def b64(content):
    return base64.b64encode(content).decode("ascii")


@pytest.fixture
def suite(api, start_services, smtp_server, web_config_port):
    admin, runner = start_suite(api, start_services, smtp_server, web_config_port)
    return admin, clock_of(runner, "procurement")


def company(api, smtp_server, person):
    return signed_up(api, smtp_server, "/api/v1/companies", person)


def mails_to(smtp_server, address):
    return [m for m in smtp_server.messages if m.rcpt_tos == (address,)]


def test_publish_withdraw_notify_seal_open_award_and_decp(suite, api, smtp_server):
    admin, clock = suite
    agent = agent_of(admin, api, LAVERUNE, "agent.laverune")
    page = wait_for(functools.partial(agent.put, f"{BUYER}/buyers/commune", json={
        "welcome": "Les marchés de Lavérune", "logo_url": None, "siret": "21340134200018"}),
        lambda a: a.status_code == 200)
    assert page.status_code == 200, page.text
    now = datetime.now(UTC).replace(microsecond=0)
    deadline = now + timedelta(hours=2)
    created = agent.post(f"{BUYER}/consultations", json={
        "reference": "2026-MAPA-014", "object": "Réfection de la voirie de l'avenue de la Gare",
        "procedure": "adapted", "cpv_codes": ["45233141-9"],
        "lots": [{"number": 1, "title": "Voirie"}], "estimated_value": "180000.00",
        "questions_deadline": (now + timedelta(hours=1)).isoformat(),
        "bid_deadline": deadline.isoformat(), "notice": "Avis d'appel public à la concurrence."})
    assert created.status_code == 201, created.text
    consultation = f"{BUYER}/consultations/{created.json()['id']}"
    public = f"/api/v1/procurement/consultations/{created.json()['id']}"
    assert agent.post(f"{consultation}/documents", json={
        "file_name": "CCTP.pdf", "content": b64(b"%PDF-1.4 CCTP v1")}).status_code == 201
    assert agent.post(f"{consultation}/publication").status_code == 200

    found = api.get("/api/v1/procurement/consultations", params={"q": "voirie"}).json()
    assert [c["reference"] for c in found["results"]] == ["2026-MAPA-014"]
    assert api.get(f"{public}/documents/CCTP.pdf").content == b"%PDF-1.4 CCTP v1"
    acme, btp = company(api, smtp_server, ACME), company(api, smtp_server, BTP)
    assert acme.post(f"{consultation}/withdrawals").status_code == 201
    assert btp.post(f"{consultation}/withdrawals").status_code == 201

    assert agent.post(f"{consultation}/documents", json={
        "file_name": "CCTP.pdf", "content": b64(b"%PDF-1.4 CCTP v2")}).status_code == 201
    for person in (ACME, BTP):
        told = wait_for(lambda p=person: [m for m in mails_to(smtp_server, p["email"])
                                          if "dossier modifié" in m.message["Subject"]], bool)
        assert told and "CCTP.pdf" in told[0].text

    offer = b"%PDF-1.4 offre ACME"
    receipt = acme.post(f"{consultation}/bids", json={
        "lot": 1, "files": [{"file_name": "offre.pdf", "content": b64(offer)}]})
    assert receipt.status_code == 201, receipt.text
    assert receipt.json()["files"][0]["sha256"] == hashlib.sha256(offer).hexdigest()
    assert btp.post(f"{consultation}/bids", json={
        "lot": 1, "files": [{"file_name": "offre.pdf", "content": b64(b"%PDF btp")}]}).ok

    # Sealed: counts only, and the opening refused — to the Metropole's admins too.
    assert agent.get(f"{consultation}/bids").json() == [{"lot": 1, "on_time": 2, "late": 0}]
    assert_problem(admin.post(f"{consultation}/opening"), 409)
    assert_problem(admin.get(f"{consultation}/opening"), 409)

    clock.set(deadline + timedelta(seconds=1))
    late = btp.post(f"{consultation}/bids", json={
        "lot": 1, "files": [{"file_name": "offre.pdf", "content": b64(b"%PDF en retard")}]})
    assert late.status_code == 201 and late.json()["late"] is True
    report = agent.post(f"{consultation}/opening")
    assert report.status_code == 200, report.text
    bids = {b["bid_id"]: b for b in report.json()["bids"]}
    assert len(bids) == 3
    assert all(f["matches_receipt"] for b in bids.values() for f in b["files"])
    assert bids[receipt.json()["bid_id"]]["files"][0]["sha256"] == hashlib.sha256(
        offer).hexdigest()
    assert (bids[late.json()["bid_id"]]["late"], bids[late.json()["bid_id"]]["admitted"]) == (
        True, False)

    awarded = agent.post(f"{consultation}/award", json={
        "lot": 1, "bid_id": receipt.json()["bid_id"], "amount": "152000.00",
        "price_form": "Ferme", "duration_months": 6,
        "notified_on": deadline.date().isoformat(), "place_code": "34880"})
    assert awarded.status_code == 201, awarded.text

    def decp():
        return api.get("/api/v1/opendata/datasets", params={
            "publisher": f"commune-{LAVERUNE}", "q": "DECP"}).json()["results"]

    (dataset,) = wait_for(decp, bool)
    resource = dataset["resources"][0]
    records = api.get(f"/api/v1/opendata/datasets/{dataset['id']}/resources/"
                      f"{resource['id']}/records").json()
    assert records["total_count"] == 1
    assert records["results"][0]["titulaires"] == f"SIRET:{ACME['siret']}"
    kinds = [h["kind"] for h in agent.get(f"{consultation}/history").json()["results"]]
    assert kinds.count("withdrawal") == 2 and kinds.count("bid_deposited") == 3
    assert kinds[-2:] == ["opened", "awarded"]


def test_bad_input_is_refused_clearly_and_loses_nothing(suite, api, smtp_server):
    admin, clock = suite
    invalid = api.post("/api/v1/companies", json={**ACME, "siret": "73282932000075"})
    assert_problem(invalid, 422, "siret")

    agent = agent_of(admin, api, LAVERUNE, "agent.laverune")
    now = datetime.now(UTC).replace(microsecond=0)
    created = agent.post(f"{BUYER}/consultations", json={
        "reference": "2026-AO-002", "object": "Fourniture de mobilier scolaire",
        "procedure": "open", "cpv_codes": ["39160000-1"],
        "lots": [{"number": 1, "title": "Mobilier"}], "estimated_value": "90000.00",
        "questions_deadline": (now + timedelta(minutes=30)).isoformat(),
        "bid_deadline": (now + timedelta(hours=1)).isoformat(), "notice": "Avis."})
    consultation = f"{BUYER}/consultations/{created.json()['id']}"
    agent.post(f"{consultation}/documents", json={"file_name": "RC.pdf",
                                                  "content": b64(b"%PDF RC")})
    agent.post(f"{consultation}/publication")
    acme = company(api, smtp_server, ACME)

    too_big = acme.post(f"{consultation}/bids", json={"lot": 1, "files": [
        {"file_name": "offre.pdf", "content": b64(b"%" * (20 * 1024 * 1024 + 1))}]})
    assert too_big.status_code in (413, 422), too_big.text
    assert too_big.headers["Content-Type"] == "application/problem+json"
    clock.set(now + timedelta(minutes=31))
    assert_problem(acme.post(f"{consultation}/questions", json={"text": "Délai ?"}), 409)
    clock.set(now + timedelta(hours=1, seconds=1))
    assert agent.post(f"{consultation}/opening").status_code == 200
    assert_problem(acme.post(f"{consultation}/bids", json={"lot": 1, "files": [
        {"file_name": "offre.pdf", "content": b64(b"%PDF")}]}), 409)

    assert agent.get(f"{consultation}/bids").json() == [{"lot": 1, "on_time": 0, "late": 0}]
    assert agent.get(f"{consultation}/questions").json() == {"total_count": 0, "results": []}
