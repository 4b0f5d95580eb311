"""The e-administration database: plain functions of the caller's session, the file store and
the clock, as ``services.billing.ledger``. The rules are in ``acts``, ``signing``, ``actes``
and ``archive``; this module keeps what they decide."""

import base64
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contracts.communes import MEMBER_COMMUNES
from contracts.eadmin import ACKNOWLEDGED, ARCHIVED, DRAFT, REFUSED, SIGNED, TRANSMITTED
from contracts.errors import Conflict, Invalid, NotFound
from servicekit.clock import LEGAL_TIME_ZONE
from servicekit.files import AlteredFile
from services.eadmin import actes, acts, archive, signing
from services.eadmin.models import (
    Act,
    ActEvent,
    ActFile,
    ArchiveEntry,
    Certificate,
    SignatureStep,
)

ACT = "act"
ANNEX = "annex"


def local_date(moment):
    return moment.astimezone(LEGAL_TIME_ZONE).date()


# -- certificates (Art. 2: the commune acquires and renews its own) -----------------------------


def register_certificate(session, insee, new, now):
    try:
        _, certificate, _ = signing.load_signer(new["pkcs12"], new["passphrase"])
    except Invalid as refusal:
        raise as_contract(refusal) from None
    row = Certificate(
        id=uuid.uuid4(),
        insee=insee,
        holder=new["holder"],
        subject=certificate.subject,
        serial=certificate.serial,
        fingerprint=certificate.fingerprint_sha256,
        not_before=certificate.not_before,
        not_after=certificate.not_after,
        revoked=False,
        pkcs12=base64.b64encode(new["pkcs12"]).decode("ascii"),
        registered_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("This certificate is already registered.") from None
    return row


def certificates_of(session, insee):
    return session.scalars(
        select(Certificate).where(Certificate.insee == insee).order_by(Certificate.not_after)
    ).all()


def certificate_of(session, insee, certificate_id, lock=False):
    row = session.get(Certificate, _uuid(certificate_id), with_for_update=lock)
    if row is None or row.insee != insee:
        raise NotFound("No such certificate for this commune.")
    return row


def revoke_certificate(session, insee, certificate_id):
    row = certificate_of(session, insee, certificate_id, lock=True)
    row.revoked = True
    return row


def certificate_view(row, today):
    return {
        "id": row.id,
        "commune": row.insee,
        "holder": row.holder,
        "subject": row.subject,
        "serial": row.serial,
        "fingerprint": row.fingerprint,
        "not_before": row.not_before,
        "not_after": row.not_after,
        "revoked": row.revoked,
        "expiring": signing.expires_within(row.not_after, today),
    }


# -- acts ---------------------------------------------------------------------------------------


def create_act(session, store, insee, new, created_by, now):
    """An act with its PDF, annexes and signature circuit; nothing is kept unless all of it
    passes (a PDF that is not one, files too large, a number already used)."""
    files = [(ACT, new["document"]), *((ANNEX, annex) for annex in new["annexes"])]
    acts.check_files([(f"{'document' if role == ACT else 'annexes'}", f["content"])
                      for role, f in files])
    act = Act(
        id=uuid.uuid4(),
        insee=insee,
        number=new["number"],
        nature=new["nature"],
        subject=new["subject"],
        classification=new["classification"],
        decided_on=new["decided_on"],
        state=DRAFT,
        created_at=now,
        created_by=str(created_by)[:60],
    )
    session.add(act)
    try:
        session.flush()
    except IntegrityError:
        raise Invalid({"number": [f"Act number {new['number']} is already used by this "
                                  "commune."]}) from None
    for position, (role, file) in enumerate(files, start=1):
        session.add(ActFile(act_id=act.id, position=position, role=role,
                            file_name=file["file_name"], sha256=store.put(file["content"]),
                            size=len(file["content"])))
    for position, step in enumerate(new["signatories"], start=1):
        session.add(SignatureStep(act_id=act.id, position=position, **step))
    record(session, act, DRAFT, now, "Created.")
    return act


def act_of(session, insee, act_id, lock=False):
    act = session.get(Act, _uuid(act_id), with_for_update=lock)
    if act is None or act.insee != insee:
        raise NotFound("No such act for this commune.")
    return act


def acts_of(session, insee):
    return session.scalars(
        select(Act).where(Act.insee == insee).order_by(Act.decided_on.desc(), Act.number)
    ).all()


def record(session, act, state, now, detail=None, message=None):
    act.state = state
    session.add(ActEvent(act_id=act.id, state=state, at=now, detail=detail, message=message))


def files_of(session, act):
    return session.scalars(
        select(ActFile).where(ActFile.act_id == act.id).order_by(ActFile.position)
    ).all()


def steps_of(session, act):
    return session.scalars(
        select(SignatureStep).where(SignatureStep.act_id == act.id)
        .order_by(SignatureStep.position)
    ).all()


def act_view(session, act, today):
    files = files_of(session, act)
    history = session.scalars(
        select(ActEvent).where(ActEvent.act_id == act.id).order_by(ActEvent.id)
    ).all()
    transmitted_on = act.acknowledged_on
    return {
        "id": act.id,
        "commune": act.insee,
        "number": act.number,
        "nature": act.nature,
        "subject": act.subject,
        "classification": act.classification,
        "decided_on": act.decided_on,
        "state": act.state,
        "signed_on": act.signed_on,
        "transmit_by": acts.transmission_due_by(act.nature, act.signed_on),
        "late": acts.is_late(act.nature, act.signed_on,
                             local_date(act.transmitted_at) if act.transmitted_at else today),
        "identifier": act.identifier,
        "transaction_id": act.transaction_id,
        "transmitted_at": act.transmitted_at,
        "acknowledged_on": act.acknowledged_on,
        "published_on": act.published_on,
        "enforceable_on": acts.enforceable_on(transmitted_on, act.published_on),
        "files": [{"role": f.role, "file_name": f.file_name, "sha256": f.sha256,
                   "size": f.size} for f in files],
        "signatures": [
            {"position": s.position, "signatory": s.signatory, "capacity": s.capacity,
             "delegate": s.delegate, "certificate_id": s.certificate_id,
             "signed_at": s.signed_at}
            for s in steps_of(session, act)
        ],
        "history": [{"state": e.state, "at": e.at, "detail": e.detail, "message": e.message}
                    for e in history],
    }


# -- the signature circuit ----------------------------------------------------------------------


def sign(session, store, insee, act_id, signature, today, now):
    """The next signatory of the circuit signs the act's PDF (PAdES) with one of the
    commune's certificates; the last signature makes the act signed."""
    act = act_of(session, insee, act_id, lock=True)
    if act.state != DRAFT:
        raise Conflict(f"The act is {act.state}: its signature circuit is over.")
    step = next((s for s in steps_of(session, act) if s.signed_at is None), None)
    certificate = certificate_of(session, insee, signature["certificate_id"])
    expected = step.delegate or step.signatory
    if certificate.holder != expected:
        raise Invalid({"certificate_id": [
            f"This certificate is {certificate.holder}'s; the next signature is {expected}'s."]})
    try:
        signing.refuse_unusable(certificate, today, certificate.revoked)
    except Invalid as refusal:
        raise as_contract(refusal) from None
    document = next(f for f in files_of(session, act) if f.role == ACT)
    try:
        signed = signing.sign_pdf(
            store.get(document.sha256),
            base64.b64decode(certificate.pkcs12),
            signature["passphrase"],
            signer_name=step.delegate or step.signatory,
            reason=f"{step.capacity} — acte {act.number}",
            location=MEMBER_COMMUNES[insee].name,
            field_name=f"Signature{step.position}",
            at=now,
        )
    except signing.UnreadableCertificate:
        raise Invalid({"passphrase": ["This passphrase does not open the certificate."]}) \
            from None
    except Invalid as refusal:  # a certificate that expired by the very instant of signing
        raise as_contract(refusal) from None
    document.sha256 = store.put(signed)
    document.size = len(signed)
    step.certificate_id = certificate.id
    step.signed_at = now
    if all(s.signed_at is not None for s in steps_of(session, act)):
        act.signed_on = local_date(now)
        record(session, act, SIGNED, now, f"Signed by {step.delegate or step.signatory}.")
    else:
        record(session, act, DRAFT, now, f"Signed by {step.delegate or step.signatory}.")
    return act


def verify_signatures(session, store, act, trust_roots=()):
    document = next(f for f in files_of(session, act) if f.role == ACT)
    return signing.verify_pdf(store.get(document.sha256), trust_roots)


# -- publication --------------------------------------------------------------------------------


def publish(session, insee, act_id, published_on, now):
    act = act_of(session, insee, act_id, lock=True)
    act.published_on = published_on
    record(session, act, act.state, now, f"Published on {published_on:%d/%m/%Y}.")
    return act


# -- transmission to the prefecture (@ctes) -----------------------------------------------------


def prepare_transmission(session, store, insee, act_id, now):
    """The @ctes archive of a signed act, and its identifier; the act waits for the answer."""
    act = act_of(session, insee, act_id, lock=True)
    if act.state != SIGNED:
        raise Conflict(f"Only a signed act is transmitted; this one is {act.state}.")
    files = [(f, store.get(f.sha256)) for f in files_of(session, act)]
    return act, actes.build_transmission(act, MEMBER_COMMUNES[insee], files)


def transmitted(session, act, transmission, transaction_id, now):
    act.identifier = transmission.identifier
    act.transaction_id = str(transaction_id)
    act.transmitted_at = now
    record(session, act, TRANSMITTED, now, f"Posted to the prefecture ({transmission.identifier}).")


def to_follow(session):
    return session.scalars(
        select(Act).where(Act.state == TRANSMITTED).order_by(Act.transmitted_at)
    ).all()


def acknowledged(session, store, act, acknowledged_on, ar_message, now):
    act.acknowledged_on = acknowledged_on
    record(session, act, ACKNOWLEDGED, now,
           f"Acknowledged by the prefecture on {acknowledged_on:%d/%m/%Y}.", ar_message)
    archive_act(session, store, act, now)


def refused(session, act, reason, now):
    record(session, act, REFUSED, now, reason)


# -- archive ------------------------------------------------------------------------------------


def archive_act(session, store, act, now):
    files = [{"role": f.role, "file_name": f.file_name, "sha256": f.sha256, "size": f.size}
             for f in files_of(session, act)]
    session.add(ArchiveEntry(
        act_id=act.id, insee=act.insee, archived_at=now,
        keep_until=archive.destroy_after(act.nature, local_date(now)), files=files,
    ))
    act.archived_at = now
    record(session, act, ARCHIVED, now, "Archived with its signed PDF, annexes and AR.")


def archive_of(session, insee):
    return session.execute(
        select(ArchiveEntry, Act).join(Act, Act.id == ArchiveEntry.act_id)
        .where(ArchiveEntry.insee == insee).order_by(ArchiveEntry.archived_at)
    ).all()


def archive_view(entry, act):
    return {"act_id": act.id, "commune": act.insee, "number": act.number, "nature": act.nature,
            "archived_at": entry.archived_at, "keep_until": entry.keep_until,
            "files": entry.files}


def check_integrity(session, store, insee, act_id, trust_roots=()):
    act = act_of(session, insee, act_id)
    entry = session.get(ArchiveEntry, act.id)
    if entry is None:
        raise NotFound("This act is not archived.")
    altered = [f["file_name"] for f in entry.files if not store.verify(f["sha256"])]
    checks = [] if altered else verify_signatures(session, store, act, trust_roots)
    return {"act_id": act.id, "intact": not altered, "altered": altered,
            "signatures": [vars(check) for check in checks]}


def as_contract(refusal):
    """The contract's own ``Invalid``: only the contract's classes cross RPC as themselves,
    a subclass (``signing.UnusableCertificate``) would reach the gateway as a bare error."""
    return Invalid(refusal.errors, refusal.detail)


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("No such object.") from None


# -- the prefecture's messages after the acknowledgement (legality control) ---------------------

# The prefect may refer an act to the court within two months of its receipt (L2131-6), a
# delay a request for additional documents extends: messages are looked for three months.
CONTROL_WINDOW = timedelta(days=92)
PREFECTURE_MESSAGE = "message"


def under_control(session, today):
    """Acknowledged acts the prefecture may still write about."""
    return session.scalars(
        select(Act).where(Act.acknowledged_on.is_not(None),
                          Act.acknowledged_on >= today - CONTROL_WINDOW)
    ).all()


def known_messages(session, act):
    events = session.scalars(select(ActEvent).where(ActEvent.act_id == act.id,
                                                    ActEvent.message.is_not(None)))
    return {e.message.get("id") for e in events if e.message}


def record_messages(session, act, messages, now):
    """Keeps each new message of the prefecture in the act's history, once."""
    known = known_messages(session, act)
    for message in messages:
        if message.id in known:
            continue
        record(session, act, act.state, now,
               f"{message.message.label} de la préfecture"
               + (f" du {message.message.date:%d/%m/%Y}" if message.message.date else ""),
               {**message.message.as_record(), "id": message.id, "xml": None})


def message_to_answer(session, act, message_id, reply, replies):
    """The prefecture's message ``message_id`` of ``act``, if ``reply`` answers its type."""
    message = next((e.message for e in session.scalars(
        select(ActEvent).where(ActEvent.act_id == act.id, ActEvent.message.is_not(None)))
        if e.message and e.message.get("id") == message_id), None)
    if message is None:
        raise NotFound("No such message of the prefecture about this act.")
    answered_type, _ = replies[reply]
    if message["type"] != answered_type:
        raise Invalid({"reply": [f"A {message['label']} is not answered by a {reply}."]})
    return message


def answered(session, act, message_id, reply, label, now):
    record(session, act, act.state, now, f"{label} envoyée en réponse.",
           {"answers": message_id, "reply": reply})


def export_archive(session, store, insee, act_id, archival_agency, now):
    """The act's transfer package for the archives (SEDA manifest and files); an altered file
    stops it rather than leave with a digest it contradicts."""
    act = act_of(session, insee, act_id)
    entry = session.get(ArchiveEntry, act.id)
    if entry is None:
        raise NotFound("This act is not archived.")
    commune = MEMBER_COMMUNES[insee]
    archived = archive.ArchivedAct(
        identifier=act.identifier, nature=act.nature, number=act.number, subject=act.subject,
        decided_on=act.decided_on, acknowledged_on=act.acknowledged_on,
        archived_on=local_date(entry.archived_at), commune_name=commune.name,
        commune_siren=commune.siren, archival_agency=archival_agency)
    try:
        return archive.export_package(archived, entry.files, store, now)
    except AlteredFile:
        raise Conflict("An archived file no longer matches its fingerprint: check the "
                       "archive's integrity before exporting it.") from None
