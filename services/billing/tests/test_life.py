"""The life of a title without a broker (Art. 5): deposit, reception, the contestation window,
acceptance, payment, overdue. The transport here is a script of what Chorus Pro answers; the
real client against our Chorus Pro server is tested in test_chorus_client.py and end to end."""

import contextlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import structlog
from lxml import etree
from sqlalchemy.orm import Session

from contracts.billing import TitleLifeSchema
from contracts.errors import Conflict, Invalid, NotFound
from servicekit import tables
from servicekit.clock import Clock
from servicekit.database import make_engine
from services.billing import ledger, life
from services.billing.models import Base, Document
from services.billing.tests.support import (
    LAVERUNE,
    MONTAUD,
    agreement_facts,
    change_fact,
    events,
    feed,
)
from services.billing.transports import Progress

D = Decimal
ADMIN = "4b0f6a53-admin"
AGENT = "agent-of-laverune"
LAVERUNE_SIRET = "21340134200018"
METROPOLE_SIRET = None
ISSUED_AT = datetime(2022, 3, 1, 9, 0, tzinfo=UTC)
TITLE = "2022-000001"  # Lavérune's, the first of 2022 (Montaud's is 2022-000002)


class TransportDown(Exception):
    pass


class TransportRefusal(Exception):
    pass


class ScriptedTransport:
    """Answers as told, and keeps what it was sent."""

    name = "chorus-pro"
    errors = (TransportDown, TransportRefusal)

    def __init__(self):
        self.sent = []
        self.failures = []
        self.progress = {}
        self._exchanges = None

    def recording(self, exchanges):
        self._exchanges = exchanges

    def send(self, outgoing):
        self.sent.append(outgoing)
        self._exchanges.append(exchange("deposer/flux", outgoing.number))
        if self.failures:
            raise self.failures.pop(0)
        return SimpleNamespace(flow_number=f"FLUX-{len(self.sent)}", invoice_id=None,
                               deposited_at=None, already_there=outgoing.check_first)

    def follow(self, number, flow_number, invoice_id):
        self._exchanges.append(exchange("rechercher/fournisseur", number))
        return self.progress.get(number)

    @staticmethod
    def is_rejection(error):
        return isinstance(error, TransportRefusal)


def exchange(operation, number):
    return SimpleNamespace(operation=operation, method="POST", url=f"https://chorus/{operation}",
                           status=200, error=None, started_at=ISSUED_AT, duration_ms=3,
                           request={"numeroFacture": number}, response={"codeRetour": 0})


def made_available(on):
    at = datetime(on.year, on.month, on.day, 10, 0, tzinfo=UTC)
    return Progress(4242, "MISE_A_DISPOSITION",
                    (SimpleNamespace(status="DEPOSEE", changed_at=at - timedelta(hours=1)),
                     SimpleNamespace(status="MISE_A_DISPOSITION", changed_at=at)))


@pytest.fixture
def clock():
    return Clock(ISSUED_AT)


@pytest.fixture
def transport():
    return ScriptedTransport()


@pytest.fixture
def issued(session, outbox):
    """Lavérune's and Montaud's 2022 titles, issued; Lavérune's SIRET known."""
    feed(session, [*agreement_facts(), change_fact(MONTAUD, "eadmin", "added", date(2022, 1, 1))])
    ledger.issue_titles(session, outbox, 2022, None, ADMIN, ISSUED_AT)
    life.record_siret(session, {"commune": LAVERUNE, "siret": LAVERUNE_SIRET})
    session.flush()
    return session


def run_round(session, outbox, transport, clock):
    @contextlib.contextmanager
    def transaction():
        yield session
        session.flush()

    return life.run_round(transaction, outbox, transport, METROPOLE_SIRET, clock,
                          structlog.get_logger())


def title(session, number=TITLE, insee=LAVERUNE):
    return TitleLifeSchema().dump(life.title_view(session, insee, number))


def received(session, outbox, transport, clock, on=date(2022, 3, 2)):
    """Lavérune's title deposited and made available on ``on``."""
    life.request_deposits(session, 2022, clock.now())
    run_round(session, outbox, transport, clock)
    transport.progress[TITLE] = made_available(on)
    run_round(session, outbox, transport, clock)
    return title(session)


# -- deposit ------------------------------------------------------------------------------------


def test_a_deposit_is_requested_once_per_document_of_the_year(issued, clock):
    first = life.request_deposits(issued, 2022, clock.now())
    again = life.request_deposits(issued, 2022, clock.now())
    assert (first["requested"], first["already_requested"]) == (["2022-000001", "2022-000002"], 0)
    assert (again["requested"], again["already_requested"]) == ([], 2)


def test_a_title_is_deposited_once_as_a_valid_e_invoice_and_announced(
    issued, outbox, transport, clock
):
    life.request_deposits(issued, 2022, clock.now())
    run_round(issued, outbox, transport, clock)
    run_round(issued, outbox, transport, clock)

    assert [o.number for o in transport.sent] == [TITLE]
    sent = etree.fromstring(transport.sent[0].content)
    assert sent.xpath("//*[local-name()='GrandTotalAmount']/text()") == ["150.11"]
    laverune = title(issued)
    assert (laverune["state"], laverune["flow_number"]) == ("deposited", "FLUX-1")
    assert [x["operation"] for x in laverune["exchanges"]] == [
        "deposer/flux", "rechercher/fournisseur", "rechercher/fournisseur"]
    assert [e["data"]["number"] for e in events(issued, "title.deposited")] == [TITLE]


def test_a_commune_without_siret_waits_for_it_then_is_deposited(
    issued, outbox, transport, clock
):
    life.request_deposits(issued, 2022, clock.now())
    run_round(issued, outbox, transport, clock)
    run_round(issued, outbox, transport, clock)
    montaud = title(issued, "2022-000002", MONTAUD)
    assert montaud["state"] == "issued"
    assert [h["detail"] for h in montaud["history"]].count(life.NOT_SIRET) == 1

    life.record_siret(issued, {"commune": MONTAUD, "siret": "21340164900008"})
    run_round(issued, outbox, transport, clock)
    assert title(issued, "2022-000002", MONTAUD)["state"] == "deposited"


def test_an_unanswered_deposit_is_tried_again_later_searching_first(
    issued, outbox, transport, clock
):
    transport.failures.append(TransportDown("HTTP 500"))
    life.request_deposits(issued, 2022, clock.now())
    run_round(issued, outbox, transport, clock)
    assert title(issued)["state"] == "issued"
    run_round(issued, outbox, transport, clock)
    assert len(transport.sent) == 1, "not before its backoff"

    clock.advance(minutes=5)
    run_round(issued, outbox, transport, clock)
    assert [o.check_first for o in transport.sent] == [False, True]
    assert title(issued)["state"] == "deposited"
    assert issued.get(Document, TITLE).deposit_attempts == 2


def test_a_rejected_deposit_shows_why_and_can_be_sent_again(issued, outbox, transport, clock):
    transport.failures.append(TransportRefusal("Destinataire inconnu"))
    life.request_deposits(issued, 2022, clock.now())
    run_round(issued, outbox, transport, clock)
    rejected = title(issued)
    assert (rejected["state"], rejected["rejection_reason"]) == ("rejected", "Destinataire inconnu")
    with pytest.raises(Conflict):
        life.request_redeposit(issued, MONTAUD, "2022-000002", clock.now())  # not rejected
    with pytest.raises(NotFound):
        life.request_redeposit(issued, MONTAUD, TITLE, clock.now())  # another commune's

    life.request_redeposit(issued, LAVERUNE, TITLE, clock.now())
    run_round(issued, outbox, transport, clock)
    assert title(issued)["state"] == "deposited"


# -- reception and the window -------------------------------------------------------------------


def test_reception_sets_the_window_and_the_due_date(issued, outbox, transport, clock):
    laverune = received(issued, outbox, transport, clock, on=date(2022, 11, 2))
    assert (laverune["state"], laverune["received_on"], laverune["contest_until"],
            laverune["due_on"]) == ("received", "2022-11-02", "2022-11-14", "2022-12-02")
    assert laverune["chorus_invoice_id"] == "4242"
    assert events(issued, "title.received")[0]["data"] == {
        "number": TITLE, "commune": LAVERUNE, "received_on": "2022-11-02",
        "contest_until": "2022-11-14", "due_on": "2022-12-02"}


def contestation(emailed_on):
    return {"emailed_on": emailed_on, "reason": "Nous n'avons pas souscrit aux marchés publics."}


def test_a_contestation_is_accepted_up_to_the_last_day_of_the_window(
    issued, outbox, transport, clock
):
    received(issued, outbox, transport, clock, on=date(2022, 11, 2))
    clock.set(datetime(2022, 11, 20, 9, 0, tzinfo=UTC))
    for emailed_on, why in ((date(2022, 11, 1), "before reception"),
                            (date(2022, 11, 15), "after the window"),
                            (date(2022, 11, 21), "after today")):
        with pytest.raises(Invalid) as refusal:
            life.contest(issued, outbox, LAVERUNE, TITLE, contestation(emailed_on), AGENT,
                         clock.today(), clock.now())
        assert set(refusal.value.errors) == {"emailed_on"}, why
    with pytest.raises(Invalid, match="closed on 14/11/2022"):
        life.contest(issued, outbox, LAVERUNE, TITLE, contestation(date(2022, 11, 15)), AGENT,
                     clock.today(), clock.now())

    life.contest(issued, outbox, LAVERUNE, TITLE, contestation(date(2022, 11, 14)), AGENT,
                 clock.today(), clock.now())
    assert title(issued)["state"] == "contested"
    with pytest.raises(Conflict, match="already contested"):
        life.contest(issued, outbox, LAVERUNE, TITLE, contestation(date(2022, 11, 14)), AGENT,
                     clock.today(), clock.now())


def test_a_title_not_contested_is_deemed_accepted_then_overdue_then_paid(
    issued, outbox, transport, clock
):
    received(issued, outbox, transport, clock, on=date(2022, 11, 2))
    clock.set(datetime(2022, 11, 14, 22, 0, tzinfo=UTC))  # 14 November, 23:00 in Paris
    run_round(issued, outbox, transport, clock)
    assert title(issued)["state"] == "received"
    clock.set(datetime(2022, 11, 15, 8, 0, tzinfo=UTC))
    run_round(issued, outbox, transport, clock)
    accepted = title(issued)
    assert (accepted["state"], accepted["accepted_on"]) == ("accepted", "2022-11-15")
    assert events(issued, "title.accepted")[0]["data"]["deemed"] is True

    clock.set(datetime(2022, 12, 3, 8, 0, tzinfo=UTC))
    run_round(issued, outbox, transport, clock)
    assert title(issued)["state"] == "overdue"
    assert events(issued, "title.overdue")[0]["data"]["outstanding"] == "150.11"

    for amount in ("100.00", "50.11"):
        life.record_payment(issued, outbox, LAVERUNE, TITLE,
                            {"paid_on": date(2022, 12, 3), "amount": D(amount)}, ADMIN,
                            clock.today(), clock.now())
    paid = title(issued)
    assert (paid["state"], paid["amount_paid"], paid["outstanding"]) == ("paid", "150.11", "0.00")
    assert len(events(issued, "title.paid")) == 1
    with pytest.raises(Conflict, match="already paid"):
        life.record_payment(issued, outbox, LAVERUNE, TITLE,
                            {"paid_on": date(2022, 12, 3), "amount": D("1.00")}, ADMIN,
                            clock.today(), clock.now())


def test_a_payment_is_refused_beyond_what_remains_or_before_reception(
    issued, outbox, transport, clock
):
    with pytest.raises(Conflict, match="not been received"):
        life.record_payment(issued, outbox, LAVERUNE, TITLE,
                            {"paid_on": date(2022, 3, 1), "amount": D("1.00")}, ADMIN,
                            clock.today(), clock.now())
    received(issued, outbox, transport, clock, on=date(2022, 3, 1))
    with pytest.raises(Invalid) as refusal:
        life.record_payment(issued, outbox, LAVERUNE, TITLE,
                            {"paid_on": date(2022, 3, 1), "amount": D("150.12")}, ADMIN,
                            clock.today(), clock.now())
    assert set(refusal.value.errors) == {"amount"}
    assert title(issued)["amount_paid"] == "0.00"


def test_a_maintained_title_is_accepted_on_the_day_of_the_answer(
    issued, outbox, transport, clock
):
    received(issued, outbox, transport, clock, on=date(2022, 3, 1))
    life.contest(issued, outbox, LAVERUNE, TITLE, contestation(date(2022, 3, 1)), AGENT,
                 clock.today(), clock.now())
    clock.set(datetime(2022, 3, 20, 9, 0, tzinfo=UTC))
    document, correction = life.decide(issued, outbox, LAVERUNE, TITLE, "maintain", ADMIN,
                                       clock.today(), clock.now())
    maintained = title(issued)
    assert correction is None
    assert (maintained["state"], maintained["accepted_on"]) == ("accepted", "2022-03-20")
    assert maintained["contestations"][0]["decision"] == "maintain"
    assert events(issued, "title.accepted")[-1]["data"]["deemed"] is False
    with pytest.raises(Conflict, match="no contestation"):
        life.decide(issued, outbox, LAVERUNE, TITLE, "maintain", ADMIN, clock.today(),
                    clock.now())


def test_a_corrected_title_is_cancelled_by_a_credit_note_and_both_new_documents_are_sent(
    issued, outbox, transport, clock
):
    received(issued, outbox, transport, clock, on=date(2022, 3, 1))
    life.contest(issued, outbox, LAVERUNE, TITLE, contestation(date(2022, 3, 1)), AGENT,
                 clock.today(), clock.now())
    with pytest.raises(Conflict, match="nothing to correct"):
        life.decide(issued, outbox, LAVERUNE, TITLE, "correct", ADMIN, clock.today(),
                    clock.now())
    feed(issued, [change_fact(LAVERUNE, "procurement", "removed", date(2022, 1, 1), ISSUED_AT)])

    _, correction = life.decide(issued, outbox, LAVERUNE, TITLE, "correct", ADMIN,
                                clock.today(), clock.now())
    credit_note = correction["credit_note"]["number"]
    corrected = correction["corrected_title"]["number"]
    assert title(issued)["state"] == "cancelled"
    assert correction["corrected_title"]["total"] == D("113.83")
    run_round(issued, outbox, transport, clock)
    assert [o.number for o in transport.sent][-2:] == [credit_note, corrected]
    sent_credit_note = etree.fromstring(transport.sent[-2].content)
    assert sent_credit_note.xpath("//*[local-name()='TypeCode']/text()")[0] == "381"


def test_deadlines_are_those_the_title_uses():
    assert life.deadlines(date(2026, 11, 2)) == {
        "received_on": date(2026, 11, 2),
        "contest_until": date(2026, 11, 12),
        "due_on": date(2026, 12, 2),
    }


@pytest.mark.postgres
def test_two_billing_instances_never_claim_the_same_document(postgres_database, outbox, clock):
    engine = make_engine(postgres_database())
    tables.metadata.create_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as setup:
        feed(setup, [*agreement_facts(),
                     change_fact(MONTAUD, "eadmin", "added", date(2022, 1, 1))])
        ledger.issue_titles(setup, outbox, 2022, None, ADMIN, ISSUED_AT)
        life.request_deposits(setup, 2022, clock.now())
        setup.commit()

    with Session(engine) as first, Session(engine) as second:
        # The first instance's claim is not committed yet: its rows are locked, and skipped.
        claimed_first = life.claim_deposits(first, clock.now())
        claimed_second = life.claim_deposits(second, clock.now())
        assert (claimed_first, claimed_second) == (["2022-000001", "2022-000002"], [])
        first.commit()
        second.rollback()
        # Committed, the claim holds until it is released or times out.
        assert life.claim_deposits(second, clock.now()) == []
        clock.advance(life.CLAIM_TIMEOUT + timedelta(seconds=1))
        assert life.claim_deposits(second, clock.now()) == ["2022-000001", "2022-000002"]
    engine.dispose()
