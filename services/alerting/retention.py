"""How long TéléAlerte keeps whom it alerted."""

import uuid
from datetime import timedelta

from sqlalchemy import bindparam, func, select, update

from contracts.personal_data import ERASED
from services.alerting.campaigns import COMPLETED, STOPPED
from services.alerting.models import Campaign, Delivery

# A campaign's deliveries prove who was alerted, when and how (docs/alerting.md), for as long as
# the commune may be asked how it alerted: a year after the campaign ended. Then only the counts
# are needed, not the people (GDPR art. 5(1)(e), storage limitation).
DELIVERIES_RETENTION = timedelta(days=365)


def anonymise_old_deliveries(session, now):
    """Anonymises the deliveries of the campaigns that ended (completed or stopped) more than
    ``DELIVERIES_RETENTION`` before ``now``: the name, the address, the reply, the server's or
    operator's error and the operator's message id are cleared, and the contact's id is
    replaced by one that names no contact (distinct per recipient of the campaign, so that
    recipients are still counted). Status, channel, round, attempts, times, segments and
    seconds stay: the commune's record of how many were alerted. Returns how many deliveries
    were anonymised."""
    ended_at = func.coalesce(Campaign.completed_at, Campaign.stopped_at)
    ended = select(Campaign.id).where(Campaign.status.in_((COMPLETED, STOPPED)),
                                      ended_at < now - DELIVERIES_RETENTION)
    named = session.execute(
        select(Delivery.campaign_id, Delivery.recipient_id)
        .where(Delivery.campaign_id.in_(ended), Delivery.address != ERASED)).all()
    recipients = set(named)
    if recipients:
        deliveries = Delivery.__table__
        session.execute(
            update(deliveries)
            .where(deliveries.c.campaign_id == bindparam("campaign"),
                   deliveries.c.recipient_id == bindparam("recipient"))
            .values(name=ERASED, address=ERASED, reply=None, last_error=None,
                    operator_id=None, recipient_id=bindparam("nobody")),
            [{"campaign": campaign_id, "recipient": recipient_id, "nobody": uuid.uuid4()}
             for campaign_id, recipient_id in recipients])
    return len(named)
