"""Campaigns, on the caller's session: launched with one delivery per recipient and channel,
tracked by counts, paused, resumed, stopped and re-sent; the operator's receipts applied to
their deliveries; each settled campaign costed for billing; a campaign as a CAP 1.2 alert.

A launch reads the recipients a slice at a time and writes their deliveries as it goes, so
that a campaign to 100,000 people never holds them all. Sending is the dispatcher's
(``dispatch``): it takes the queued deliveries of running campaigns.

Timestamps a person reads (launched, completed) follow the service's clock; when a delivery is
next tried follows the wall clock, as the dispatcher does.
"""

import uuid
from datetime import UTC, datetime

from sqlalchemy import exists, func, insert, select, update

from contracts.errors import Conflict, Invalid, NotFound
from contracts.events import CAMPAIGN_COSTED
from contracts.personal_data import ERASED
from servicekit.clock import LEGAL_TIME_ZONE
from services.alerting import cap, recipients, rules
from services.alerting.models import Campaign, Contact, ContactGroup, Delivery
from services.alerting.operator import ACKNOWLEDGED, FAILED

RUNNING, PAUSED, STOPPED, COMPLETED = "running", "paused", "stopped", "completed"
SLICE = 1000
# The scenario's texts each channel sends.
TEMPLATES = {"sms": ("sms",), "voice": ("voice",), "email": ("email_subject", "email_body")}
# What tells a crisis cell's members and stakeholders by SMS that it is activated.
CELL_SCENARIO = {
    "slug": "cellule-de-crise", "title": "Activation de la cellule de crise",
    "event": "Cellule de crise", "category": "Safety", "severity": "Moderate",
    "urgency": "Immediate",
    "instruction": "Rejoignez la cellule de crise et suivez son journal sur TéléAlerte.",
    "sms": "Mairie de {{ commune }} : cellule de crise « {{ cellule }} » activée. Rejoignez-la ; "
           "journal sur TéléAlerte.",
}
CAP_SENDER = "telealerte@montpellier3m.fr"
CAP_SENDER_NAME = "Montpellier Méditerranée Métropole – TéléAlerte"


def _wall_clock():
    return datetime.now(UTC)


# -- launching


def launch(session, insee, commune_name, new, launched_by, idempotency_key, now, cell=None):
    """(A running campaign with its deliveries queued, True); the same ``idempotency_key``
    again gives (the campaign it launched first, False). ``cell``: the active crisis cell it
    is part of."""
    if idempotency_key is not None:
        earlier = session.scalar(select(Campaign).where(
            Campaign.commune == insee, Campaign.idempotency_key == idempotency_key))
        if earlier is not None:
            return earlier, False
    definition = recipients.scenario_definition(session, insee, new["scenario"])
    if definition is None:
        raise Invalid({"scenario": [f"No scenario {new['scenario']!r} in the library nor the "
                                    "commune's own."]})
    channels = list(dict.fromkeys(new["channels"]))
    without_text = [channel for channel in channels
                    if not all(definition.get(key) for key in TEMPLATES[channel])]
    if without_text:
        raise Invalid({"channels": [f"The scenario has no text for {', '.join(without_text)}."]})
    missing = rules.missing_variables(
        [definition.get(key) for channel in channels for key in TEMPLATES[channel]],
        new["variables"])
    if missing:
        raise Invalid({"variables": [f"The scenario needs a value for {', '.join(missing)}."]})
    if cell is not None and cell.closed_at is not None:
        raise Conflict("The crisis cell is closed: a campaign is launched from an active one.")
    campaign = _campaign(
        insee, definition, dict(new["variables"]), new["headline"] or definition["title"],
        new["area"] or commune_name, new["status"], list(dict.fromkeys(new["groups"])),
        channels, cell, launched_by, now, idempotency_key)
    session.add(campaign)
    session.flush()
    campaign.recipients = _queue_deliveries(session, campaign)
    if not campaign.recipients:
        raise Invalid({"groups": ["Nobody in these groups may be alerted on these channels."]})
    session.flush()
    return campaign, True


def alert_cell(session, cell, commune_name, accounts, stakeholders, groups, activated_by,
               now):
    """The SMS telling a crisis cell's members (alert ``accounts``) and its ``stakeholders``
    (contacts of ``groups``) that it is activated: a campaign of the cell, sent, tracked and
    costed as any. How many people it texts."""
    people = ([("account", account) for account in accounts if account.phone]
              + [("contact", contact) for contact in stakeholders if contact.phone])
    if not people:
        return 0
    campaign = _campaign(cell.commune, CELL_SCENARIO, {"cellule": cell.title},
                         f"Cellule de crise : {cell.title}"[:200], commune_name, "Actual",
                         list(groups), ["sms"], cell, activated_by, now)
    campaign.recipients = len(people)
    session.add(campaign)
    session.flush()
    queued_at = _wall_clock()
    session.execute(insert(Delivery), [{
        "campaign_id": campaign.id, "channel": "sms", "recipient_kind": kind,
        "recipient_id": person.id, "name": person.name, "address": person.phone,
        "status": rules.QUEUED, "attempts": 0, "round": 1, "next_attempt_at": queued_at,
    } for kind, person in people])
    return len(people)


def _campaign(insee, definition, variables, headline, area, cap_status, groups, channels, cell,
              launched_by, now, idempotency_key=None):
    return Campaign(
        id=uuid.uuid4(), commune=insee, scenario=definition["slug"], definition=definition,
        variables=variables, headline=headline, area=area, cap_status=cap_status,
        groups=groups, channels=channels, cell_id=cell.id if cell else None, status=RUNNING,
        round=1, recipients=0, sms_segments=0, voice_minutes=0, billed_segments=0,
        billed_minutes=0, idempotency_key=idempotency_key, launched_at=now,
        launched_by=launched_by)


def _queue_deliveries(session, campaign):
    """Queues a delivery per alertable contact of the campaign's groups and channel; how
    many people that is. A contact in several groups is met once (one row of ``contacts``)."""
    people = 0
    queued_at = _wall_clock()
    for contacts in _contact_slices(session, campaign.commune, campaign.groups):
        rows = []
        for contact in contacts:
            channels = rules.channels_for(recipients.as_rule_contact(contact), campaign.channels)
            people += bool(channels)
            rows.extend({
                "campaign_id": campaign.id, "channel": channel, "recipient_kind": "contact",
                "recipient_id": contact.id, "name": contact.name,
                "address": getattr(contact, rules.CHANNEL_ADDRESSES[channel]),
                "status": rules.QUEUED, "attempts": 0, "round": 1,
                "next_attempt_at": queued_at,
            } for channel in channels)
        if rows:
            # Core, not the ORM's bulk insert: a campaign to 100,000 people writes 200,000.
            session.connection().execute(insert(Delivery.__table__), rows)
    return people


def _contact_slices(session, insee, groups):
    """The contacts of ``groups``, each once, by slices of ``SLICE`` (keyset on the id): rows
    of columns, never ORM objects that the session would keep. Membership is a correlated
    EXISTS on the groups' primary key, so that each slice costs its own rows, not the whole
    register's."""
    # The commune is checked on the membership: on the contact, it would lead the database
    # to its commune index, then to sort the whole register again for each slice.
    member = exists().where(ContactGroup.contact_id == Contact.id,
                            ContactGroup.commune == insee, ContactGroup.name.in_(groups))
    query = (select(Contact.id, Contact.name, Contact.phone, Contact.email, Contact.kind,
                    Contact.consent, Contact.consent_method, Contact.unsubscribed_at)
             .where(member)
             .order_by(Contact.id).limit(SLICE))
    after = None
    while True:
        rows = session.execute(query if after is None
                               else query.where(Contact.id > after)).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


# -- reading


def campaign_of(session, insee, campaign_id):
    try:
        campaign = session.get(Campaign, uuid.UUID(str(campaign_id)))
    except ValueError:
        campaign = None
    if campaign is None or campaign.commune != insee:
        raise NotFound("No such campaign.")
    return campaign


def campaigns(session, insee):
    return session.scalars(select(Campaign).where(Campaign.commune == insee)
                           .order_by(Campaign.launched_at.desc(), Campaign.id)).all()


def counts(session, campaign_ids):
    """{campaign id: {channel: {status: count}}} of the deliveries."""
    found = {}
    rows = session.execute(
        select(Delivery.campaign_id, Delivery.channel, Delivery.status, func.count())
        .where(Delivery.campaign_id.in_(list(campaign_ids)))
        .group_by(Delivery.campaign_id, Delivery.channel, Delivery.status))
    for campaign_id, channel, status, count in rows:
        found.setdefault(campaign_id, {}).setdefault(channel, {})[status] = count
    return found


def _counted(by_status):
    counted = {status: by_status.get(status, 0) for status in rules.DELIVERY_STATUSES}
    return {**counted, "total": sum(counted.values())}


def campaign_view(campaign, by_channel, prices, commune_name):
    channels = {channel: _counted(by_channel.get(channel, {})) for channel in campaign.channels}
    totals = _counted({status: sum(c[status] for c in channels.values())
                       for status in rules.DELIVERY_STATUSES})
    sms = campaign.definition.get("sms") if "sms" in campaign.channels else None
    return {
        "id": campaign.id, "commune": campaign.commune, "scenario": campaign.scenario,
        "headline": campaign.headline, "status": campaign.status,
        "cap_status": campaign.cap_status, "groups": campaign.groups,
        "channels": campaign.channels, "area": campaign.area, "cell_id": campaign.cell_id,
        "recipients": campaign.recipients, "round": campaign.round, "counts": channels,
        "totals": totals,
        "sms_preview": rules.sms_preview(rules.personalised(
            sms, commune_name, "", campaign.variables)) if sms else None,
        "sms_segments": campaign.sms_segments, "voice_minutes": campaign.voice_minutes,
        "cost": rules.communication_cost(campaign.sms_segments, campaign.voice_minutes,
                                         *prices),
        "launched_at": campaign.launched_at, "launched_by": campaign.launched_by,
        "completed_at": campaign.completed_at, "stopped_at": campaign.stopped_at,
    }


def deliveries(session, campaign, channel=None, status=None, limit=100, offset=0):
    query = select(Delivery).where(Delivery.campaign_id == campaign.id)
    if channel:
        query = query.where(Delivery.channel == channel)
    if status:
        query = query.where(Delivery.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = session.scalars(query.order_by(Delivery.id).limit(limit).offset(offset)).all()
    return total, page


def delivery_view(delivery):
    return {"recipient_id": delivery.recipient_id, "recipient_kind": delivery.recipient_kind,
            "name": delivery.name, "channel": delivery.channel, "status": delivery.status,
            "attempts": delivery.attempts, "round": delivery.round,
            "sent_at": delivery.sent_at, "settled_at": delivery.settled_at,
            "last_error": delivery.last_error, "reply": delivery.reply}


# -- steering


def pause(campaign):
    _move(campaign, (RUNNING,), PAUSED, "Only a running campaign is paused.")


def resume(campaign):
    _move(campaign, (PAUSED,), RUNNING, "Only a paused campaign is resumed.")


def stop(campaign, now):
    """Nothing queued leaves any more; what left is still followed, and costed."""
    _move(campaign, (RUNNING, PAUSED), STOPPED, "The campaign is over already.")
    campaign.stopped_at = now


def _move(campaign, allowed, status, refusal):
    if campaign.status not in allowed:
        raise Conflict(f"{refusal} This one is {campaign.status}.")
    campaign.status = status


def resend(session, campaign):
    """Those not reached — failed, or still queued when the campaign was stopped — get it
    again, as a new round with fresh tries; not those whose address was erased since
    (``personal_data``, ``retention``)."""
    if campaign.status not in (COMPLETED, STOPPED):
        raise Conflict(f"A campaign is re-sent once it completed or was stopped; this one is "
                       f"{campaign.status}.")
    again = session.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign.id,
               Delivery.status.in_((rules.FAILED, rules.QUEUED)), Delivery.address != ERASED)
        .values(status=rules.QUEUED, attempts=0, round=campaign.round + 1, operator_id=None,
                last_error=None, sent_at=None, settled_at=None, checked_at=None,
                next_attempt_at=_wall_clock())).rowcount
    if not again:
        raise Conflict("Every recipient was reached: nothing to re-send.")
    campaign.round += 1
    campaign.status = RUNNING
    campaign.completed_at = campaign.stopped_at = None
    session.flush()
    return again


# -- receipts


def apply_receipt(session, receipt, now, retry_delay):
    """Applies an operator's receipt (``operator.Receipt``) to the deliveries it is about;
    whether it changed anything. A delivery's status never moves back, a receipt twice counts
    once, and a temporary failure queues the delivery again while it has tries left."""
    if receipt.status == ACKNOWLEDGED:
        return _acknowledge(session, receipt, now)
    found = _receipt_deliveries(session, receipt)
    changed = False
    for delivery in found:
        if delivery.operator_id is None:
            # The receipt came before the dispatcher recorded what it sent.
            delivery.operator_id = receipt.operator_id
        if receipt.channel == "voice" and receipt.seconds and delivery.seconds is None:
            delivery.seconds = receipt.seconds
            _add_minutes(session, delivery.campaign_id, rules.voice_minutes([receipt.seconds]))
            changed = True
        if not rules.receipt_applies(delivery.status, receipt.status):
            continue
        changed = True
        if receipt.status == FAILED:
            delivery.last_error = f"{receipt.operator_status} ({receipt.code})"[:500]
            if rules.retries_after(receipt.permanent, max(delivery.attempts, 1)):
                delivery.status = rules.QUEUED
                delivery.operator_id = None
                delivery.next_attempt_at = _wall_clock() + retry_delay
                continue
        delivery.status = receipt.status
        if receipt.status != rules.SENT:
            delivery.settled_at = now
    session.flush()
    return changed


def _receipt_deliveries(session, receipt):
    """The deliveries a receipt is about: those sent under its operator id, else (a receipt
    faster than the dispatcher's record of its sending) the delivery a call names in its
    ``custom``, or the campaign's SMS to its number named by the batch's client reference."""
    found = session.scalars(select(Delivery).where(
        Delivery.operator_id == receipt.operator_id, Delivery.channel == receipt.channel)).all()
    if found:
        return found
    if receipt.channel == "voice" and receipt.recipient_id and receipt.recipient_id.isdigit():
        delivery = session.get(Delivery, int(receipt.recipient_id))
        return [delivery] if delivery is not None and delivery.operator_id is None else []
    try:
        campaign_id = uuid.UUID(str(receipt.client_reference))
    except ValueError:
        return []
    return session.scalars(select(Delivery).where(
        Delivery.campaign_id == campaign_id, Delivery.channel == "sms",
        Delivery.address == receipt.number, Delivery.operator_id.is_(None),
        Delivery.status == rules.QUEUED)).all()


def _acknowledge(session, receipt, now):
    """A reply to an SMS acknowledges the last one sent to that number."""
    delivery = session.scalar(
        select(Delivery).where(Delivery.channel == "sms", Delivery.address == receipt.number,
                               Delivery.status.in_((rules.SENT, rules.DELIVERED)))
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc()).limit(1))
    if delivery is None:
        return False
    delivery.status = rules.ACKNOWLEDGED
    delivery.reply = (receipt.text or "")[:500]
    delivery.settled_at = now
    session.flush()
    return True


def _add_minutes(session, campaign_id, minutes):
    session.execute(update(Campaign).where(Campaign.id == campaign_id)
                    .values(voice_minutes=Campaign.voice_minutes + minutes))


# -- settling and costing


def settle(session, outbox, prices, now, today):
    """Completes the running campaigns with nothing queued or awaiting its receipt, and
    costs, for billing, what each completed or stopped campaign sent since its last costing
    (Art. 2: the commune bears it) once no call of it is still under way. The costs
    published, as (campaign, amount)."""
    unsettled = exists().where(Delivery.campaign_id == Campaign.id,
                               Delivery.status.in_((rules.QUEUED, rules.SENT)))
    for campaign in session.scalars(select(Campaign).where(Campaign.status == RUNNING,
                                                           ~unsettled)):
        campaign.status, campaign.completed_at = COMPLETED, now
    calls_under_way = exists().where(Delivery.campaign_id == Campaign.id,
                                     Delivery.channel == "voice",
                                     Delivery.status == rules.SENT)
    costed = []
    for campaign in session.scalars(select(Campaign).where(
            Campaign.status.in_((COMPLETED, STOPPED)), ~calls_under_way,
            (Campaign.sms_segments != Campaign.billed_segments)
            | (Campaign.voice_minutes != Campaign.billed_minutes))):
        segments = campaign.sms_segments - campaign.billed_segments
        minutes = campaign.voice_minutes - campaign.billed_minutes
        amount = rules.communication_cost(segments, minutes, *prices)
        campaign.billed_segments, campaign.billed_minutes = (campaign.sms_segments,
                                                             campaign.voice_minutes)
        outbox.add(session, CAMPAIGN_COSTED, {
            "cost_id": uuid.uuid4(), "campaign_id": campaign.id, "commune": campaign.commune,
            "headline": campaign.headline,
            "launched_on": campaign.launched_at.astimezone(LEGAL_TIME_ZONE).date(),
            "costed_on": today, "sms_segments": segments, "voice_minutes": minutes,
            "amount": amount,
        }, now, commune=campaign.commune)
        costed.append((campaign, amount))
    session.flush()
    return costed


# -- CAP


def cap_alert(campaign, commune_name):
    """The campaign as a CAP 1.2 alert, validated against the schema (``cap``)."""
    definition = campaign.definition
    return cap.cap_alert(cap.CapCampaign(
        identifier=f"urn:communs:telealerte:{campaign.commune}:{campaign.id}",
        sender=CAP_SENDER, sender_name=f"{CAP_SENDER_NAME} – {commune_name}",
        sent=campaign.launched_at, status=campaign.cap_status,
        categories=(definition["category"],), event=definition["event"],
        urgency=definition["urgency"], severity=definition["severity"],
        certainty="Likely" if campaign.cap_status == "Actual" else "Unknown",
        headline=campaign.headline, area_desc=campaign.area,
        insee_codes=(campaign.commune,),
        **_cap_texts(campaign, commune_name)))


def _cap_texts(campaign, commune_name):
    definition = campaign.definition
    texts = {"instruction": rules.personalised(definition["instruction"], commune_name, "",
                                               campaign.variables)}
    body = definition.get("sms") or definition.get("voice")
    if body:
        texts["description"] = rules.personalised(body, commune_name, "", campaign.variables)
    return texts

