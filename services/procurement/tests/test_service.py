"""The procurement portal through the real broker and a real SMTP server, on a clock the test
moves: a consultation published with its file, companies withdrawing it and told of its
changes, questions until their deadline, bids sealed until the deadline and late ones kept but
not admitted, the opening that finds every receipt's fingerprint again, and the award."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select, text, update

from contracts.errors import Conflict, Forbidden, Invalid, NotFound
from contracts.procurement import MAX_PAGE
from servicekit.database import Database
from servicekit.files import Files
from servicekit.providers import sibling
from servicekit.tables import outbox
from servicekit.testing_bus import subscribe
from services.procurement.models import BidFile, HistoryEntry
from services.procurement.service import ProcurementService

pytestmark = pytest.mark.broker

LAVERUNE, GRABELS = "34134", "34116"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 12, 15, 11, 0, tzinfo=UTC)  # noon in Paris
AGENT = "agent-id"
ACME = {"account_id": "acme-id", "name": "ACME Travaux", "siret": "73282932000074",
        "email": "offres@acme.example"}
BTP = {"account_id": "btp-id", "name": "BTP Sud", "siret": "35600000000048",
       "email": "marches@btp-sud.example"}
CONSULTATION = {
    "reference": "2026-MAPA-014", "object": "Réfection de la voirie de l'avenue de la Gare",
    "procedure": "adapted", "cpv_codes": ["45233141-9"],
    "lots": [{"number": 1, "title": "Voirie"}, {"number": 2, "title": "Éclairage"}],
    "estimated_value": "180000.00",
    "questions_deadline": (DEADLINE - timedelta(days=5)).isoformat(),
    "bid_deadline": DEADLINE.isoformat(), "notice": "Avis d'appel public à la concurrence.",
}


def b64(content):
    return base64.b64encode(content).decode("ascii")


@pytest.fixture
def procurement(container_factory, suite_config, smtp_server):
    container = container_factory(ProcurementService, {
        **suite_config, **smtp_server.mail_config(), "CLOCK_FROZEN_AT": NOW.isoformat(),
        "POSTBOX_POLL_INTERVAL": 0.2})
    container.start()
    return container


@pytest.fixture
def clock(procurement):
    return next(d for d in procurement.dependencies if d.attr_name == "clock").clock


@pytest.fixture
def rpc(suite_config, procurement):
    with ServiceRpcProxy("procurement", suite_config, timeout=10) as proxy:
        yield proxy


@pytest.fixture
def laverune(procurement, suite_config, rpc):
    subscribe(procurement, suite_config, LAVERUNE, "procurement", NOW)
    rpc.set_buyer_page(LAVERUNE, "commune", {"welcome": "Marchés de Lavérune",
                                             "logo_url": None, "siret": "21340134200018"})
    return LAVERUNE


@pytest.fixture
def published(laverune, rpc):
    consultation = rpc.create_consultation(LAVERUNE, CONSULTATION, AGENT)
    rpc.add_document(LAVERUNE, consultation["id"],
                     {"file_name": "CCTP.pdf", "content": b64(b"%PDF-1.4 CCTP v1")}, AGENT)
    return rpc.publish(LAVERUNE, consultation["id"], AGENT)


def bid(lot=1, *contents):
    return {"lot": lot, "files": [{"file_name": f"offre-{i}.pdf", "content": b64(content)}
                                  for i, content in enumerate(contents or [b"%PDF offre"])]}


def test_a_commune_that_does_not_subscribe_cannot_publish(rpc):
    with pytest.raises(Forbidden):
        rpc.create_consultation(GRABELS, CONSULTATION, AGENT)


def test_deadlines_out_of_order_are_refused_naming_the_field(laverune, rpc):
    with pytest.raises(Invalid) as refused:
        rpc.create_consultation(LAVERUNE, {
            **CONSULTATION, "questions_deadline": (DEADLINE + timedelta(days=1)).isoformat()},
            AGENT)
    assert "questions_deadline" in refused.value.errors


def test_the_public_finds_downloads_and_companies_are_told_of_a_change(published, rpc,
                                                                       smtp_server):
    assert rpc.search_consultations({"q": "voirie"})["total_count"] == 1
    assert rpc.search_consultations({"cpv": "4523"})["total_count"] == 1
    assert rpc.search_consultations({"cpv": "7900"})["total_count"] == 0
    document = rpc.document(published["id"], "CCTP.pdf")
    assert base64.b64decode(document["content"]) == b"%PDF-1.4 CCTP v1"

    rpc.withdraw(LAVERUNE, published["id"], ACME)
    rpc.withdraw(LAVERUNE, published["id"], BTP)
    rpc.withdraw(LAVERUNE, published["id"], ACME)
    rpc.add_document(LAVERUNE, published["id"],
                     {"file_name": "CCTP.pdf", "content": b64(b"%PDF-1.4 CCTP v2")}, AGENT)

    mails = smtp_server.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in mails) == sorted([ACME["email"], BTP["email"]])
    assert "CCTP.pdf" in mails[0].text and "version 2" in mails[0].text
    assert rpc.consultation(published["id"])["documents"][0]["version"] == 2
    assert rpc.withdrawals(LAVERUNE, published["id"])["total_count"] == 3


def test_questions_close_at_their_deadline_and_answers_reach_every_company(
        published, rpc, clock, smtp_server):
    rpc.withdraw(LAVERUNE, published["id"], BTP)
    question = rpc.ask_question(LAVERUNE, published["id"], ACME, {"text": "Quel enrobé ?"})
    rpc.answer_question(LAVERUNE, published["id"], question["id"],
                        {"answer": "BBSG 0/10."}, AGENT)
    assert [q["answer"] for q in rpc.public_questions(published["id"])["results"]] == [
        "BBSG 0/10."]
    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == (BTP["email"],) and "BBSG 0/10." in mail.text

    clock.set(datetime.fromisoformat(CONSULTATION["questions_deadline"]) + timedelta(seconds=1))
    with pytest.raises(Conflict, match="Questions closed"):
        rpc.ask_question(LAVERUNE, published["id"], ACME, {"text": "Encore une ?"})


def test_the_registers_are_read_a_page_at_a_time(published, rpc, clock):
    for company in (ACME, BTP, ACME):
        rpc.withdraw(LAVERUNE, published["id"], company)
        clock.advance(minutes=1)
    for question in ("Quel enrobé ?", "Quel délai ?"):
        rpc.ask_question(LAVERUNE, published["id"], ACME, {"text": question})
        clock.advance(minutes=1)

    withdrawals = rpc.withdrawals(LAVERUNE, published["id"], {"limit": 2, "offset": 1})
    assert ([w["siret"] for w in withdrawals["results"]], withdrawals["total_count"]) == (
        [BTP["siret"], ACME["siret"]], 3)
    questions = rpc.questions(LAVERUNE, published["id"], {"limit": 1, "offset": 1})
    assert ([q["text"] for q in questions["results"]], questions["total_count"]) == (
        ["Quel délai ?"], 2)
    # The public reads, and counts, the answered ones only.
    assert rpc.public_questions(published["id"]) == {"total_count": 0, "results": []}
    history = rpc.history(LAVERUNE, published["id"], {"limit": 2, "offset": 5})
    assert ([h["kind"] for h in history["results"]], history["total_count"]) == (
        ["withdrawal", "question"], 8)
    # Without a page, the first: up to MAX_PAGE of them.
    assert len(rpc.history(LAVERUNE, published["id"])["results"]) == 8
    for page in ({"limit": MAX_PAGE + 1}, {"limit": 0}, {"offset": -1}):
        with pytest.raises(Invalid) as refusal:
            rpc.history(LAVERUNE, published["id"], page)
        assert set(refusal.value.errors) == set(page)


def test_bids_are_sealed_until_the_deadline_then_opened_to_their_receipts(
        procurement, published, rpc, clock):
    first = rpc.deposit_bid(LAVERUNE, published["id"], ACME, bid(1, b"%PDF premier"))
    replaced = rpc.deposit_bid(LAVERUNE, published["id"], ACME, bid(1, b"%PDF second", b"x"))
    other = rpc.deposit_bid(LAVERUNE, published["id"], BTP, bid(1, b"%PDF btp"))
    assert first["files"][0]["sha256"] == hashlib.sha256(b"%PDF premier").hexdigest()
    assert first["deposited_at"].endswith("09:00:00+00:00") and not first["late"]

    # Before the deadline: counts only; the opening is refused to everyone, and the stored
    # files are ciphertext.
    assert rpc.bid_counts(LAVERUNE, published["id"])[0] == {"lot": 1, "on_time": 3, "late": 0}
    clock.set(DEADLINE)
    with pytest.raises(Conflict, match="sealed until"):
        rpc.open_bids(LAVERUNE, published["id"], AGENT)
    files = sibling(procurement, Files).store
    with sibling(procurement, Database).access.transaction() as session:
        sealed = session.scalars(select(BidFile.sealed_sha256)).all()
    assert all(b"%PDF" not in files.get(sha) for sha in sealed)

    clock.set(DEADLINE + timedelta(seconds=1))
    late = rpc.deposit_bid(LAVERUNE, published["id"], BTP, bid(2, b"%PDF en retard"))
    assert late["late"] is True
    report = rpc.open_bids(LAVERUNE, published["id"], AGENT)

    by_id = {b["bid_id"]: b for b in report["bids"]}
    assert len(by_id) == 4
    assert all(f["matches_receipt"] for b in report["bids"] for f in b["files"])
    assert (by_id[first["bid_id"]]["superseded"], by_id[first["bid_id"]]["admitted"]) == (
        True, False)
    assert by_id[replaced["bid_id"]]["admitted"] and by_id[other["bid_id"]]["admitted"]
    assert (by_id[late["bid_id"]]["late"], by_id[late["bid_id"]]["admitted"]) == (True, False)
    with pytest.raises(Conflict):
        rpc.deposit_bid(LAVERUNE, published["id"], ACME, bid(1))


def test_the_award_publishes_the_contract_data_and_the_history_cannot_be_changed(
        procurement, published, rpc, clock):
    chosen = rpc.deposit_bid(LAVERUNE, published["id"], ACME, bid(1))
    late_clock = DEADLINE + timedelta(minutes=5)
    clock.set(late_clock)
    with pytest.raises(Conflict):
        rpc.award(LAVERUNE, published["id"], {
            "lot": 1, "bid_id": chosen["bid_id"], "amount": "152000.00", "price_form": "Ferme",
            "duration_months": 6, "notified_on": "2026-12-20", "place_code": "34880"}, AGENT)
    rpc.open_bids(LAVERUNE, published["id"], AGENT)

    awarded = rpc.award(LAVERUNE, published["id"], {
        "lot": 1, "bid_id": chosen["bid_id"], "amount": "152000.00", "price_form": "Ferme",
        "duration_months": 6, "notified_on": "2026-12-20", "place_code": "34880"}, AGENT)

    assert (awarded["holder_siret"], awarded["retention_until"]) == (ACME["siret"],
                                                                     "2031-12-20")
    with sibling(procurement, Database).access.transaction() as session:
        (envelope,) = session.scalars(select(outbox.c.envelope).where(
            outbox.c.event_type == "contract.awarded")).all()
    assert envelope["data"]["holders"] == [{"id": ACME["siret"], "id_type": "SIRET"}]
    assert envelope["data"]["buyer_siret"] == "21340134200018"
    kinds = [h["kind"] for h in rpc.history(LAVERUNE, published["id"])["results"]]
    assert kinds == ["created", "document_added", "published", "bid_deposited", "opened",
                     "awarded"]
    with pytest.raises(Exception, match="append-only"):
        with sibling(procurement, Database).access.transaction() as session:
            session.execute(update(HistoryEntry).values(actor="someone else"))
    with pytest.raises(Exception, match="append-only"):
        with sibling(procurement, Database).access.transaction() as session:
            session.execute(text("DELETE FROM history"))


def test_a_draft_is_not_found_by_the_public_or_companies(laverune, rpc):
    draft = rpc.create_consultation(LAVERUNE, CONSULTATION, AGENT)
    with pytest.raises(NotFound):
        rpc.consultation(draft["id"])
    with pytest.raises(NotFound):
        rpc.withdraw(LAVERUNE, draft["id"], ACME)


def test_the_archive_is_destroyed_only_after_its_retention_and_on_a_decision(
        published, rpc, clock):
    chosen = rpc.deposit_bid(LAVERUNE, published["id"], ACME, bid(1, b"%PDF offre"))
    clock.set(DEADLINE + timedelta(seconds=1))
    rpc.open_bids(LAVERUNE, published["id"], AGENT)
    rpc.award(LAVERUNE, published["id"], {
        "lot": 1, "bid_id": chosen["bid_id"], "amount": "152000.00", "price_form": "Ferme",
        "duration_months": 6, "notified_on": "2026-12-20", "place_code": "34880"}, AGENT)

    clock.set(datetime(2031, 12, 20, 12, 0, tzinfo=UTC))
    with pytest.raises(Conflict, match="20/12/2031"):
        rpc.destroy_archive(LAVERUNE, published["id"], {"decision": "Visa AD34"}, AGENT)
    clock.set(datetime(2031, 12, 21, 12, 0, tzinfo=UTC))
    with pytest.raises(Invalid):
        rpc.destroy_archive(LAVERUNE, published["id"], {"decision": ""}, AGENT)
    rpc.destroy_archive(LAVERUNE, published["id"], {"decision": "Visa AD34 n° 2031-7"}, AGENT)

    report = rpc.opening_report(LAVERUNE, published["id"])
    assert [f["destroyed"] for b in report["bids"] for f in b["files"]] == [True]
    with pytest.raises(NotFound, match="destroyed"):
        rpc.document(published["id"], "CCTP.pdf")
    (last,) = rpc.history(LAVERUNE, published["id"])["results"][-1:]
    assert (last["kind"], last["detail"]) == ("archive_destroyed",
                                              {"decision": "Visa AD34 n° 2031-7"})
