"""A commune's online services: the catalogue's forms it offers, its branding, and the custom
forms the Metropole integrates for it (Art. 2 and 3), on the caller's session."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict, Invalid, NotFound
from contracts.eservices import AttachmentDefinitionSchema, FieldDefinitionSchema
from contracts.events import CUSTOM_FORM_INTEGRATED
from services.eservices import catalogue, rules
from services.eservices.models import CATALOGUE_SCOPE, Activation, Branding, FormDefinition

BRANDING_FIRST = ("The Metropole sets up the commune's branding and contact details first "
                  "(PUT …/eservices/branding): every acknowledgement names them.")


def ensure_catalogue(session, now):
    """Stores each catalogue definition's version not stored yet; returns how many."""
    stored = set(session.execute(
        select(FormDefinition.slug, FormDefinition.version)
        .where(FormDefinition.scope == CATALOGUE_SCOPE)).all())
    added = 0
    for definition in catalogue.CATALOGUE:
        if (definition["slug"], definition["version"]) not in stored:
            session.add(FormDefinition(scope=CATALOGUE_SCOPE, slug=definition["slug"],
                                       version=definition["version"], definition=definition,
                                       created_at=now))
            added += 1
    session.flush()
    return added


def _latest(session, scope, slug=None):
    """The newest version of each form of ``scope`` (of ``slug`` only, when given)."""
    newest = (select(FormDefinition.slug, func.max(FormDefinition.version).label("version"))
              .where(FormDefinition.scope == scope).group_by(FormDefinition.slug))
    if slug is not None:
        newest = newest.where(FormDefinition.slug == slug)
    newest = newest.subquery()
    return session.scalars(
        select(FormDefinition)
        .join(newest, (FormDefinition.slug == newest.c.slug)
              & (FormDefinition.version == newest.c.version))
        .where(FormDefinition.scope == scope)
        .order_by(FormDefinition.slug)).all()


def catalogue_forms(session):
    return [row.definition for row in _latest(session, CATALOGUE_SCOPE)]


def commune_forms(session, insee, include_inactive=False):
    """The forms ``insee`` offers (all the catalogue's, with their state, for its agents)."""
    active = dict(session.execute(
        select(Activation.slug, Activation.active).where(Activation.commune == insee)).all())
    forms = [{**row.definition, "active": active.get(row.slug, False)}
             for row in _latest(session, CATALOGUE_SCOPE)]
    forms += [{**row.definition, "active": True} for row in _latest(session, insee)]
    return [form for form in forms if include_inactive or form["active"]]


def form_to_fill(session, insee, slug):
    """The row of the version of ``slug`` a citizen of ``insee`` fills now; ``NotFound`` when
    the commune does not offer it."""
    custom = _latest(session, insee, slug)
    if custom:
        return custom[0]
    offered = session.get(Activation, (insee, slug))
    found = _latest(session, CATALOGUE_SCOPE, slug)
    if not found or offered is None or not offered.active:
        raise NotFound(f"The commune does not offer the form {slug!r}.")
    return found[0]


def set_activation(session, insee, slug, active, by, now):
    if not _latest(session, CATALOGUE_SCOPE, slug):
        raise NotFound(f"No form {slug!r} in the catalogue.")
    if active and session.get(Branding, insee) is None:
        raise Conflict(BRANDING_FIRST)
    activation = session.get(Activation, (insee, slug))
    if activation is None:
        activation = Activation(commune=insee, slug=slug)
        session.add(activation)
    activation.active, activation.changed_at, activation.changed_by = active, now, by
    session.flush()
    return {**_latest(session, CATALOGUE_SCOPE, slug)[0].definition, "active": active}


def branding_of(session, insee):
    branding = session.get(Branding, insee)
    if branding is None:
        raise NotFound("The commune's branding is not set up yet.")
    return branding


def branding_view(branding):
    return {"commune": branding.commune, "name": branding.name, "logo_url": branding.logo_url,
            "primary_colour": branding.primary_colour,
            "secondary_colour": branding.secondary_colour, "contact": branding.contact,
            "updated_at": branding.updated_at}


def set_branding(session, insee, branding, by, now):
    row = session.get(Branding, insee)
    if row is None:
        row = Branding(commune=insee)
        session.add(row)
    row.name, row.logo_url = branding["name"], branding["logo_url"]
    row.primary_colour, row.secondary_colour = (branding["primary_colour"],
                                                branding["secondary_colour"])
    row.contact = branding["contact"]
    row.updated_at, row.updated_by = now, by
    session.flush()
    return row


def create_custom_form(session, outbox, insee, new_form, by, now, today):
    """The Metropole integrates a form outside the catalogue for ``insee``: free the first
    time, billable work from the second on (Art. 2, 3), announced to billing by
    ``custom_form.integrated`` in the same transaction."""
    if _latest(session, CATALOGUE_SCOPE, new_form["slug"]) or _latest(session, insee,
                                                                       new_form["slug"]):
        raise Conflict(f"The commune already has a form {new_form['slug']!r}.")
    if session.get(Branding, insee) is None:
        raise Conflict(BRANDING_FIRST)
    number = 1 + session.scalar(
        select(func.count()).where(FormDefinition.scope == insee,
                                   FormDefinition.version == 1))
    billable = rules.integration_is_billable(number)
    price = new_form.get("integration_price")
    if billable and price is None:
        raise Invalid({"integration_price": [
            f"This is the commune's custom form no. {number}: only the first is free "
            "(Art. 2); state the price of its integration."]})
    definition = {
        "slug": new_form["slug"], "version": 1, "title": new_form["title"],
        "description": new_form["description"], "category": "custom", "kind": "custom",
        "handling_service": new_form["handling_service"],
        "retention_days": new_form["retention_days"],
        # Stored in their wire form: JSON holds no Decimal.
        "fields": FieldDefinitionSchema(many=True).dump(new_form["fields"]),
        "attachments": AttachmentDefinitionSchema(many=True).dump(new_form["attachments"]),
        "transitions": list(catalogue.STANDARD_TRANSITIONS), "commune": insee,
    }
    row = FormDefinition(id=uuid.uuid4(), scope=insee, slug=new_form["slug"], version=1,
                         definition=definition, created_at=now, created_by=by,
                         integration_number=number,
                         integration_price=price if billable else None, billable=billable)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"The commune already has a form {new_form['slug']!r}.") from None
    outbox.add(session, CUSTOM_FORM_INTEGRATED, {
        "form_id": row.id, "commune": insee, "slug": row.slug, "title": new_form["title"],
        "integration_number": number, "billable": billable,
        "price": row.integration_price, "integrated_on": today,
    }, occurred_at=now, commune=insee)
    return row


def custom_form_view(row):
    return {**row.definition, "active": True, "integration_number": row.integration_number,
            "billable": row.billable, "integration_price": row.integration_price}


def custom_forms(session, insee):
    return session.scalars(select(FormDefinition).where(FormDefinition.scope == insee)
                           .order_by(FormDefinition.created_at)).all()
