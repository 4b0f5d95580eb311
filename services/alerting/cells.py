"""Crisis cells, on the caller's session: activated with their members — the commune's alert
accounts — and the stakeholders of the groups named (emergency services…) told first, by
e-mail in the same transaction and by SMS (a campaign of the cell, sent and tracked as any);
a log of decisions and messages; a closing with its summary."""

import uuid

from sqlalchemy import select

from contracts.errors import Conflict, Invalid, NotFound
from servicekit.mail import Notice
from services.alerting import campaigns, recipients
from services.alerting.models import CellLogEntry, Contact, ContactGroup, CrisisCell


def _log(session, cell, kind, author, text, now):
    session.add(CellLogEntry(cell_id=cell.id, at=now, kind=kind, author=author, text=text))


def activation_notice(commune_name, cell):
    return Notice(f"Cellule de crise activée – {cell.title}",
                  f"La cellule de crise « {cell.title} » de {commune_name} est activée.\n\n"
                  "Rejoignez-la et suivez son journal sur TéléAlerte.\n")


def activate(session, postbox, insee, commune_name, new, activated_by, now):
    """One active cell per commune at a time; its members and stakeholders are e-mailed at
    once (through the postbox: sent once this commits) and sent an SMS, those with a phone."""
    if session.scalar(select(CrisisCell.id).where(CrisisCell.commune == insee,
                                                  CrisisCell.closed_at.is_(None))):
        raise Conflict("A crisis cell of the commune is active: close it first.")
    accounts = recipients.accounts(session, insee)
    if new["members"] is not None:
        wanted = set(new["members"])
        accounts = [a for a in accounts if a.id in wanted]
        if len(accounts) != len(wanted):
            raise Invalid({"members": ["Only the commune's alert accounts are members."]})
    stakeholders = _stakeholders(session, insee, new["stakeholder_groups"])
    cell = CrisisCell(id=uuid.uuid4(), commune=insee, title=new["title"],
                      scenario=new["scenario"],
                      members=[{"id": str(a.id), "name": a.name} for a in accounts],
                      stakeholders_notified=len(stakeholders), activated_at=now)
    session.add(cell)
    session.flush()
    _log(session, cell, "activation", activated_by, f"Activation : {cell.title}", now)
    notice = activation_notice(commune_name, cell)
    for address in sorted({a.email for a in accounts}
                          | {c.email for c in stakeholders if c.email}):
        postbox.add(session, address, notice.subject, notice.text)
    texted = campaigns.alert_cell(session, cell, commune_name, accounts, stakeholders,
                                  new["stakeholder_groups"], activated_by, now)
    _log(session, cell, "notified", None,
         f"{len(accounts)} membre(s) et {len(stakeholders)} acteur(s) prévenus par courriel"
         + (f", {texted} par SMS" if texted else ""), now)
    session.flush()
    return cell


def _stakeholders(session, insee, groups):
    """The alertable contacts of ``groups``, each once."""
    if not groups:
        return []
    members = select(ContactGroup.contact_id).where(ContactGroup.commune == insee,
                                                    ContactGroup.name.in_(groups))
    contacts = session.scalars(select(Contact).where(Contact.id.in_(members))
                               .order_by(Contact.external_id)).all()
    return [c for c in contacts if recipients.alertable(c)]


def cell_of(session, insee, cell_id):
    try:
        cell = session.get(CrisisCell, uuid.UUID(str(cell_id)))
    except ValueError:
        cell = None
    if cell is None or cell.commune != insee:
        raise NotFound("No such crisis cell.")
    return cell


def record(session, cell, entry, author, now):
    if cell.closed_at is not None:
        raise Conflict("The crisis cell is closed: its log is complete.")
    _log(session, cell, entry["kind"], author, entry["text"], now)
    session.flush()


def close(session, cell, summary, closed_by, now):
    if cell.closed_at is not None:
        raise Conflict("The crisis cell is closed already.")
    cell.closed_at = now
    _log(session, cell, "closing", closed_by, summary, now)
    session.flush()


def cells(session, insee):
    return session.scalars(select(CrisisCell).where(CrisisCell.commune == insee)
                           .order_by(CrisisCell.activated_at.desc())).all()


def cell_view(session, cell):
    log = session.scalars(select(CellLogEntry).where(CellLogEntry.cell_id == cell.id)
                          .order_by(CellLogEntry.id)).all()
    return {"id": cell.id, "commune": cell.commune, "title": cell.title,
            "scenario": cell.scenario,
            "status": "active" if cell.closed_at is None else "closed",
            "activated_at": cell.activated_at, "closed_at": cell.closed_at,
            "members": cell.members, "stakeholders_notified": cell.stakeholders_notified,
            "log": [{"at": e.at, "kind": e.kind, "author": e.author, "text": e.text}
                    for e in log]}
