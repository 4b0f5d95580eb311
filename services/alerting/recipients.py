"""A commune's alert accounts, recipients, groups and scenarios, on the caller's session."""

import csv
import io
import uuid

from charset_normalizer import from_bytes
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict, Invalid, NotFound
from contracts.personal_data import ERASED
from services.alerting import library, rules
from services.alerting.models import AlertAccount, Contact, ContactGroup, Scenario

CONTACT_FIELDS = ("name", "phone", "email", "address", "language", "kind", "consent",
                  "consent_method")


# -- accounts (Art. 2)


def create_account(session, insee, new, created_by, now):
    existing = session.scalar(select(func.count()).where(AlertAccount.commune == insee))
    refusal = rules.account_refusal(existing)
    if refusal:
        raise Conflict(refusal)
    phone = None
    if new["phone"]:
        try:
            phone = rules.e164(new["phone"])
        except ValueError as error:
            raise Invalid({"phone": [str(error)]}) from None
    account = AlertAccount(id=uuid.uuid4(), commune=insee, name=new["name"],
                           email=new["email"], phone=phone, function=new["function"],
                           created_at=now, created_by=created_by)
    session.add(account)
    session.flush()
    return account


def accounts(session, insee):
    return session.scalars(select(AlertAccount).where(AlertAccount.commune == insee)
                           .order_by(AlertAccount.created_at, AlertAccount.id)).all()


def account_view(account):
    return {"id": account.id, "commune": account.commune, "name": account.name,
            "email": account.email, "phone": account.phone, "function": account.function,
            "created_at": account.created_at}


# -- contacts


def read_csv(content):
    """The rows of an uploaded CSV, whatever its encoding and delimiter."""
    best = from_bytes(content).best()
    text = str(best) if best is not None else content.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;")
    except csv.Error:
        dialect = csv.excel
    return list(csv.DictReader(io.StringIO(text), dialect=dialect))


def import_contacts(session, insee, content, now):
    """Inserts, updates and deletes the commune's contacts as the file says, in one
    transaction; each refused row is reported, and the others go in whole."""
    rows = read_csv(content)
    existing = {c.external_id: c for c in session.scalars(
        select(Contact).where(Contact.commune == insee))}
    plan = rules.plan_import(rows, set(existing),
                             {c.external_id for c in existing.values() if erased(c)})
    for values in plan.inserts:
        contact = Contact(id=uuid.uuid4(), commune=insee, external_id=values["external_id"],
                          groups=[], updated_at=now)
        session.add(contact)
        _set(session, contact, values, now)
    for values in plan.updates:
        _set(session, existing[values["external_id"]], values, now)
    for external_id in plan.deletes:
        contact = existing[external_id]
        session.execute(delete(ContactGroup).where(ContactGroup.contact_id == contact.id))
        session.delete(contact)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("Another import of this commune's contacts ran at the same time: send "
                       "the file again.") from None
    return {"inserted": len(plan.inserts), "updated": len(plan.updates),
            "deleted": len(plan.deletes), "rejected": plan.rejected}


def _set(session, contact, values, now):
    for name in CONTACT_FIELDS:
        setattr(contact, name, values[name])
    contact.groups = values["groups"]
    contact.updated_at = now
    session.flush()
    session.execute(delete(ContactGroup).where(ContactGroup.contact_id == contact.id))
    session.add_all(ContactGroup(contact_id=contact.id, commune=contact.commune, name=group)
                    for group in dict.fromkeys(values["groups"]))


def as_rule_contact(contact):
    """A contact (an ORM row or a selected row of its columns) as the rules read one."""
    return {"id": contact.id, "kind": contact.kind, "consent": contact.consent,
            "consent_method": contact.consent_method,
            "consent_withdrawn_at": contact.unsubscribed_at, "phone": contact.phone,
            "email": contact.email}


def erased(contact):
    """Whether the person's data was erased at their request (``personal_data.anonymise``)."""
    return contact.name == ERASED


def alertable(contact):
    return rules.may_alert(as_rule_contact(contact))


def contact_view(contact):
    return {"id": contact.id, "external_id": contact.external_id, "name": contact.name,
            "phone": contact.phone, "email": contact.email, "address": contact.address,
            "language": contact.language, "kind": contact.kind, "groups": contact.groups,
            "consent": contact.consent, "consent_method": contact.consent_method,
            "unsubscribed_at": contact.unsubscribed_at, "alertable": alertable(contact)}


def contacts(session, insee, group=None, limit=100, offset=0):
    query = select(Contact).where(Contact.commune == insee)
    if group:
        query = query.join(ContactGroup, ContactGroup.contact_id == Contact.id).where(
            ContactGroup.name == group)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = session.scalars(query.order_by(Contact.external_id).limit(limit)
                           .offset(offset)).all()
    return total, page


def unsubscribe(session, insee, contact_id, now):
    """The contact asked to receive nothing more: honoured from now on."""
    try:
        contact = session.get(Contact, uuid.UUID(str(contact_id)))
    except ValueError:
        contact = None
    if contact is None or contact.commune != insee:
        raise NotFound("No such contact.")
    if contact.unsubscribed_at is None:
        contact.unsubscribed_at = now
    session.flush()
    return contact


def groups(session, insee):
    rows = session.execute(
        select(ContactGroup.name, Contact).join(Contact, Contact.id == ContactGroup.contact_id)
        .where(ContactGroup.commune == insee)).all()
    counts = {}
    for name, contact in rows:
        total, reachable = counts.get(name, (0, 0))
        counts[name] = (total + 1, reachable + alertable(contact))
    return [{"name": name, "contacts": total, "alertable": reachable}
            for name, (total, reachable) in sorted(counts.items())]


# -- scenarios


def scenario_view(definition, commune):
    sms = definition.get("sms")
    texts = [definition.get(k) or "" for k in ("sms", "email_subject", "email_body", "voice")]
    return {**definition, "commune": commune,
            "placeholders": sorted(set().union(*(rules.placeholders(t) for t in texts))),
            "sms_preview": rules.sms_preview(sms) if sms else None}


def scenarios(session, insee):
    own = session.scalars(select(Scenario).where(Scenario.commune == insee)
                          .order_by(Scenario.slug)).all()
    return ([scenario_view(s, None) for s in library.LIBRARY]
            + [scenario_view(s.definition, insee) for s in own])


def scenario_definition(session, insee, slug):
    """The scenario ``slug`` of the library or of the commune's own; ``None`` if neither."""
    for definition in library.LIBRARY:
        if definition["slug"] == slug:
            return dict(definition)
    own = session.scalar(select(Scenario).where(Scenario.commune == insee, Scenario.slug == slug))
    return dict(own.definition) if own is not None else None


def add_scenario(session, insee, definition, now):
    if any(s["slug"] == definition["slug"] for s in library.LIBRARY):
        raise Conflict(f"The library has a scenario {definition['slug']!r} already.")
    session.add(Scenario(id=uuid.uuid4(), commune=insee, slug=definition["slug"],
                         definition=definition, created_at=now))
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"The commune has a scenario {definition['slug']!r} already.") from None
    return scenario_view(definition, insee)
