"""Bids sealed on deposit, opened after the deadline, and awards (R2151-5, R2143-2, arrêté du
22 mars 2019), on the caller's session.

A bid's files are sealed to the consultation's public key before they touch the disk; the
database keeps their names, sizes and fingerprints in clear — the company's receipt — and the
file store only ciphertext. The opening is the one place the consultation's private key is
unwrapped, and it refuses to run before the deadline on the service's clock.
"""

import uuid

from sqlalchemy import func, select

from contracts.errors import Conflict, Invalid, NotFound
from contracts.events import CONTRACT_AWARDED
from contracts.procurement import AWARDED, OPENED, PUBLISHED
from servicekit.files import fingerprint
from services.procurement import decp, rules, sealing
from services.procurement.models import Award, Bid, BidFile, Buyer, Document
from services.procurement.portal import record


def _associated_data(consultation, bid_id, position):
    """Binds a sealed file to its place: copied under another bid, it does not open."""
    return f"{consultation.id}/{bid_id}/{position}".encode()


def deposit(session, store, consultation, company, new_bid, now):
    """The company's bid for a lot, sealed, with its receipt. A bid after the deadline is kept
    and flagged late (it will not be opened as admitted); a consultation already opened takes
    no more."""
    if consultation.state != PUBLISHED:
        raise Conflict(f"The consultation is {consultation.state}: it takes no bids.")
    if new_bid["lot"] not in {lot["number"] for lot in consultation.lots}:
        raise Invalid({"lot": [f"The consultation has no lot {new_bid['lot']}."]})
    deposited_at = rules.deposited_at(now)
    sequence = 1 + session.scalar(select(func.count()).where(
        Bid.consultation_id == consultation.id))
    bid = Bid(id=uuid.uuid4(), consultation_id=consultation.id, lot=new_bid["lot"],
              sequence=sequence,
              account_id=company["account_id"], siret=company["siret"],
              company_name=company["name"], deposited_at=deposited_at,
              late=rules.is_late(consultation.bid_deadline, deposited_at))
    session.add(bid)
    files = []
    for position, upload in enumerate(new_bid["files"], start=1):
        sealed = sealing.seal(consultation.public_key, upload["content"],
                              _associated_data(consultation, bid.id, position))
        files.append(BidFile(bid_id=bid.id, position=position, file_name=upload["file_name"],
                             size=len(upload["content"]),
                             sha256=fingerprint(upload["content"]),
                             sealed_sha256=store.put(sealed)))
    session.add_all(files)
    session.flush()
    record(session, consultation, "bid_deposited", company["siret"], now,
           bid_id=str(bid.id), lot=bid.lot, late=bid.late,
           files=[{"file_name": f.file_name, "sha256": f.sha256} for f in files])
    return bid, files


def bids_of(session, consultation):
    return session.scalars(select(Bid).where(Bid.consultation_id == consultation.id)
                           .order_by(Bid.lot, Bid.sequence)).all()


def files_of(session, bid):
    return session.scalars(select(BidFile).where(BidFile.bid_id == bid.id)
                           .order_by(BidFile.position)).all()


def receipt(consultation, bid, files):
    return {"bid_id": bid.id, "consultation_id": consultation.id,
            "reference": consultation.reference, "lot": bid.lot, "siret": bid.siret,
            "deposited_at": bid.deposited_at, "late": bid.late,
            "files": [{"file_name": f.file_name, "size": f.size, "sha256": f.sha256}
                      for f in files]}


def counts(session, consultation):
    """How many bids each lot has, on time and late: all anyone learns before the opening."""
    tally = {lot["number"]: {"lot": lot["number"], "on_time": 0, "late": 0}
             for lot in consultation.lots}
    for bid in bids_of(session, consultation):
        tally[bid.lot]["late" if bid.late else "on_time"] += 1
    return list(tally.values())


def superseded_ids(bids):
    """A company's later bid for a lot replaces its earlier ones (on time ones only: a late
    bid replaces nothing). ``bids`` come in the order they were deposited."""
    latest = {}
    for bid in bids:
        if not bid.late:
            latest[(bid.lot, bid.siret)] = bid
    kept = {bid.id for bid in latest.values()}
    return {bid.id for bid in bids if not bid.late and bid.id not in kept}


def open_bids(session, store, consultation, master_key, opened_by, now):
    """The opening, after the deadline only: every file unsealed and checked against its
    receipt's fingerprint, every bid listed — late and superseded ones too."""
    if not rules.may_open(consultation.bid_deadline, now):
        raise Conflict("The bids are sealed until the deadline, "
                       f"{rules.in_paris(consultation.bid_deadline):%d/%m/%Y %H:%M:%S} "
                       "(Paris time): no one can open them before.")
    if consultation.state != PUBLISHED:
        raise Conflict(f"The consultation is {consultation.state}: its bids were opened.")
    consultation.state, consultation.opened_at, consultation.opened_by = OPENED, now, opened_by
    report = opening_report(session, store, consultation, master_key)
    record(session, consultation, "opened", opened_by, now,
           bids=[{"bid_id": str(b["bid_id"]), "admitted": b["admitted"],
                  "files_match": all(f["matches_receipt"] for f in b["files"])}
                 for b in report["bids"]])
    return report


def opening_report(session, store, consultation, master_key):
    if consultation.opened_at is None:
        raise Conflict("The bids have not been opened.")
    bids = bids_of(session, consultation)
    superseded = superseded_ids(bids)
    listed = []
    for bid in bids:
        opened_files = []
        for row in files_of(session, bid):
            if row.sealed_sha256 is None:
                opened_files.append({"file_name": row.file_name, "size": row.size,
                                     "sha256": row.sha256, "matches_receipt": False,
                                     "destroyed": True})
                continue
            content = sealing.unseal(master_key, consultation.wrapped_private_key,
                                     str(consultation.id), store.get(row.sealed_sha256),
                                     _associated_data(consultation, bid.id, row.position))
            opened_files.append({"file_name": row.file_name, "size": len(content),
                                 "sha256": fingerprint(content),
                                 "matches_receipt": fingerprint(content) == row.sha256,
                                 "destroyed": False})
        listed.append({"bid_id": bid.id, "lot": bid.lot, "company_name": bid.company_name,
                       "siret": bid.siret, "deposited_at": bid.deposited_at, "late": bid.late,
                       "superseded": bid.id in superseded,
                       "admitted": not bid.late and bid.id not in superseded,
                       "files": opened_files})
    return {"consultation_id": consultation.id, "reference": consultation.reference,
            "bid_deadline": consultation.bid_deadline, "opened_at": consultation.opened_at,
            "opened_by": consultation.opened_by, "bids": listed}


def award(session, outbox, consultation, terms, awarded_by, now, today):
    """Awards a lot to an admitted bid and announces the contract's essential data (DECP) as
    ``contract.awarded``, in the same transaction."""
    if consultation.state not in (OPENED, AWARDED):
        raise Conflict("A lot is awarded after the opening of the bids.")
    if session.get(Award, (consultation.id, terms["lot"])) is not None:
        raise Conflict(f"Lot {terms['lot']} is awarded already.")
    bids = bids_of(session, consultation)
    superseded = superseded_ids(bids)
    chosen = next((b for b in bids if b.id == terms["bid_id"]), None)
    if chosen is None or chosen.lot != terms["lot"]:
        raise NotFound("No such bid for this lot.")
    if chosen.late or chosen.id in superseded:
        raise Invalid({"bid_id": ["Only a bid admitted at the opening can be chosen: this one "
                                  "was late or replaced by a later one."]})
    buyer = session.get(Buyer, consultation.buyer_id)
    if not buyer.siret:
        raise Conflict("The buyer's SIRET is not set (PUT …/procurement/buyer-page): the "
                       "contract's data names it.")
    contract = decp.award_event(
        {"reference": consultation.reference, "object": consultation.object,
         "procedure": consultation.procedure, "cpv_codes": consultation.cpv_codes,
         "lots": consultation.lots},
        terms["lot"],
        {**terms, "holder_siret": chosen.siret},
        {"kind": buyer.kind, "insee": buyer.insee, "siret": buyer.siret, "name": buyer.name},
        today)
    row = Award(consultation_id=consultation.id, lot=terms["lot"], bid_id=chosen.id,
                amount=terms["amount"], notified_on=terms["notified_on"],
                contract_id=contract["contract_id"],
                terms={"nature": terms["nature"], "price_form": terms["price_form"],
                       "duration_months": terms["duration_months"],
                       "place_code": terms["place_code"], "place_type": terms["place_type"]},
                awarded_at=now, awarded_by=awarded_by,
                retention_until=rules.retention_until(terms["notified_on"]))
    session.add(row)
    consultation.state = AWARDED
    session.flush()
    outbox.add(session, CONTRACT_AWARDED, contract, occurred_at=now,
               commune=consultation.commune)
    record(session, consultation, "awarded", awarded_by, now, lot=row.lot,
           bid_id=str(chosen.id), contract_id=row.contract_id)
    return row, chosen


def award_view(row, chosen):
    return {"lot": row.lot, "bid_id": row.bid_id, "holder_name": chosen.company_name,
            "holder_siret": chosen.siret, "amount": row.amount,
            "notified_on": row.notified_on, "contract_id": row.contract_id,
            "retention_until": row.retention_until}


def destroy_archive(session, consultation, decision, destroyed_by, today, now):
    """Destroys the offers' and the file's contents once every award's retention is over and
    a decision is recorded (R2184-12); what was kept and when stays in the history. Returns
    the fingerprints of the stored files to delete once this has committed."""
    retentions = [a.retention_until for a in session.scalars(
        select(Award).where(Award.consultation_id == consultation.id))]
    if not retentions:
        raise Conflict("Only an awarded consultation's archive is destroyed, after its "
                       "retention.")
    kept_until = max(retentions)
    if not rules.may_destroy(kept_until, today, decision):
        raise Conflict(f"The offers and files are kept until {kept_until:%d/%m/%Y} "
                       "(R2184-12), and destroyed only on a recorded decision.")
    stored = set()
    for bid in bids_of(session, consultation):
        for row in files_of(session, bid):
            if row.sealed_sha256:
                stored.add(row.sealed_sha256)
                row.sealed_sha256 = None
    for document in session.scalars(select(Document).where(
            Document.consultation_id == consultation.id)):
        stored.add(document.sha256)
    record(session, consultation, "archive_destroyed", destroyed_by, now, decision=decision)
    session.flush()
    return stored


def unreferenced(session, consultation, fingerprints):
    """Of ``fingerprints``, those no other consultation's file or bid still holds."""
    held = set(session.scalars(select(Document.sha256).where(
        Document.consultation_id != consultation.id, Document.sha256.in_(fingerprints))))
    held |= set(session.scalars(select(BidFile.sealed_sha256).where(
        BidFile.sealed_sha256.in_(fingerprints))))
    return set(fingerprints) - held
