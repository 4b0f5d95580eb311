"""What TéléAlerte holds of a citizen: the contacts communes imported with the address the
citizen confirmed, and the messages campaigns sent them. Contacts are the communes' own
registers, known by address and not by account: an export finds them by the confirmed
address, an erasure by the digest ``account.deleted`` carries."""

from sqlalchemy import delete, func, select, update

from contracts.personal_data import ERASED, email_digest
from services.alerting import recipients
from services.alerting.models import Campaign, Contact, ContactGroup, Delivery
from services.alerting.rules import CONTACT_KINDS, FAILED, QUEUED

RESIDENT = CONTACT_KINDS[0]
ERASED_BEFORE_SENDING = "The recipient's data was erased at their request before sending."


def export_of(session, email):
    """The contacts holding the address in any commune, and every message sent to them."""
    if not email:
        return {"contacts": [], "deliveries": []}
    contacts = session.scalars(select(Contact).where(
        func.lower(Contact.email) == email.strip().lower())
        .order_by(Contact.commune, Contact.id)).all()
    deliveries = session.execute(
        select(Delivery, Campaign.commune, Campaign.headline)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.recipient_id.in_([c.id for c in contacts]))
        .order_by(Delivery.id)).all() if contacts else []
    return {
        "contacts": [{**recipients.contact_view(c), "commune": c.commune} for c in contacts],
        "deliveries": [{"campaign_id": d.campaign_id, "commune": commune, "headline": headline,
                        "channel": d.channel, "address": d.address, "status": d.status,
                        "reply": d.reply, "sent_at": d.sent_at}
                       for d, commune, headline in deliveries],
    }


def anonymise(session, digest, now):
    """GDPR art. 17(1)(b): a resident is alerted on their consent, which the deletion of
    their account withdraws. Their contacts stay in the communes' registers, counted, without
    name, phone, e-mail, address or groups (a heat-wave register reveals age or disability);
    the commune's own id for them stays, so that an import of a register still holding them
    does not bring them back (``rules.plan_import``); the messages
    sent to them keep their outcome, not their address nor the answer. A staff or service
    contact is the commune's, alerted by duty, and stays. Returns the contacts erased."""
    if digest is None:
        return 0
    erased = [c for c in session.scalars(select(Contact).where(
        Contact.kind == RESIDENT, Contact.email.is_not(None)))
        if email_digest(c.email) == digest]
    for contact in erased:
        contact.name = ERASED
        contact.phone = contact.email = contact.address = contact.consent_method = None
        contact.consent = False
        contact.groups = []
        contact.unsubscribed_at = contact.unsubscribed_at or now
        contact.updated_at = now
    ids = [c.id for c in erased]
    if ids:
        session.execute(delete(ContactGroup).where(ContactGroup.contact_id.in_(ids)))
        session.execute(update(Delivery).where(
            Delivery.recipient_id.in_(ids), Delivery.status == QUEUED)
            .values(status=FAILED, last_error=ERASED_BEFORE_SENDING))
        session.execute(update(Delivery).where(Delivery.recipient_id.in_(ids))
                        .values(name=ERASED, address=ERASED, reply=None))
    session.flush()
    return len(erased)
