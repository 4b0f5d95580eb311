"""The subscriptions database: communes, conventions, subscriptions, requests and terminations.

Plain functions of a session, tested without a broker. Every accepted change is announced
through the outbox in the same transaction; the rules themselves are in ``rules``.
"""

import uuid

from sqlalchemy import func, select

from contracts.communes import MEMBER_COMMUNES
from contracts.errors import Conflict, Invalid, NotFound
from contracts.events import (
    COMMUNE_UPDATED,
    CONVENTION_AMENDED,
    CONVENTION_REGISTERED,
    CONVENTION_TERMINATED,
    POPULATION_UPDATED,
    SUBSCRIPTION_CHANGED,
)
from contracts.identity import METROPOLE_ADMIN
from contracts.subscriptions import ACCEPTED, ADD, PENDING, REFUSED
from services.subscriptions import rules
from services.subscriptions.models import (
    Amendment,
    Commune,
    Convention,
    ConventionApplication,
    Population,
    Subscription,
    SubscriptionRequest,
    Termination,
)

# -- communes and populations -------------------------------------------------------------------


class SeedMismatch(Exception):
    """The communes of the data file are not the 31 member communes."""


def is_seeded(session):
    return session.scalar(select(func.count()).select_from(Commune)) > 0


def seed_communes(session, outbox, rows, now):
    """Stores the member communes and their populations from ``rows`` (the data file's), each
    population announced by ``population.updated``."""
    codes = {row["insee_code"] for row in rows}
    if len(codes) != len(rows) or codes != set(MEMBER_COMMUNES):
        raise SeedMismatch(
            f"the data file lists {sorted(codes ^ set(MEMBER_COMMUNES))} unlike contracts.communes"
        )
    for row in sorted(rows, key=lambda row: row["insee_code"]):
        session.add(Commune(insee=row["insee_code"], name=row["name"], siren=row["siren"]))
        session.flush()
        _store_population(
            session,
            outbox,
            row["insee_code"],
            {"vintage": int(row["population_vintage"]), "population": int(row["population"])},
            now,
        )
    return len(rows)


def commune(session, insee, lock=False):
    """The member commune ``insee``; ``lock`` holds its row until the transaction ends, so that
    changes to one commune's subscriptions (decisions, terminations) run one after the other
    and each checks the rules against what the previous one committed (PostgreSQL)."""
    found = session.get(Commune, insee, with_for_update=lock)
    if found is None:
        raise NotFound("No such member commune.")
    return found


def _found(session, model, object_id, not_found, insee=None):
    """The ``model`` row of id ``object_id``, else ``NotFound(not_found)``. Given ``insee``,
    another commune's row is as unknown as a wrong id: a commune never sees another's."""
    try:
        found = session.get(model, uuid.UUID(str(object_id)))
    except ValueError:
        found = None
    if found is None or (insee is not None and found.insee != insee):
        raise NotFound(not_found)
    return found


def commune_view(session, found):
    populations = session.scalars(
        select(Population).where(Population.insee == found.insee).order_by(Population.vintage)
    )
    subscriptions = session.scalars(
        select(Subscription)
        .where(Subscription.insee == found.insee)
        .order_by(Subscription.effective_from, Subscription.application, Subscription.id)
    )
    return {
        "insee": found.insee,
        "name": found.name,
        "siren": found.siren,
        "siret": found.siret,
        "populations": [{"vintage": p.vintage, "population": p.population} for p in populations],
        "subscriptions": [
            {
                "application": s.application,
                "effective_from": s.effective_from,
                "effective_until": s.effective_until,
            }
            for s in subscriptions
        ],
        "terminated_on": _terminated_on(session, found.insee, _latest_convention(session)),
    }


def communes(session):
    return session.scalars(select(Commune).order_by(Commune.insee)).all()


def update_commune(session, outbox, insee, update, now):
    """Sets the commune's SIRET, one of its SIREN's establishments, and tells billing, which
    addresses the commune's titles with it."""
    found = commune(session, insee)
    if not update["siret"].startswith(found.siren):
        raise Invalid({"siret": [f"Not an establishment of this commune: its SIRET starts with "
                                 f"its SIREN {found.siren}."]})
    found.siret = update["siret"]
    outbox.add(session, COMMUNE_UPDATED, {"commune": insee, "siret": found.siret},
               occurred_at=now, commune=insee)
    return found


def update_population(session, outbox, insee, population, now):
    found = commune(session, insee)
    _store_population(session, outbox, insee, population, now)
    return found


def _store_population(session, outbox, insee, population, now):
    row = session.get(Population, (insee, population["vintage"]))
    if row is None:
        session.add(Population(insee=insee, **population))
    else:
        row.population = population["population"]
    outbox.add(
        session, POPULATION_UPDATED, {"commune": insee, **population}, occurred_at=now,
        commune=insee,
    )


# -- conventions and amendments -----------------------------------------------------------------


def register_convention(session, outbox, new, registered_by, now):
    """A convention and what each commune signed for, from the first day of its period."""
    overlapping = session.scalar(
        select(Convention.id).where(
            Convention.period_start <= new["period_end"],
            Convention.period_end >= new["period_start"],
        )
    )
    if overlapping:
        raise Conflict("Its period overlaps that of a registered convention.")
    convention = Convention(
        id=uuid.uuid4(),
        title=new["title"],
        period_start=new["period_start"],
        period_end=new["period_end"],
        population_vintage=new["population_vintage"],
        registered_at=now,
        registered_by=registered_by,
    )
    session.add(convention)
    session.flush()
    for application in new["applications"]:
        session.add(ConventionApplication(convention=convention.id, **application))
    outbox.add(
        session,
        CONVENTION_REGISTERED,
        {
            "convention_id": convention.id,
            "title": convention.title,
            "period_start": convention.period_start,
            "period_end": convention.period_end,
            "population_vintage": convention.population_vintage,
            "members": [c.insee for c in communes(session)],
            "applications": new["applications"],
        },
        occurred_at=now,
    )
    for insee, applications in sorted(new["initial_subscriptions"].items()):
        for application in sorted(set(applications)):
            _add_subscription(session, outbox, insee, application, convention,
                              convention.period_start, None, now)
    return convention


def conventions(session):
    return session.scalars(select(Convention).order_by(Convention.period_start)).all()


def convention_view(session, convention):
    """The convention as registered: its own applications, and the amendments beside them."""
    applications = session.scalars(
        select(ConventionApplication)
        .where(
            ConventionApplication.convention == convention.id,
            ConventionApplication.amendment_id.is_(None),
        )
        .order_by(ConventionApplication.application)
    )
    amendments = session.scalars(
        select(Amendment)
        .where(Amendment.convention == convention.id)
        .order_by(Amendment.recorded_at, Amendment.application)
    )
    return {
        "id": convention.id,
        "title": convention.title,
        "period_start": convention.period_start,
        "period_end": convention.period_end,
        "population_vintage": convention.population_vintage,
        "applications": [
            {"application": a.application, "annual_cost": a.annual_cost} for a in applications
        ],
        "amendments": [
            {
                "id": a.id,
                "application": a.application,
                "annual_cost": a.annual_cost,
                "signed_on": a.signed_on,
            }
            for a in amendments
        ],
        "registered_at": convention.registered_at,
    }


def amend_convention(session, outbox, convention_id, new, recorded_by, now):
    """An *avenant* adding an application the convention does not cover yet (Art. 9)."""
    convention = get_convention(session, convention_id)
    if session.get(ConventionApplication, (convention.id, new["application"])):
        raise Conflict("The application is already in the convention.")
    amendment = Amendment(
        id=uuid.uuid4(), convention=convention.id, recorded_at=now, recorded_by=recorded_by, **new
    )
    session.add(amendment)
    session.flush()
    session.add(
        ConventionApplication(
            convention=convention.id,
            application=new["application"],
            annual_cost=new["annual_cost"],
            amendment_id=amendment.id,
        )
    )
    outbox.add(
        session,
        CONVENTION_AMENDED,
        {"convention_id": convention.id, "amendment_id": amendment.id, **new},
        occurred_at=now,
    )
    return convention


def get_convention(session, convention_id):
    return _found(session, Convention, convention_id, "No such convention.")


def _latest_convention(session):
    return session.scalars(select(Convention).order_by(Convention.period_start.desc())).first()


def _convention_covering(session, day):
    return session.scalars(
        select(Convention).where(Convention.period_start <= day, Convention.period_end >= day)
    ).first()


def _terms(session, convention):
    if convention is None:
        return None
    applications = session.scalars(
        select(ConventionApplication.application).where(
            ConventionApplication.convention == convention.id
        )
    )
    return rules.Terms(convention.period_start, convention.period_end, frozenset(applications))


# -- subscriptions and change requests (Art. 9) -------------------------------------------------


def date_of_receipt(received_on, filed_by, today):
    """The day a request or notice was received: today for an agent, the day the letter
    arrived when Metropole staff record one — never a day still to come."""
    if received_on is None:
        return today
    if filed_by["role"] != METROPOLE_ADMIN:
        raise Invalid({"received_on": ["Only Metropole staff record the date a letter arrived."]})
    if received_on > today:
        raise Invalid({"received_on": ["A letter cannot arrive in the future."]})
    return received_on


def file_request(session, insee, new, received_on, filed_by, now):
    """A change request, always recorded: pending, or refused with the rule it breaks."""
    commune(session, insee)
    reason = _refusal(session, insee, new["application"], new["action"], received_on)
    request = SubscriptionRequest(
        id=uuid.uuid4(),
        insee=insee,
        application=new["application"],
        action=new["action"],
        received_on=received_on,
        status=REFUSED if reason else PENDING,
        effective_from=None if reason else rules.change_effective_from(received_on),
        answer_due=rules.answer_due(received_on),
        reason=reason,
        filed_at=now,
        filed_by=filed_by["id"],
    )
    session.add(request)
    session.flush()
    return request


def requests_of(session, insee):
    commune(session, insee)
    return session.scalars(
        select(SubscriptionRequest)
        .where(SubscriptionRequest.insee == insee)
        .order_by(SubscriptionRequest.filed_at.desc(), SubscriptionRequest.received_on.desc())
    ).all()


def request_view(request):
    return {
        "id": request.id,
        "commune": request.insee,
        "application": request.application,
        "action": request.action,
        "received_on": request.received_on,
        "status": request.status,
        "effective_from": request.effective_from,
        "answer_due": request.answer_due,
        "reason": request.reason,
        "decided_at": request.decided_at,
    }


def decide_request(session, outbox, insee, request_id, decision, decided_by, now):
    """The Metropole's answer to a pending request. Accepting checks the rules again, since
    the commune's subscriptions may have changed since it was filed."""
    commune(session, insee, lock=True)
    request = get_request(session, insee, request_id)
    if request.status != PENDING:
        raise Conflict(f"The request is already {request.status}.")
    if decision["decision"] == "refuse":
        request.status, request.reason = REFUSED, decision["reason"]
    else:
        reason = _refusal(
            session, insee, request.application, request.action, request.received_on
        )
        if reason:
            raise Conflict(f"The request cannot be accepted: {reason}.")
        convention = _convention_covering(session, request.received_on)
        if request.action == ADD:
            _add_subscription(session, outbox, insee, request.application, convention,
                              request.effective_from, request.id, now)
        else:
            _remove_subscription(session, outbox, insee, request, convention, now)
        request.status = ACCEPTED
    request.decided_by, request.decided_at = decided_by, now
    return request


def get_request(session, insee, request_id):
    return _found(session, SubscriptionRequest, request_id, "No such request for this commune.",
                  insee=insee)


def _refusal(session, insee, application, action, received_on):
    convention = _convention_covering(session, received_on)
    return rules.refusal_of_change(
        action,
        application,
        received_on,
        _terms(session, convention),
        _periods(session, insee, convention),
        _terminated_on(session, insee, convention),
    )


def _subscriptions(session, insee, convention):
    if convention is None:
        return []
    return session.scalars(
        select(Subscription).where(
            Subscription.insee == insee, Subscription.convention == convention.id
        )
    ).all()


def _periods(session, insee, convention):
    return [_period(s) for s in _subscriptions(session, insee, convention)]


def _period(subscription):
    return rules.Period(
        subscription.application, subscription.effective_from, subscription.effective_until
    )


def _add_subscription(session, outbox, insee, application, convention, effective_from,
                      request_id, now):
    effective_until = rules.end_of_added_period(
        _periods(session, insee, convention), application, effective_from
    )
    session.add(
        Subscription(
            insee=insee,
            application=application,
            convention=convention.id,
            effective_from=effective_from,
            effective_until=effective_until,
            request_id=request_id,
        )
    )
    _announce_change(session, outbox, insee, application, "added", effective_from, convention,
                     request_id, now)


def _remove_subscription(session, outbox, insee, request, convention, now):
    """Ends the period in force on the request's effective date there."""
    (subscription,) = [
        s for s in _subscriptions(session, insee, convention)
        if s.application == request.application and _period(s).covers(request.effective_from)
    ]
    subscription.effective_until = request.effective_from
    _announce_change(session, outbox, insee, request.application, "removed",
                     request.effective_from, convention, request.id, now)


def _announce_change(session, outbox, insee, application, change, effective_from, convention,
                     request_id, now):
    outbox.add(
        session,
        SUBSCRIPTION_CHANGED,
        {
            "commune": insee,
            "application": application,
            "change": change,
            "effective_from": effective_from,
            "convention_id": convention.id,
            "request_id": request_id,
        },
        occurred_at=now,
        commune=insee,
    )


# -- terminations (Art. 10) ---------------------------------------------------------------------


def notify_termination(session, outbox, insee, received_on, filed_by, now):
    """A notice of termination, always recorded: accepted with the 1 January it takes effect,
    or refused with the reason. Accepted, it closes the commune's subscriptions on that day."""
    commune(session, insee, lock=True)
    convention = _convention_covering(session, received_on)
    if convention is None:
        effective_on, reason = None, rules.NO_CONVENTION
    elif _terminated_on(session, insee, convention):
        effective_on, reason = None, rules.ALREADY_TERMINATED
    else:
        effective_on, reason = rules.termination_effective_on(
            received_on, convention.period_start, convention.period_end
        )
    termination = Termination(
        id=uuid.uuid4(),
        insee=insee,
        convention=convention.id if convention else None,
        received_on=received_on,
        status=REFUSED if reason else ACCEPTED,
        effective_on=effective_on,
        reason=reason,
        filed_at=now,
        filed_by=filed_by["id"],
    )
    session.add(termination)
    session.flush()
    if reason:
        return termination
    for subscription in _subscriptions(session, insee, convention):
        subscription.effective_until = rules.closing_date(_period(subscription), effective_on)
    # Billing closes its own view from this event: no subscription.changed per application.
    outbox.add(
        session,
        CONVENTION_TERMINATED,
        {
            "commune": insee,
            "convention_id": convention.id,
            "effective_on": effective_on,
            "termination_id": termination.id,
        },
        occurred_at=now,
        commune=insee,
    )
    return termination


def terminations_of(session, insee):
    commune(session, insee)
    return session.scalars(
        select(Termination)
        .where(Termination.insee == insee)
        .order_by(Termination.filed_at.desc(), Termination.received_on.desc())
    ).all()


def get_termination(session, insee, termination_id):
    return _found(session, Termination, termination_id,
                  "No such termination notice for this commune.", insee=insee)


def termination_view(termination):
    return {
        "id": termination.id,
        "commune": termination.insee,
        "received_on": termination.received_on,
        "status": termination.status,
        "effective_on": termination.effective_on,
        "reason": termination.reason,
    }


def _terminated_on(session, insee, convention):
    if convention is None:
        return None
    return session.scalar(
        select(func.min(Termination.effective_on)).where(
            Termination.insee == insee,
            Termination.convention == convention.id,
            Termination.status == ACCEPTED,
        )
    )
