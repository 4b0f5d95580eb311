"""The buyer profiles, their consultations and files (DCE), the companies' withdrawals and
questions, on the caller's session; each step is written to the consultation's history in the
same transaction (arrêté du 22 mars 2019)."""

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from contracts.communes import partner_ids, partners
from contracts.errors import Conflict, Invalid, NotFound
from contracts.procurement import DRAFT, PUBLISHED
from servicekit.database import counted_page
from services.procurement import rules, sealing
from services.procurement.models import (
    Bid,
    Buyer,
    Consultation,
    Document,
    HistoryEntry,
    Question,
    Withdrawal,
)

CONSULTATION_FIELDS = ("reference", "object", "procedure", "cpv_codes", "estimated_value",
                       "questions_deadline", "bid_deadline", "notice")


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def record(session, consultation, kind, actor, now, **detail):
    session.add(HistoryEntry(consultation_id=consultation.id, at=now, kind=kind, actor=actor,
                             detail=detail))


def history(session, consultation, limit, offset):
    """How many lines the consultation's history has, and ``limit`` of them after ``offset``,
    oldest first."""
    return counted_page(session, select(HistoryEntry)
                        .where(HistoryEntry.consultation_id == consultation.id)
                        .order_by(HistoryEntry.id), limit, offset)


# -- buyers


def ensure_buyers(session):
    """Stores the partners that have no buyer profile yet; returns how many."""
    present = set(session.scalars(select(Buyer.id)))
    added = [Buyer(id=p["id"], kind=p["kind"], name=p["name"], insee=p["insee"])
             for p in partners() if p["id"] not in present]
    session.add_all(added)
    session.flush()
    return len(added)


def buyer_of(session, buyer_id):
    buyer = session.get(Buyer, buyer_id)
    if buyer is None:
        raise NotFound("No such buyer.")
    return buyer


def buyers(session):
    return session.scalars(select(Buyer).order_by(Buyer.kind.desc(), Buyer.name)).all()


def buyer_view(session, buyer, now):
    open_count = session.scalar(select(func.count()).where(
        Consultation.buyer_id == buyer.id, Consultation.state == PUBLISHED,
        Consultation.bid_deadline > now))
    return {"id": buyer.id, "kind": buyer.kind, "name": buyer.name, "insee": buyer.insee,
            "siret": buyer.siret, "welcome": buyer.welcome, "logo_url": buyer.logo_url,
            "open_consultations": open_count}


def set_buyer_page(session, insee, kind, page):
    buyer = buyer_of(session, partner_ids(insee)[kind])
    buyer.welcome, buyer.logo_url, buyer.siret = page["welcome"], page["logo_url"], page["siret"]
    session.flush()
    return buyer


# -- consultations


def create_consultation(session, insee, new, master_key, created_by, now):
    problems = rules.deadlines_refusal(now, new["questions_deadline"], new["bid_deadline"])
    if problems:
        raise Invalid(problems)
    consultation = Consultation(
        id=uuid.uuid4(), buyer_id=partner_ids(insee)[new["buyer_kind"]], commune=insee,
        **{name: new[name] for name in CONSULTATION_FIELDS},
        lots=[{**lot, "estimated_value": None if lot.get("estimated_value") is None
               else str(lot["estimated_value"])} for lot in new["lots"]],
        state=DRAFT, created_at=now, public_key=b"", wrapped_private_key=b"")
    key = sealing.new_consultation_key(master_key, str(consultation.id))
    consultation.public_key, consultation.wrapped_private_key = (key.public_pem,
                                                                 key.wrapped_private)
    session.add(consultation)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"The buyer already has a consultation {new['reference']!r}.") from None
    record(session, consultation, "created", created_by, now, reference=new["reference"])
    return consultation


def commune_consultation(session, insee, consultation_id, lock=False):
    """The commune's (or its CCAS's) consultation; another commune's is as unknown as a
    wrong id."""
    query = select(Consultation).where(Consultation.id == _uuid(consultation_id))
    if lock:
        query = query.with_for_update()
    consultation = session.scalar(query) if _uuid(consultation_id) else None
    if consultation is None or consultation.commune != insee:
        raise NotFound("No such consultation.")
    return consultation


def published_consultation(session, consultation_id):
    consultation = session.get(Consultation, _uuid(consultation_id)) \
        if _uuid(consultation_id) else None
    if consultation is None or consultation.state == DRAFT:
        raise NotFound("No such consultation.")
    return consultation


def commune_consultations(session, insee):
    return session.scalars(select(Consultation).where(Consultation.commune == insee)
                           .order_by(Consultation.created_at.desc())).all()


def current_documents(session, consultation):
    """The latest version of each file of the DCE, by name."""
    rows = session.scalars(select(Document).where(Document.consultation_id == consultation.id)
                           .order_by(Document.name, Document.version)).all()
    return {row.name: row for row in rows}


def consultation_view(session, consultation, now):
    return {
        "id": consultation.id,
        "buyer": buyer_view(session, session.get(Buyer, consultation.buyer_id), now),
        **{name: getattr(consultation, name) for name in CONSULTATION_FIELDS},
        "lots": consultation.lots, "state": consultation.state,
        "published_at": consultation.published_at,
        "documents": [{"name": d.name, "version": d.version, "size": d.size,
                       "sha256": d.sha256, "uploaded_at": d.uploaded_at}
                      for d in current_documents(session, consultation).values()],
        "withdrawals": session.scalar(select(func.count()).where(
            Withdrawal.consultation_id == consultation.id)),
        "bids": session.scalar(select(func.count()).where(
            Bid.consultation_id == consultation.id)),
    }


def search(session, query, now):
    """Published consultations of every buyer: text in the reference or object, CPV prefix,
    buyer, procedure, deadline window; the open ones only unless asked otherwise."""
    filters = [Consultation.state != DRAFT]
    if query.get("q"):
        like = f"%{query['q'].lower()}%"
        filters.append(or_(func.lower(Consultation.object).like(like),
                           func.lower(Consultation.reference).like(like)))
    if query.get("buyer"):
        filters.append(Consultation.buyer_id == query["buyer"])
    if query.get("procedure"):
        filters.append(Consultation.procedure == query["procedure"])
    if query.get("deadline_after"):
        filters.append(Consultation.bid_deadline >= query["deadline_after"])
    if query.get("deadline_before"):
        filters.append(Consultation.bid_deadline <= query["deadline_before"])
    if query.get("open_only", True):
        filters.append(Consultation.bid_deadline > now)
    rows = session.scalars(select(Consultation).where(*filters)
                           .order_by(Consultation.bid_deadline, Consultation.id)).all()
    if query.get("cpv"):
        prefix = query["cpv"].split("-")[0]
        rows = [c for c in rows if any(code.startswith(prefix) for code in c.cpv_codes)]
    page = rows[query["offset"]:query["offset"] + query["limit"]]
    return len(rows), page


def add_document(session, store, consultation, document, added_by, now):
    """A new version of a file of the DCE; once published, every company that withdrew the
    file is told (returns their withdrawals)."""
    if consultation.state not in (DRAFT, PUBLISHED) or (
            consultation.state == PUBLISHED and consultation.bid_deadline <= now):
        raise Conflict("The consultation's file can no longer change: its deadline has "
                       "passed.")
    previous = current_documents(session, consultation).get(document["file_name"])
    row = Document(consultation_id=consultation.id, name=document["file_name"],
                   version=(previous.version + 1) if previous else 1,
                   size=len(document["content"]), sha256=store.put(document["content"]),
                   uploaded_at=now)
    session.add(row)
    session.flush()
    record(session, consultation, "document_added", added_by, now, name=row.name,
           version=row.version, sha256=row.sha256)
    if consultation.state != PUBLISHED:
        return row, []
    return row, withdrawals_of(session, consultation)


def document_content(session, store, consultation, name):
    row = current_documents(session, consultation).get(name)
    if row is None:
        raise NotFound("No such file in the consultation.")
    try:
        return row, store.get(row.sha256)
    except FileNotFoundError:
        raise NotFound("The file was destroyed at the end of its retention.") from None


def publish(session, consultation, published_by, now):
    if consultation.state != DRAFT:
        raise Conflict(f"The consultation is {consultation.state} already.")
    if not current_documents(session, consultation):
        raise Conflict("A consultation is published with its file (DCE): add its documents.")
    if consultation.bid_deadline <= now:
        raise Invalid({"bid_deadline": ["The deadline has passed: set a later one."]})
    consultation.state, consultation.published_at = PUBLISHED, now
    record(session, consultation, "published", published_by, now)


# -- companies: withdrawals and questions


def withdraw(session, consultation, company, now):
    """Registers the company's download of the DCE as it is now."""
    versions = {name: d.version for name, d in current_documents(session, consultation).items()}
    row = Withdrawal(consultation_id=consultation.id, account_id=company["account_id"],
                     siret=company["siret"], company_name=company["name"],
                     email=company["email"], at=now, documents_version=versions)
    session.add(row)
    record(session, consultation, "withdrawal", company["siret"], now, versions=versions)
    session.flush()
    return row


def _withdrawals(consultation):
    return (select(Withdrawal).where(Withdrawal.consultation_id == consultation.id)
            .order_by(Withdrawal.at, Withdrawal.id))


def withdrawals_of(session, consultation):
    """Every withdrawal of the file: the companies to tell of its changes."""
    return session.scalars(_withdrawals(consultation)).all()


def withdrawal_register(session, consultation, limit, offset):
    """How many withdrawals the register has, and ``limit`` of them after ``offset``."""
    return counted_page(session, _withdrawals(consultation), limit, offset)


def recipients(withdrawals):
    """One message per company address, however often it downloaded the file."""
    return sorted({w.email for w in withdrawals})


def withdrawal_view(row):
    return {"company_name": row.company_name, "siret": row.siret, "at": row.at,
            "documents_version": row.documents_version}


def ask(session, consultation, company, text, now):
    if consultation.state != PUBLISHED:
        raise Conflict("The consultation takes no questions.")
    if not rules.questions_open(consultation.questions_deadline, now):
        raise Conflict("Questions closed on "
                       f"{rules.in_paris(consultation.questions_deadline):%d/%m/%Y at %H:%M} "
                       "(Paris time).")
    question = Question(id=uuid.uuid4(), consultation_id=consultation.id,
                        account_id=company["account_id"], siret=company["siret"], text=text,
                        asked_at=now)
    session.add(question)
    record(session, consultation, "question", company["siret"], now,
           question_id=str(question.id))
    session.flush()
    return question


def questions(session, consultation, limit, offset, answered_only=False):
    """How many questions the consultation has (answered ones only, for the public), and
    ``limit`` of them after ``offset``, oldest first."""
    query = select(Question).where(Question.consultation_id == consultation.id)
    if answered_only:
        query = query.where(Question.answer.is_not(None))
    return counted_page(session, query.order_by(Question.asked_at, Question.id), limit,
                        offset)


def answer(session, consultation, question_id, text, answered_by, now):
    question = session.get(Question, _uuid(question_id)) if _uuid(question_id) else None
    if question is None or question.consultation_id != consultation.id:
        raise NotFound("No such question.")
    if question.answer is not None:
        raise Conflict("The question is answered already.")
    question.answer, question.answered_at, question.answered_by = text, now, answered_by
    record(session, consultation, "answer", answered_by, now, question_id=str(question.id))
    session.flush()
    return question


def question_view(question):
    return {"id": question.id, "text": question.text, "asked_at": question.asked_at,
            "answer": question.answer, "answered_at": question.answered_at}
