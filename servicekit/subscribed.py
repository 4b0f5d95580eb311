"""Whether a commune may use an application today: each application service keeps what
subscriptions announced (``subscription.changed``, ``convention.terminated``) and answers from
it, without calling subscriptions. The rule itself is ``contracts.subscriptions.subscribers_on``,
the one billing applies on 1 January."""

from sqlalchemy import insert, select

from contracts.catalogue import APPLICATIONS
from contracts.communes import is_member
from contracts.errors import Forbidden, NotFound
from contracts.subscriptions import Change, subscribers_on
from servicekit.inbox import event_handler, idempotent
from servicekit.tables import subscription_changes, terminations

_NAMES = {application.code: application.name for application in APPLICATIONS}


# Built once: seven services record every change, each the moment it is decided.
_RECORD_CHANGE = insert(subscription_changes)


def record_change(session, event_id, data, occurred_at):
    """Keeps a ``subscription.changed`` fact once (the inbox already drops redeliveries)."""
    session.execute(_RECORD_CHANGE, {
        "event_id": event_id,
        "commune": data["commune"],
        "application": data["application"],
        "change": data["change"],
        "effective_from": data["effective_from"],
        "occurred_at": occurred_at,
    })


def record_termination(session, data):
    """Keeps the earliest termination notified for the commune."""
    known = session.scalar(
        select(terminations.c.effective_on).where(terminations.c.commune == data["commune"])
    )
    if known is None:
        session.execute(insert(terminations).values(commune=data["commune"],
                                                    effective_on=data["effective_on"]))
    elif data["effective_on"] < known:
        session.execute(
            terminations.update()
            .where(terminations.c.commune == data["commune"])
            .values(effective_on=data["effective_on"])
        )


def is_subscribed(session, commune, application, day):
    """Art. 9 and 10: the commune subscribes to ``application`` on ``day``."""
    rows = session.execute(
        select(subscription_changes).where(
            subscription_changes.c.commune == commune,
            subscription_changes.c.application == application,
        )
    )
    changes = [Change(r.commune, r.application, r.change, r.effective_from, r.occurred_at,
                      r.event_id) for r in rows]
    terminated_on = session.scalar(
        select(terminations.c.effective_on).where(terminations.c.commune == commune)
    )
    subscribers = subscribers_on(day, changes, {commune: terminated_on} if terminated_on else {})
    return commune in subscribers.get(application, ())


def require_subscription(session, commune, application, day):
    """``Forbidden`` naming the missing subscription, for a commune that does not subscribe."""
    if not is_subscribed(session, commune, application, day):
        raise Forbidden(
            f"Commune {commune} does not subscribe to {_NAMES[application]} ({application}) "
            f"on {day:%d/%m/%Y}: it may ask for it (Art. 9)."
        )


class FollowsSubscriptions:
    """What an application service inherits to know which communes subscribe to it: the
    handlers of subscriptions' events, and ``require_subscribed`` for its commune-scoped
    calls. The service sets ``application`` to its code of Article 1."""

    application = None

    @event_handler("subscriptions", "subscription.changed")
    @idempotent
    def on_subscription_changed(self, session, event):
        record_change(session, event.event_id, event.data, event.occurred_at)

    @event_handler("subscriptions", "convention.terminated")
    @idempotent
    def on_convention_terminated(self, session, event):
        record_termination(session, event.data)

    def require_subscribed(self, session, insee):
        """``NotFound`` for a code that is no member commune, ``Forbidden`` for a member
        that does not subscribe today."""
        if not is_member(insee):
            raise NotFound("No such member commune.")
        require_subscription(session, insee, self.application, self.clock.today())
