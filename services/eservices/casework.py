"""Citizens' requests, from submission to decision, on the caller's session.

A submission is checked against the form's definition and the rules of its kind, stored with
its files and a reference, and acknowledged by e-mail in the same transaction (the postbox
sends it once committed): a refused submission leaves nothing behind. Each change of status is
kept with its author and time, and the citizen is told by e-mail.
"""

import base64
import binascii
import uuid
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, delete, func, or_, select

from contracts.errors import Conflict, Invalid, NotFound
from contracts.eservices import CANCELLED, CLOSED, DONE, IN_PROGRESS, NEW, WAITING_FOR_CITIZEN
from contracts.personal_data import ERASED
from servicekit.clock import LEGAL_TIME_ZONE
from servicekit.postbox import deliveries, forget_mails_to, kept_mails_to
from services.eservices import bookings, communes, forms, notices, rules
from services.eservices.models import (
    Attachment,
    FormDefinition,
    Message,
    ReferenceCounter,
    Request,
    StatusChange,
    UnneededFile,
)

CIVIL_STATUS_ACTS = {"acte-de-naissance": "birth", "acte-de-mariage": "marriage",
                     "acte-de-deces": "death", "livret-de-famille": "family_record"}


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# -- submission


def submit(session, postbox, store, insee, new_request, requester, idempotency_key, now):
    """The new request of ``requester`` to ``insee`` — or, for an ``idempotency_key`` already
    used by the same citizen, the request it created."""
    if idempotency_key:
        earlier = session.scalar(select(Request).where(
            Request.requester_account_id == requester["account_id"],
            Request.idempotency_key == idempotency_key))
        if earlier is not None:
            return earlier, False
    form_row = communes.form_to_fill(session, insee, new_request["form"])
    definition = form_row.definition
    branding = communes.branding_of(session, insee)
    today = now.astimezone(LEGAL_TIME_ZONE).date()
    data, files = forms.check_submission(definition, new_request["data"],
                                         new_request["attachments"], today)
    _check_civil_status(definition, data, today)
    request = Request(
        id=uuid.uuid4(), commune=insee, form_id=form_row.id, form_slug=definition["slug"],
        status=NEW, submitted_at=now, data=data,
        requester_account_id=requester["account_id"], requester_name=requester["name"],
        requester_email=requester["email"], idempotency_key=idempotency_key, flags=[],
        flagged=False,
        acknowledge_by=rules.acknowledge_by(today),
        reference=_next_reference(session, insee, today.year),
    )
    session.add(request)
    session.flush()
    _apply_kind_rules(session, definition, request, now)
    for checked in files:
        session.add(Attachment(request_id=request.id, name=checked.name,
                               file_name=checked.file_name, content_type=checked.content_type,
                               size=len(checked.content), sha256=store.put(checked.content)))
    session.add(StatusChange(request_id=request.id, status=NEW, at=now, by="citizen"))
    notice = notices.registration_acknowledgement(
        request.reference, definition["title"], now, branding.name,
        definition["handling_service"], branding.contact, request.waiting_list_position)
    request.registration_mail_id = _mail(session, postbox, request, branding, notice)
    request.registration_acknowledged_at = now
    session.flush()
    return request, True


def _next_reference(session, insee, year):
    counter = session.scalar(select(ReferenceCounter).where(
        ReferenceCounter.commune == insee, ReferenceCounter.year == year).with_for_update())
    if counter is None:
        counter = ReferenceCounter(commune=insee, year=year, last=0)
        session.add(counter)
    counter.last += 1
    return rules.reference(insee, year, counter.last)


def _check_civil_status(definition, data, today):
    act = CIVIL_STATUS_ACTS.get(definition["slug"])
    if definition["kind"] != "civil_status_copy" or act is None:
        return
    act_date = date.fromisoformat(data["act_date"]) if data.get("act_date") else None
    refusal = rules.copy_refusal(act, data.get("copy_type"), data.get("relationship"),
                                 act_date, today)
    if refusal:
        field = "data.copy_type" if "copy_type" in data else "data.relationship"
        raise Invalid({field: [refusal]})


def _apply_kind_rules(session, definition, request, now):
    kind, data = definition["kind"], request.data
    if kind == "appointment":
        slot = bookings.book_slot(session, request.commune, data["slot_id"], request.id, now)
        request.slot_id = slot.id
    elif kind == "holiday_camp":
        camp = bookings.locked_camp(session, request.commune, data["camp_id"])
        taken = (bookings.places_taken(session, camp)
                 + bookings.waiting_list_length(session, camp))
        request.camp_id = camp.id
        request.waiting_list_position = rules.camp_placement(camp.places, taken)
    elif kind == "move_parking":
        request.parking_spot = rules.normalised_address(data["address"])
        request.parking_starts_on = date.fromisoformat(data["starts_on"])
        request.parking_ends_on = date.fromisoformat(data["ends_on"])
        request.flags = _parking_overlaps(session, request)
        request.flagged = bool(request.flags)


def _parking_overlaps(session, request):
    """Flags the open requests for the same spot on overlapping days, on both sides."""
    others = session.scalars(select(Request).where(
        Request.commune == request.commune, Request.parking_spot == request.parking_spot,
        Request.id != request.id, Request.status.not_in(CLOSED))).all()
    flags = []
    mine = (request.parking_spot, request.parking_starts_on, request.parking_ends_on)
    for other in others:
        if rules.parking_overlap(mine, (other.parking_spot, other.parking_starts_on,
                                        other.parking_ends_on)):
            flags.append(f"overlaps {other.reference}")
            other.flags = [*other.flags, f"overlaps {request.reference}"]
            other.flagged = True
    return flags


def _mail(session, postbox, request, branding, notice):
    """Queues ``notice`` to the requester, answered to the handling service's address."""
    if request.requester_email is None:
        return None
    return postbox.add(session, request.requester_email, notice.subject, notice.text,
                       headers={"Reply-To": branding.contact["email"]})


# -- reading


def request_of(session, request_id, insee=None, account_id=None, lock=False):
    """The request, seen by an agent of ``insee`` or by the citizen ``account_id``; anyone
    else's is as unknown as a wrong id."""
    query = select(Request).where(Request.id == _uuid(request_id))
    if lock:
        query = query.with_for_update()
    request = session.scalar(query) if _uuid(request_id) else None
    if request is None or (insee is not None and request.commune != insee) or (
            account_id is not None and request.requester_account_id != str(account_id)):
        raise NotFound("No such request.")
    return request


def request_view(session, request, now):
    definition = session.get(FormDefinition, request.form_id).definition
    history = session.scalars(select(StatusChange).where(StatusChange.request_id == request.id)
                              .order_by(StatusChange.at, StatusChange.id)).all()
    messages = session.scalars(select(Message).where(Message.request_id == request.id)
                               .order_by(Message.at, Message.id)).all()
    attachments = session.scalars(select(Attachment).where(Attachment.request_id == request.id)
                                  .order_by(Attachment.id)).all()
    states = deliveries(session, [m.mail_id for m in messages if m.mail_id])
    requester = None if request.requester_account_id is None else {
        "account_id": request.requester_account_id, "name": request.requester_name,
        "email": request.requester_email}
    return {
        "id": request.id, "reference": request.reference, "commune": request.commune,
        "form": request.form_slug, "form_version": definition["version"],
        "form_title": definition["title"], "handling_service": definition["handling_service"],
        "status": request.status, "submitted_at": request.submitted_at,
        "registration_acknowledged_at": request.registration_acknowledged_at,
        "receipt_acknowledged_at": request.receipt_acknowledged_at,
        "acknowledge_by": request.acknowledge_by, "data": request.data,
        "attachments": [{"name": a.name, "file_name": a.file_name,
                         "content_type": a.content_type, "size": a.size,
                         "sha256": a.sha256 or ""} for a in attachments],
        "requester": requester, "flags": list(request.flags),
        "waiting_list_position": request.waiting_list_position,
        "history": [{"status": h.status, "at": h.at, "by": h.by} for h in history],
        "seconds_in_status": rules.seconds_in_status([(h.status, h.at) for h in history], now),
        "messages": [{"author": m.author, "text": m.text, "at": m.at,
                      "emailed": states.get(m.mail_id, "sent") if m.mail_id else None}
                     for m in messages],
        "anonymised": request.anonymised_at is not None,
    }


def citizen_requests(session, account_id):
    return session.scalars(select(Request).where(Request.requester_account_id == str(account_id))
                           .order_by(Request.submitted_at.desc(), Request.id)).all()


def commune_requests(session, insee, query):
    """A page of the commune's requests, newest first, and their counts by status under the
    same filters but the status."""
    filters = [Request.commune == insee]
    if query.get("form"):
        filters.append(Request.form_slug == query["form"])
    if query.get("submitted_from"):
        filters.append(Request.submitted_at >= _start_of(query["submitted_from"]))
    if query.get("submitted_until"):
        filters.append(Request.submitted_at < _start_of(query["submitted_until"], days=1))
    if query.get("flagged") is not None:
        filters.append(Request.flagged.is_(query["flagged"]))
    counts = dict(session.execute(select(Request.status, func.count())
                                  .where(*filters).group_by(Request.status)).all())
    if query.get("status"):
        filters.append(Request.status == query["status"])
    if query.get("cursor"):
        at, request_id = _read_cursor(query["cursor"])
        filters.append(or_(Request.submitted_at < at,
                           and_(Request.submitted_at == at, Request.id > request_id)))
    rows = session.scalars(select(Request).where(*filters)
                           .order_by(Request.submitted_at.desc(), Request.id)
                           .limit(query["limit"] + 1)).all()
    page, more = rows[:query["limit"]], len(rows) > query["limit"]
    next_cursor = _cursor(page[-1]) if more else None
    return page, counts, next_cursor


def _start_of(day, days=0):
    return datetime.combine(day + timedelta(days=days), time(), tzinfo=LEGAL_TIME_ZONE)


def _cursor(request):
    raw = f"{request.submitted_at.isoformat()}|{request.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _read_cursor(cursor):
    try:
        at, _, request_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), uuid.UUID(request_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid({"cursor": ["Not a cursor this list gave."]}) from None


# -- processing


def _context(session, request):
    definition = session.get(FormDefinition, request.form_id).definition
    return definition, communes.branding_of(session, request.commune)


def _change_status(session, request, target, by, now, agent_id=None):
    request.status = target
    request.closed_at = now if target in CLOSED else None
    session.add(StatusChange(request_id=request.id, status=target, at=now, by=by,
                             agent_id=agent_id))


def move(session, postbox, request, target, message, agent_id, now):
    """An agent moves the request along its form's workflow and the citizen is told."""
    definition, branding = _context(session, request)
    if target == CANCELLED:
        raise Conflict("Only the citizen withdraws a request; an agent refuses it.")
    if not rules.may_move(definition["transitions"], request.status, target):
        raise Conflict(f"A request {request.status} cannot become {target}.")
    if target == IN_PROGRESS and request.receipt_acknowledged_at is None:
        _acknowledge_receipt(session, postbox, request, definition, branding, now)
    _change_status(session, request, target, "agent", now, agent_id)
    notice = notices.status_notice(request.reference, definition["title"], target, message,
                                   branding.name, definition["handling_service"],
                                   branding.contact)
    mail_id = _mail(session, postbox, request, branding, notice)
    if message:
        session.add(Message(request_id=request.id, author="agent", text=message, at=now,
                            agent_id=agent_id, mail_id=mail_id))
    if target in CLOSED and target != DONE:
        _release(session, postbox, request, now)
    session.flush()


def agent_message(session, postbox, request, text, agent_id, now):
    if request.status in CLOSED:
        raise Conflict(f"The request is {request.status}: it takes no more messages.")
    definition, branding = _context(session, request)
    notice = notices.message_notice(request.reference, definition["title"], text,
                                    branding.name, definition["handling_service"],
                                    branding.contact)
    session.add(Message(request_id=request.id, author="agent", text=text, at=now,
                        agent_id=agent_id,
                        mail_id=_mail(session, postbox, request, branding, notice)))
    session.flush()


def citizen_message(session, request, text, now):
    """The citizen answers; a request waiting for them goes back to the service."""
    if request.status in CLOSED:
        raise Conflict(f"The request is {request.status}: it takes no more messages.")
    session.add(Message(request_id=request.id, author="citizen", text=text, at=now))
    if request.status == WAITING_FOR_CITIZEN:
        _change_status(session, request, IN_PROGRESS, "citizen", now)
    session.flush()


def cancel(session, postbox, request, now):
    """The citizen withdraws the request: an appointment's slot is freed, a camp place goes to
    the first in line."""
    definition, _ = _context(session, request)
    if not rules.may_move(definition["transitions"], request.status, CANCELLED):
        raise Conflict(f"A request {request.status} can no longer be cancelled.")
    _change_status(session, request, CANCELLED, "citizen", now)
    _release(session, postbox, request, now)
    session.flush()


def _release(session, postbox, request, now):
    if request.slot_id is not None:
        bookings.free_slot(session, request.id)
    if request.camp_id is None:
        return
    camp = bookings.locked_camp(session, request.commune, request.camp_id)
    if request.waiting_list_position is not None:
        bookings.leave_waiting_list(session, camp, request)
        return
    promoted = bookings.promote_waiting(session, camp)
    if promoted is not None:
        definition, branding = _context(session, promoted)
        session.add(StatusChange(request_id=promoted.id, status=promoted.status, at=now,
                                 by="system"))
        _mail(session, postbox, promoted, branding, notices.place_freed_notice(
            promoted.reference, camp.name, branding.name, definition["handling_service"],
            branding.contact))


def _acknowledge_receipt(session, postbox, request, definition, branding, now):
    notice = notices.receipt_acknowledgement(request.reference, definition["title"],
                                             request.submitted_at, branding.name,
                                             definition["handling_service"], branding.contact)
    request.receipt_mail_id = _mail(session, postbox, request, branding, notice)
    request.receipt_acknowledged_at = now


def acknowledge_due_receipts(session, postbox, today, now):
    """CRPA L112-11: the accusé de réception leaves by its tenth working day at the latest,
    for the requests no agent has taken in by then."""
    due = session.scalars(select(Request).where(
        Request.receipt_acknowledged_at.is_(None), Request.acknowledge_by <= today,
        Request.status != CANCELLED).with_for_update(skip_locked=True)).all()
    for request in due:
        definition, branding = _context(session, request)
        _acknowledge_receipt(session, postbox, request, definition, branding, now)
    return len(due)


# -- personal data


def citizen_mails(session, account_id, email):
    """The mails still kept to the citizen: to their address, and to those their requests
    were submitted with."""
    return kept_mails_to(session, _addresses_of(session, account_id, email))


def _addresses_of(session, account_id, email=None):
    addresses = set(session.scalars(select(Request.requester_email).distinct().where(
        Request.requester_account_id == str(account_id))))
    return addresses | {email} if email else addresses


def anonymise_requests_of(session, account_id, now):
    """GDPR art. 17: the deleted account's requests stay for the commune's records, without
    what identifies the citizen — the requester, the personal fields and files, their own
    messages — and the mails kept to them go. Their files are deleted by
    ``delete_unneeded_files``, once this has committed."""
    forget_mails_to(session, _addresses_of(session, account_id))
    requests = citizen_requests(session, account_id)
    for request in requests:
        definition = session.get(FormDefinition, request.form_id).definition
        request.data = rules.anonymised(definition, request.data)
        request.requester_account_id = request.requester_name = None
        request.requester_email = request.idempotency_key = None
        request.anonymised_at = now
        personal = {a["name"] for a in definition["attachments"] if a.get("personal")}
        for attachment in session.scalars(select(Attachment).where(
                Attachment.request_id == request.id, Attachment.name.in_(personal))):
            _forget_file(session, attachment)
        for message in session.scalars(select(Message).where(
                Message.request_id == request.id, Message.author == "citizen")):
            message.text = ERASED
    session.flush()
    return len(requests)


def _forget_file(session, attachment):
    """Detaches the file; when no other attachment holds it, it is to be deleted."""
    sha256, attachment.sha256, attachment.file_name = attachment.sha256, None, ERASED
    session.flush()
    held = session.scalar(select(func.count()).where(Attachment.sha256 == sha256))
    if sha256 and not held and session.get(UnneededFile, sha256) is None:
        session.add(UnneededFile(sha256=sha256))


def delete_unneeded_files(session, store):
    """Deletes the files that anonymised or expired requests left, once that committed: a
    rolled-back erasure leaves no record pointing at a deleted file."""
    rows = session.scalars(select(UnneededFile)).all()
    for row in rows:
        # A new request may have brought the same file since.
        if not session.scalar(select(func.count()).where(Attachment.sha256 == row.sha256)):
            store.remove(row.sha256)
        session.delete(row)
    return len(rows)


def purge_expired(session, now):
    """Closed requests kept longer than their form's retention period are deleted; returns
    how many."""
    expired = []
    closed = session.scalars(select(Request).where(Request.closed_at.is_not(None))).all()
    for request in closed:
        definition = session.get(FormDefinition, request.form_id).definition
        if rules.retention_ends(request.closed_at, definition["retention_days"]) <= now:
            expired.append(request)
    for request in expired:
        for attachment in session.scalars(select(Attachment).where(
                Attachment.request_id == request.id)):
            _forget_file(session, attachment)
        bookings.free_slot(session, request.id)
        for table in (Attachment, Message, StatusChange):
            session.execute(delete(table).where(table.request_id == request.id))
        session.delete(request)
    session.flush()
    return len(expired)
