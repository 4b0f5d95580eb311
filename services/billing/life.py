"""The life of an issued document (Art. 5): its deposit through a transport (Chorus Pro), its
reception by the commune, the contestation window, acceptance, payment, overdue.

Plain functions of the caller's session, as ``ledger``. Talking to the transport happens
between two transactions, never inside one: ``claim_deposits`` and ``prepare_deposit`` commit
what is about to be sent (the attempt is counted first, so an attempt that never reported back
is searched for before the next one), ``complete_deposit`` records the answer. Every step is
guarded by the document's state and taken under its row lock, so two billing instances
running the same timer move each document once.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import or_, select

from contracts.billing import (
    ACCEPTED,
    CANCELLED,
    CONTESTED,
    CORRECT,
    CREDIT_NOTE,
    DEPOSITED,
    ISSUED,
    OVERDUE,
    PAID,
    RECEIVED,
    REJECTED,
    TITLE,
)
from contracts.communes import MEMBER_COMMUNES
from contracts.errors import Conflict, Invalid, NotFound
from contracts.events import (
    TITLE_ACCEPTED,
    TITLE_CONTESTED,
    TITLE_DEPOSITED,
    TITLE_OVERDUE,
    TITLE_PAID,
    TITLE_RECEIVED,
)
from servicekit.clock import LEGAL_TIME_ZONE
from servicekit.outbox import backoff
from services.billing import einvoice, ledger, rules
from services.billing.models import (
    Buyer,
    ChorusExchange,
    Contestation,
    Document,
    DocumentEvent,
    Payment,
)

# A claim older than this was left by an instance that stopped mid-deposit: another takes over,
# searching Chorus Pro first since the flow may have arrived.
CLAIM_TIMEOUT = timedelta(minutes=5)
BATCH_SIZE = 50
# What Chorus Pro says when the invoice is in the commune's space: the title is received.
MADE_AVAILABLE = "MISE_A_DISPOSITION"
# Refused by the recipient: a new document (new number) is needed, through a correction.
REFUSED_BY_RECIPIENT = ("REJETEE",)
# Statuses Chorus Pro may still report once an invoice is made available.
AFTER_AVAILABILITY = ("SERVICE_FAIT", "MANDATEE", "MISE_A_DISPOSITION_COMPTABLE",
                      "COMPTABILISEE", "MISE_EN_PAIEMENT")
# Once a title is here, the contestation window is over.
SETTLED = (ACCEPTED, OVERDUE, PAID)
NO_MONEY = Decimal("0.00")
NOT_SIRET = "Not deposited: the commune's SIRET is not known; set it on the commune."


@dataclass(frozen=True)
class Outgoing:
    """A rendered document on its way to the transport."""

    number: str
    file_name: str
    content: bytes
    check_first: bool


def refused(field, message):
    """A request refused by a rule, naming the field the rule reads."""
    return Invalid({field: [message]}, detail=message)


def local_date(moment):
    return moment.astimezone(LEGAL_TIME_ZONE).date()


def record_step(session, document, state, now, detail=None):
    document.state = state
    session.add(DocumentEvent(number=document.number, state=state, at=now, detail=detail))


def record_exchanges(session, number, exchanges):
    for exchange in exchanges:
        session.add(
            ChorusExchange(
                number=number,
                operation=exchange.operation,
                method=exchange.method,
                url=exchange.url,
                status=exchange.status,
                error=exchange.error,
                started_at=exchange.started_at,
                duration_ms=exchange.duration_ms,
                request=exchange.request,
                response=exchange.response,
            )
        )


# -- buyers -------------------------------------------------------------------------------------


def record_siret(session, data):
    """``commune.updated``: the SIRET the commune's titles are addressed to. Documents that
    waited for it are deposited at the next round."""
    buyer = session.get(Buyer, data["commune"]) or Buyer(insee=data["commune"])
    buyer.siret = data["siret"]
    session.add(buyer)
    waiting = session.scalars(
        select(Document).where(
            Document.insee == data["commune"],
            Document.state == ISSUED,
            Document.deposit_requested_at.is_not(None),
        )
    )
    for document in waiting:
        document.next_deposit_at = None


def buyer_of(session, insee):
    return session.get(Buyer, insee) or Buyer(insee=insee)


def update_buyer(session, insee, update):
    buyer = session.get(Buyer, insee) or Buyer(insee=insee)
    buyer.service_code = update["service_code"]
    buyer.commitment_number = update["commitment_number"]
    session.add(buyer)
    return buyer


def buyer_view(buyer):
    return {
        "commune": buyer.insee,
        "siret": buyer.siret,
        "service_code": buyer.service_code,
        "commitment_number": buyer.commitment_number,
    }


# -- deposit ------------------------------------------------------------------------------------


def request_deposits(session, year, now):
    """Queues every issued document of ``year`` not queued yet; the timer deposits them."""
    documents = session.scalars(
        select(Document).where(Document.year == year).order_by(Document.number)
    ).all()
    requested = []
    for document in documents:
        if document.deposit_requested_at is None and document.state == ISSUED:
            document.deposit_requested_at = now
            requested.append(document.number)
    return {
        "year": year,
        "requested": requested,
        "already_requested": sum(1 for d in documents if d.deposit_requested_at is not None)
        - len(requested),
    }


def request_redeposit(session, insee, number, now):
    """Sends again a document whose flow Chorus Pro rejected, once its cause is fixed."""
    document = document_of(session, insee, number)
    if document.state != REJECTED:
        raise Conflict(f"Only a rejected document is sent again; this one is {document.state}.")
    if document.chorus_invoice_id is not None:
        raise Conflict(
            "The commune refused the invoice on Chorus Pro: it needs a new number. Correct the "
            "title instead."
        )
    document.deposit_requested_at = now
    document.next_deposit_at = None
    document.rejection_reason = None
    record_step(session, document, ISSUED, now, "Sent again after a rejected deposit.")
    return document


def claim_deposits(session, now):
    """The documents due for a deposit, claimed by this instance until it reports back."""
    documents = session.scalars(
        select(Document)
        .where(
            Document.state == ISSUED,
            Document.deposit_requested_at.is_not(None),
            or_(Document.deposit_claimed_at.is_(None),
                Document.deposit_claimed_at < now - CLAIM_TIMEOUT),
            or_(Document.next_deposit_at.is_(None), Document.next_deposit_at <= now),
        )
        .order_by(Document.number)
        .limit(BATCH_SIZE)
        .with_for_update(skip_locked=True)
    ).all()
    for document in documents:
        document.deposit_claimed_at = now
    return [document.number for document in documents]


def prepare_deposit(session, number, seller_siret, now):
    """The rendered document to send, or ``None`` when it cannot leave yet (its commune has
    no SIRET) or cannot leave at all (it does not pass the schema: rejected, with why)."""
    document = session.get(Document, number, with_for_update=True)
    if document is None or document.state != ISSUED:
        return None
    buyer = buyer_of(session, document.insee)
    if buyer.siret is None:
        document.deposit_claimed_at = None
        # Waits for ``commune.updated``, which clears this.
        document.next_deposit_at = now + timedelta(days=365)
        if document.state == ISSUED and _last_detail(session, number) != NOT_SIRET:
            record_step(session, document, ISSUED, now, NOT_SIRET)
        return None
    invoice = invoice_document(session, document, buyer, seller_siret)
    try:
        content = einvoice.render_cii(invoice)
    except einvoice.InvalidInvoice as invalid:
        document.deposit_claimed_at = None
        document.rejection_reason = "; ".join(invalid.errors)[:2000]
        record_step(session, document, REJECTED, now, "The e-invoice does not pass the schema.")
        return None
    document.deposit_attempts += 1
    return Outgoing(
        number=number,
        file_name=einvoice.file_name(invoice),
        content=content,
        check_first=document.deposit_attempts > 1,
    )


def _last_detail(session, number):
    return session.scalar(
        select(DocumentEvent.detail)
        .where(DocumentEvent.number == number)
        .order_by(DocumentEvent.id.desc())
        .limit(1)
    )


def invoice_document(session, document, buyer, seller_siret):
    lines = ledger.lines_of(session, [document])[document.number]
    preceding = session.get(Document, document.corrects) if document.corrects else None
    issue_date = local_date(document.issued_at)
    return einvoice.InvoiceDocument(
        number=document.number,
        kind=document.kind,
        issue_date=issue_date,
        due_date=rules.payment_due_on(issue_date) if document.kind == TITLE else None,
        seller=einvoice.seller(seller_siret),
        buyer=einvoice.Party(
            name=MEMBER_COMMUNES[document.insee].name,
            siren=MEMBER_COMMUNES[document.insee].siren,
            siret=buyer.siret,
        ),
        buyer_reference=buyer.service_code,
        purchase_order=buyer.commitment_number,
        preceding_number=preceding.number if preceding and document.kind == CREDIT_NOTE else None,
        preceding_date=local_date(preceding.issued_at)
        if preceding and document.kind == CREDIT_NOTE else None,
        lines=tuple(lines),
        total_net=document.total_net,
        total_vat=document.total_vat,
        total=document.total,
        notes=(einvoice.APPEAL_MENTION,) if document.kind == TITLE else (),
    )


def complete_deposit(session, outbox, number, transport, sent, failure, exchanges, now):
    """Records what the transport answered: ``sent`` (a deposit) or ``failure`` (an
    exception of the transport: rejected, or unavailable and to be tried again later)."""
    document = session.get(Document, number, with_for_update=True)
    record_exchanges(session, number, exchanges)
    document.deposit_claimed_at = None
    if sent is not None:
        document.transport = transport.name
        document.flow_number = sent.flow_number
        document.chorus_invoice_id = sent.invoice_id
        document.deposited_at = sent.deposited_at or now
        document.next_deposit_at = None
        detail = ("Found on Chorus Pro: deposited by an earlier attempt." if sent.already_there
                  else f"Flow {sent.flow_number} deposited on Chorus Pro.")
        record_step(session, document, DEPOSITED, now, detail)
        outbox.add(
            session,
            TITLE_DEPOSITED,
            {
                "number": number,
                "kind": document.kind,
                "commune": document.insee,
                "year": document.year,
                "transport": transport.name,
                "reference": sent.flow_number or str(sent.invoice_id),
                "deposited_at": document.deposited_at,
            },
            occurred_at=now,
            commune=document.insee,
        )
    elif transport.is_rejection(failure):
        document.rejection_reason = str(failure)[:2000]
        record_step(session, document, REJECTED, now, "Chorus Pro refused the deposit.")
    else:
        document.next_deposit_at = now + backoff(document.deposit_attempts)
        record_step(
            session, document, ISSUED, now,
            f"Not deposited yet ({type(failure).__name__}: {failure}); next attempt after "
            f"{document.next_deposit_at.astimezone(LEGAL_TIME_ZONE):%Y-%m-%d %H:%M}.",
        )
    return document


# -- following the transport ---------------------------------------------------------------------


def to_follow(session):
    """Documents deposited and not yet received: the transport is asked where they are."""
    return session.scalars(
        select(Document.number).where(Document.state == DEPOSITED).order_by(Document.number)
    ).all()


def followed(session, number):
    document = session.get(Document, number)
    return document.flow_number, document.chorus_invoice_id


def apply_progress(session, outbox, number, progress, exchanges, now):
    """Moves a deposited document by what the transport reports: received on the day
    Chorus Pro made it available to the commune, or rejected."""
    document = session.get(Document, number, with_for_update=True)
    record_exchanges(session, number, exchanges)
    if document is None or document.state != DEPOSITED or progress is None:
        return document
    if progress.invoice_id is not None:
        document.chorus_invoice_id = str(progress.invoice_id)
    document.chorus_status = progress.status
    if progress.rejection_reason is not None or progress.status in REFUSED_BY_RECIPIENT:
        document.rejection_reason = (progress.rejection_reason or progress.status)[:2000]
        record_step(session, document, REJECTED, now, "Chorus Pro rejected the invoice.")
        return document
    made_available = next(
        (change.changed_at for change in progress.changes if change.status == MADE_AVAILABLE),
        None,
    )
    if made_available is None and progress.status in (MADE_AVAILABLE, *AFTER_AVAILABILITY):
        made_available = now
    if made_available is None:
        return document
    received_on = local_date(made_available)
    document.received_on = received_on
    if document.kind == TITLE:
        document.contest_until = rules.contest_until(received_on)
        document.due_on = rules.payment_due_on(received_on)
    record_step(session, document, RECEIVED, now,
                f"Made available to the commune on Chorus Pro on {received_on:%d/%m/%Y}.")
    outbox.add(
        session,
        TITLE_RECEIVED,
        {
            "number": number,
            "commune": document.insee,
            "received_on": received_on,
            "contest_until": document.contest_until,
            "due_on": document.due_on,
        },
        occurred_at=now,
        commune=document.insee,
    )
    return document


# -- what time does: deemed acceptance, overdue ----------------------------------------------


def advance_by_date(session, outbox, today, now):
    """Art. 5: a title not contested by the end of its window is deemed accepted; an accepted
    title unpaid after its due date is overdue. Returns how many documents moved."""
    moved = 0
    window_over = session.scalars(
        select(Document)
        .where(Document.kind == TITLE, Document.state == RECEIVED,
               Document.contest_until < today)
        .with_for_update(skip_locked=True)
    ).all()
    for document in window_over:
        accept(session, outbox, document, document.contest_until + timedelta(days=1), now,
               deemed=True)
        moved += 1
    unpaid = session.scalars(
        select(Document)
        .where(Document.kind == TITLE, Document.state == ACCEPTED, Document.due_on < today)
        .with_for_update(skip_locked=True)
    ).all()
    for document in unpaid:
        record_step(session, document, OVERDUE, now, f"Unpaid after {document.due_on:%d/%m/%Y}.")
        outbox.add(
            session,
            TITLE_OVERDUE,
            {
                "number": document.number,
                "commune": document.insee,
                "due_on": document.due_on,
                "outstanding": document.total - document.amount_paid,
            },
            occurred_at=now,
            commune=document.insee,
        )
        moved += 1
    return moved


def accept(session, outbox, document, accepted_on, now, deemed):
    document.accepted_on = accepted_on
    detail = ("Deemed accepted: not contested within 8 jours francs." if deemed
              else "Contestation answered: the title is maintained.")
    record_step(session, document, ACCEPTED, now, detail)
    outbox.add(
        session,
        TITLE_ACCEPTED,
        {"number": document.number, "commune": document.insee, "accepted_on": accepted_on,
         "deemed": deemed},
        occurred_at=now,
        commune=document.insee,
    )


# -- contestation (Art. 5) ----------------------------------------------------------------------


def document_of(session, insee, number, lock=True):
    """A document of ``insee``, locked unless only read; another commune's number is as
    unknown as a wrong one."""
    document = (session.get(Document, number, with_for_update=lock)
                if isinstance(number, str) else None)
    if document is None or document.insee != insee:
        raise NotFound("No such title for this commune.")
    return document


def contest(session, outbox, insee, number, contestation, recorded_by, today, now):
    """Records the commune's contestation, e-mailed within 8 jours francs of reception."""
    document = document_of(session, insee, number)
    if document.kind != TITLE:
        raise Conflict("A credit note is not contested.")
    if document.received_on is None:
        raise Conflict("The title has not been received by the commune yet.")
    if document.state == CONTESTED:
        raise Conflict("The title is already contested; the Metropole has not answered yet.")
    answered = session.scalar(select(Contestation.id).where(Contestation.number == number))
    if answered is not None or document.state not in (RECEIVED, ACCEPTED, OVERDUE):
        raise Conflict(f"The title was contested and answered, or is {document.state}.")
    emailed_on = contestation["emailed_on"]
    if emailed_on > today:
        raise refused("emailed_on", "The e-mail cannot be dated after today.")
    if emailed_on < document.received_on:
        raise refused(
            "emailed_on",
            f"The title was received on {document.received_on:%d/%m/%Y}: an e-mail sent before "
            "cannot contest it.")
    # The e-mail's date counts, not the day it is recorded: a title deemed accepted meanwhile
    # is contested all the same.
    if emailed_on > document.contest_until:
        raise refused(
            "emailed_on",
            f"The contestation window closed on {document.contest_until:%d/%m/%Y} "
            f"(8 jours francs after reception on {document.received_on:%d/%m/%Y}).")
    filed = Contestation(
        id=uuid.uuid4(),
        number=number,
        emailed_on=emailed_on,
        reason=contestation["reason"],
        recorded_at=now,
        recorded_by=str(recorded_by)[:60],
    )
    session.add(filed)
    record_step(session, document, CONTESTED, now, f"Contested by e-mail of {emailed_on:%d/%m/%Y}.")
    outbox.add(
        session,
        TITLE_CONTESTED,
        {"number": number, "commune": insee, "emailed_on": emailed_on},
        occurred_at=now,
        commune=insee,
    )
    return document


def decide(session, outbox, insee, number, decision, decided_by, today, now):
    """The Metropole's answer to a contestation: maintain the title (accepted today), or
    cancel it by a credit note and issue a corrected one, whose own reception starts its own
    window and payment term. Returns the title and the correction, if any."""
    document = document_of(session, insee, number)
    pending = session.scalar(
        select(Contestation).where(Contestation.number == number, Contestation.decision.is_(None))
    )
    if document.state != CONTESTED or pending is None:
        raise Conflict("There is no contestation of this title awaiting an answer.")
    correction = None
    if decision == CORRECT:
        credit_note, corrected = ledger.correct_title(session, outbox, number, decided_by, now)
        correction = {"credit_note": credit_note, "corrected_title": corrected}
        cancelled_by_correction(session, document, credit_note, corrected, now)
    else:
        accept(session, outbox, document, today, now, deemed=False)
    pending.decision = decision
    pending.decided_at = now
    pending.decided_by = str(decided_by)[:60]
    return document, correction


def cancelled_by_correction(session, title, credit_note, corrected, now):
    """After ``ledger.correct_title``: the title's life ends, and when it had been sent, the
    credit note and the corrected title follow it the same way."""
    record_step(session, title, CANCELLED, now,
                f"Cancelled by credit note {credit_note['number']}.")
    if title.deposit_requested_at is not None:
        for view in filter(None, (credit_note, corrected)):
            session.get(Document, view["number"]).deposit_requested_at = now


# -- payment ------------------------------------------------------------------------------------


def record_payment(session, outbox, insee, number, payment, recorded_by, today, now):
    """A payment received for a title; partial payments add up, and the last one pays it."""
    document = document_of(session, insee, number)
    if document.kind != TITLE or document.status == CANCELLED:
        raise Conflict("Only a title in force is paid.")
    if document.received_on is None:
        raise Conflict("The title has not been received by the commune yet.")
    if document.state == PAID:
        raise Conflict("The title is already paid.")
    if payment["paid_on"] > today:
        raise refused("paid_on", "A payment cannot be dated after today.")
    if payment["paid_on"] < document.received_on:
        raise refused("paid_on", "A payment cannot precede the title's reception.")
    outstanding = document.total - document.amount_paid
    if payment["amount"] > outstanding:
        raise refused("amount", f"Only {outstanding} € remain to be paid on this title.")
    session.add(
        Payment(id=uuid.uuid4(), number=number, paid_on=payment["paid_on"],
                amount=payment["amount"], recorded_at=now, recorded_by=str(recorded_by)[:60])
    )
    document.amount_paid += payment["amount"]
    if document.amount_paid == document.total:
        record_step(session, document, PAID, now, f"Paid in full on {payment['paid_on']:%d/%m/%Y}.")
        outbox.add(
            session,
            TITLE_PAID,
            {"number": number, "commune": insee, "paid_on": payment["paid_on"],
             "amount_paid": document.amount_paid},
            occurred_at=now,
            commune=insee,
        )
    return document


# -- views --------------------------------------------------------------------------------------


def title_view(session, insee, number):
    return life_view(session, document_of(session, insee, number, lock=False))


def life_view(session, document):
    lines = ledger.lines_of(session, [document])[document.number]
    try:
        current = ledger.compute(session, document.year).titles.get(document.insee)
    except rules.AnnexUnavailable:
        current = None
    view = ledger.document_view(document, lines, current)

    def rows(model, order):
        return session.scalars(
            select(model).where(model.number == document.number).order_by(order)
        ).all()

    return {
        **view,
        "state": document.state,
        "history": [
            {"state": ISSUED, "at": document.issued_at, "detail": None},
            *({"state": e.state, "at": e.at, "detail": e.detail}
              for e in rows(DocumentEvent, DocumentEvent.id)),
        ],
        "transport": document.transport,
        "flow_number": document.flow_number,
        "chorus_invoice_id": document.chorus_invoice_id,
        "chorus_status": document.chorus_status,
        "rejection_reason": document.rejection_reason,
        "deposited_at": document.deposited_at,
        "received_on": document.received_on,
        "contest_until": document.contest_until,
        "due_on": document.due_on,
        "accepted_on": document.accepted_on,
        "amount_paid": document.amount_paid,
        "outstanding": document.total - document.amount_paid
        if document.kind == TITLE and document.status != CANCELLED else NO_MONEY,
        "contestations": [
            {"id": c.id, "emailed_on": c.emailed_on, "reason": c.reason,
             "recorded_at": c.recorded_at, "decision": c.decision, "decided_at": c.decided_at}
            for c in rows(Contestation, Contestation.recorded_at)
        ],
        "payments": [
            {"id": p.id, "paid_on": p.paid_on, "amount": p.amount, "recorded_at": p.recorded_at}
            for p in rows(Payment, Payment.recorded_at)
        ],
        "exchanges": [
            {"operation": x.operation, "method": x.method, "url": x.url, "status": x.status,
             "error": x.error, "started_at": x.started_at, "duration_ms": x.duration_ms,
             "request": x.request, "response": x.response}
            for x in rows(ChorusExchange, ChorusExchange.id)
        ],
    }


def deadlines(received_on):
    """What the title's life computes for a title received on ``received_on``."""
    return {
        "received_on": received_on,
        "contest_until": rules.contest_until(received_on),
        "due_on": rules.payment_due_on(received_on),
    }


# -- one round of the timer ---------------------------------------------------------------------


def run_round(transaction, outbox, transport, seller_siret, clock, log):
    """Deposits what is due, asks the transport where deposited documents are, then lets
    time act (deemed acceptance, overdue). ``transaction`` opens one short transaction; the
    transport is called between them."""
    with transaction() as session:
        claimed = claim_deposits(session, clock.now())
    for number in claimed:
        with transaction() as session:
            outgoing = prepare_deposit(session, number, seller_siret, clock.now())
            if outgoing is not None:
                session.get(Document, number).e_invoice = outgoing.content.decode("utf-8")
        if outgoing is None:
            continue
        exchanges, sent, failure = [], None, None
        transport.recording(exchanges)
        try:
            sent = transport.send(outgoing)
        except transport.errors as error:
            failure = error
        with transaction() as session:
            document = complete_deposit(session, outbox, number, transport, sent, failure,
                                        exchanges, clock.now())
        log.info("title.deposit", number=number, state=document.state,
                 attempts=document.deposit_attempts,
                 error=type(failure).__name__ if failure else None)
    with transaction() as session:
        deposited = [(number, *followed(session, number)) for number in to_follow(session)]
    for number, flow_number, invoice_id in deposited:
        exchanges, progress = [], None
        transport.recording(exchanges)
        try:
            progress = transport.follow(number, flow_number, invoice_id)
        except transport.errors as error:
            log.warning("title.follow_failed", number=number, error=type(error).__name__)
        with transaction() as session:
            apply_progress(session, outbox, number, progress, exchanges, clock.now())
    with transaction() as session:
        return advance_by_date(session, outbox, clock.today(), clock.now())
