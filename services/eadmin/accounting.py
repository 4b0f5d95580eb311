"""Accounting pieces to the public accountant (rule R3): a bordereau of titres or mandats with
its supporting documents, sent as a PES Aller through the transmission platform, then the
accountant's ACK or NACK. Plain functions of the caller's session and file store."""

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict, NotFound
from services.eadmin import acts, pes
from services.eadmin.models import AccountingBatch

POSTED, ACCEPTED, REFUSED = "posted", "accepted", "refused"


def bordereau_of(new):
    """The PES of a new batch, its attachments checked as PDFs first."""
    acts.check_files([("pieces", a["content"]) for piece in new["pieces"]
                      for a in piece["attachments"]])
    return pes.Bordereau(
        kind=new["kind"], year=new["year"], number=new["number"], issued_on=None,
        pieces=tuple(
            pes.Piece(number=p["number"], subject=p["subject"],
                      lines=tuple(pes.Line(**line) for line in p["lines"]),
                      attachments=tuple(pes.Attachment(a["file_name"], a["content"])
                                        for a in p["attachments"]))
            for p in new["pieces"]),
    )


def create_batch(session, store, insee, new, today, now):
    """Records the batch and its PES Aller; the caller posts it, then ``posted``."""
    bordereau = bordereau_of(new)
    bordereau = pes.Bordereau(**{**vars(bordereau), "issued_on": today})
    pes_file = pes.build_pes_aller(pes.Budget(**new["budget"]), bordereau, today)
    batch = AccountingBatch(
        id=uuid.uuid4(), insee=insee, kind=new["kind"], year=new["year"],
        number=new["number"], file_name=pes_file.name, sha256=store.put(pes_file.content),
        total=bordereau.total, state=POSTED, errors=[], created_at=now,
    )
    session.add(batch)
    try:
        session.flush()
    except IntegrityError:
        # The request is well formed; what the accountant already has makes it a conflict.
        raise Conflict(f"Bordereau {new['number']} of {new['kind']} {new['year']} was "
                       "already sent.") from None
    return batch, pes_file


def posted(batch, transaction_id, now):
    batch.transaction_id = str(transaction_id)
    batch.posted_at = now


def answered(batch, status, now):
    """The accountant's acquit: ACK accepts the bordereau, NACK refuses it with its reasons."""
    batch.verdict = status.verdict
    batch.state = ACCEPTED if status.verdict == pes.ACK else REFUSED
    batch.errors = list(status.acquit.errors)
    batch.answered_at = now


def to_follow(session):
    return session.scalars(
        select(AccountingBatch).where(AccountingBatch.state == POSTED,
                                      AccountingBatch.transaction_id.is_not(None))
    ).all()


def batches_of(session, insee):
    return session.scalars(
        select(AccountingBatch).where(AccountingBatch.insee == insee)
        .order_by(AccountingBatch.year.desc(), AccountingBatch.kind, AccountingBatch.number)
    ).all()


def batch_of(session, insee, batch_id):
    try:
        batch = session.get(AccountingBatch, uuid.UUID(str(batch_id)))
    except ValueError:
        batch = None
    if batch is None or batch.insee != insee:
        raise NotFound("No such accounting batch for this commune.")
    return batch


def batch_view(batch):
    return {"id": batch.id, "commune": batch.insee, "kind": batch.kind, "year": batch.year,
            "number": batch.number, "file_name": batch.file_name, "total": batch.total,
            "state": batch.state, "transaction_id": batch.transaction_id,
            "verdict": batch.verdict, "errors": batch.errors, "posted_at": batch.posted_at,
            "answered_at": batch.answered_at}
