"""Council sessions and their convocations (rule R1), on the caller's session, file store,
mailer and clock: the delay in jours francs checked against the commune's population before
anything leaves, each councillor's personal link, read receipts, documents added later."""

import uuid
from types import SimpleNamespace

from sqlalchemy import select

from contracts.communes import MEMBER_COMMUNES
from contracts.errors import Conflict, Invalid, NotFound
from servicekit.clock import LEGAL_TIME_ZONE
from servicekit.mail import MailError
from services.eadmin import acts, convocations, mail
from services.eadmin.models import Convocation, CouncilSession, SessionDocument


def create_session(session, store, insee, new, population, now):
    """A session with its documents and councillors; from 3,500 inhabitants the explanatory
    note is required (L2121-12)."""
    if convocations.requires_explanatory_note(population) and not new["explanatory_note"]:
        raise Invalid({"explanatory_note": [
            f"A commune of {population} inhabitants sends the note explicative de synthèse "
            "with the convocation (L2121-12)."]})
    files = [(f["file_name"], f["content"], False) for f in new["documents"]]
    if new["explanatory_note"]:
        note = new["explanatory_note"]
        files.append((note["file_name"], note["content"], True))
    acts.check_files([("documents" if not is_note else "explanatory_note", content)
                      for _, content, is_note in files])
    row = CouncilSession(id=uuid.uuid4(), insee=insee, council=new["council"],
                         starts_at=new["starts_at"], place=new["place"], urgent=new["urgent"],
                         agenda=new["agenda"], created_at=now)
    session.add(row)
    session.flush()
    for position, (file_name, content, is_note) in enumerate(files, start=1):
        session.add(SessionDocument(session_id=row.id, position=position, file_name=file_name,
                                    sha256=store.put(content), size=len(content),
                                    explanatory_note=is_note, added_at=now))
    for councillor in new["councillors"]:
        session.add(Convocation(id=uuid.uuid4(), session_id=row.id, councillor=councillor["name"],
                                email=councillor["email"],
                                token=convocations.new_link_token(), openings=0))
    return row


def session_of(session, insee, session_id, lock=False):
    try:
        key = uuid.UUID(str(session_id))
    except ValueError:
        raise NotFound("No such session for this commune.") from None
    row = session.get(CouncilSession, key, with_for_update=lock)
    if row is None or row.insee != insee:
        raise NotFound("No such session for this commune.")
    return row


def documents_of(session, row):
    return session.scalars(select(SessionDocument).where(SessionDocument.session_id == row.id)
                           .order_by(SessionDocument.position)).all()


def convocations_of(session, row):
    return session.scalars(select(Convocation).where(Convocation.session_id == row.id)
                           .order_by(Convocation.councillor)).all()


def session_view(session, row, population, today):
    return {
        "id": row.id, "commune": row.insee, "council": row.council, "starts_at": row.starts_at,
        "place": row.place, "urgent": row.urgent, "agenda": row.agenda,
        "convened_at": row.convened_at,
        "earliest_session_on": convocations.earliest_session_on(today, population, row.urgent),
        "documents": [document_view(d) for d in documents_of(session, row)],
        "convocations": [
            {"councillor": c.councillor, "email": c.email, "sent_at": c.sent_at,
             "error": c.error, "opened_at": c.opened_at, "openings": c.openings}
            for c in convocations_of(session, row)
        ],
    }


def document_view(document):
    return {"position": document.position, "file_name": document.file_name,
            "sha256": document.sha256, "size": document.size,
            "explanatory_note": document.explanatory_note, "added_at": document.added_at,
            "after_convocation": document.after_convocation}


def check_delay(row, population, today):
    """R1: the convocation leaves at least 3 (under 3,500 inhabitants) or 5 jours francs
    before the session, 1 in urgency; otherwise refused with the earliest lawful date."""
    session_on = row.starts_at.astimezone(LEGAL_TIME_ZONE).date()
    if not convocations.is_lawful(today, session_on, population, row.urgent):
        earliest = convocations.earliest_session_on(today, population, row.urgent)
        needed = convocations.minimum_jours_francs(population, row.urgent)
        raise Invalid({"starts_at": [
            f"Sent today, a convocation needs {needed} jours francs: the session can be held "
            f"on {earliest:%d/%m/%Y} at the earliest (L2121-11, L2121-12)."]})


def convene(session, mailer, insee, session_id, population, link_of, today, now):
    """Sends every councillor's convocation, once; a refused address is recorded against
    that councillor and does not stop the others."""
    row = session_of(session, insee, session_id, lock=True)
    if row.convened_at is not None:
        raise Conflict("The convocations of this session were already sent.")
    check_delay(row, population, today)
    details = _mail_session(row, any(d.explanatory_note for d in documents_of(session, row)))
    for convocation in convocations_of(session, row):
        message = mail.convocation_message(
            details, SimpleNamespace(name=convocation.councillor, email=convocation.email),
            link_of(convocation.token))
        try:
            convocation.message_id = mailer.send_message(message)
            convocation.sent_at = now
        except MailError as error:
            convocation.error = error.detail[:500]
    row.convened_at = now
    return row


def add_document(session, store, mailer, insee, session_id, file, link_of, now):
    """A document added after the convocations left: time-stamped, and announced to each
    councillor with their link."""
    row = session_of(session, insee, session_id, lock=True)
    acts.check_files([("content", file["content"])])
    position = len(documents_of(session, row)) + 1
    document = SessionDocument(session_id=row.id, position=position,
                               file_name=file["file_name"], sha256=store.put(file["content"]),
                               size=len(file["content"]), explanatory_note=False, added_at=now,
                               after_convocation=row.convened_at is not None)
    session.add(document)
    if row.convened_at is not None:
        for convocation in convocations_of(session, row):
            mailer.send(convocation.email,
                        f"Document ajouté à la séance du {row.council}",
                        f"Le document « {document.file_name} » a été ajouté le "
                        f"{now.astimezone(LEGAL_TIME_ZONE):%d/%m/%Y à %H:%M}.\n"
                        f"{link_of(convocation.token)}\n")
    return row


def open_convocation(session, token, now):
    """A councillor opens their link: the first opening is the read receipt."""
    convocation = session.scalar(select(Convocation).where(Convocation.token == token)) \
        if isinstance(token, str) else None
    if convocation is None or convocation.sent_at is None:
        raise NotFound("No such convocation.")
    if convocation.opened_at is None:
        convocation.opened_at = now
    convocation.openings += 1
    row = session.get(CouncilSession, convocation.session_id)
    return {"council": row.council, "commune": MEMBER_COMMUNES[row.insee].name,
            "starts_at": row.starts_at, "place": row.place, "agenda": row.agenda,
            "councillor": convocation.councillor,
            "documents": [document_view(d) for d in documents_of(session, row)]}


def document_by_link(session, store, token, position):
    convocation = session.scalar(select(Convocation).where(Convocation.token == token)) \
        if isinstance(token, str) else None
    if convocation is None or convocation.sent_at is None:
        raise NotFound("No such convocation.")
    document = session.get(SessionDocument, (convocation.session_id, position))
    if document is None:
        raise NotFound("No such document.")
    return document.file_name, store.get(document.sha256)


def _mail_session(row, explanatory_note):
    return SimpleNamespace(council=row.council, starts_at=row.starts_at, place=row.place,
                           agenda=row.agenda, urgent=row.urgent,
                           explanatory_note=explanatory_note)
