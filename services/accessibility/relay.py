"""A commune's reception points, their dedicated links and the relay sessions opened from
them, on the caller's session."""

import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from contracts.accessibility import WEEKDAYS
from contracts.errors import Conflict, Gone, Invalid, NotFound
from servicekit.clock import LEGAL_TIME_ZONE
from services.accessibility import rules
from services.accessibility.models import Interpreter, ReceptionPoint, RelayLink, RelaySession

ACTIVE, ROTATED, REVOKED = "active", "rotated", "revoked"
WAITING, TAKEN, CONNECTED, ENDED = "waiting", "taken", "connected", "ended"


def weekly_of(point):
    """The point's hours as the rules read them: weekday number → [(start, end)]."""
    return {WEEKDAYS.index(day): [(r["start"], r["end"]) for r in ranges]
            for day, ranges in point.weekly_hours.items()}


def closures_of(point):
    return [(c["first_day"], c["last_day"]) for c in point.closures]


# -- reception points


def create_point(session, insee, new, now):
    point = ReceptionPoint(id=uuid.uuid4(), commune=insee, name=new["name"], kind=new["kind"],
                           weekly_hours=new["weekly_hours"], closures=new["closures"],
                           created_at=now)
    problems = {field: found for field, found in (
        ("weekly_hours", rules.check_hours(weekly_of(point))),
        ("closures", rules.check_closures(closures_of(point)))) if found}
    if problems:
        raise Invalid(problems)
    session.add(point)
    session.flush()
    return point


def points(session, insee):
    return session.scalars(select(ReceptionPoint).where(ReceptionPoint.commune == insee)
                           .order_by(ReceptionPoint.created_at, ReceptionPoint.id)).all()


def point_of(session, insee, point_id):
    point = _get(session, ReceptionPoint, point_id)
    if point is None or point.commune != insee:
        raise NotFound("No such reception point.")
    return point


def point_view(point, now):
    weekly, closures = weekly_of(point), closures_of(point)
    return {"id": point.id, "commune": point.commune, "name": point.name, "kind": point.kind,
            "weekly_hours": point.weekly_hours, "closures": point.closures,
            "open_now": rules.is_open(weekly, closures, now),
            "next_opening": rules.next_opening(weekly, closures, now)}


# -- links


def create_link(session, point, now):
    """A new active link of ``point`` and its token, given once; the point's former active
    link, if any, is rotated."""
    for link in _active_links(session, point):
        link.status, link.retired_at = ROTATED, now
    token = rules.new_link_token()
    link = RelayLink(id=uuid.uuid4(), commune=point.commune, point_id=point.id,
                     token_digest=rules.token_digest(token), status=ACTIVE, created_at=now)
    session.add(link)
    session.flush()
    return link, token


def revoke_link(session, insee, link_id, now):
    link = _get(session, RelayLink, link_id)
    if link is None or link.commune != insee:
        raise NotFound("No such link.")
    if link.status != ACTIVE:
        raise Conflict(f"The link is {link.status} already.")
    link.status, link.retired_at = REVOKED, now
    session.flush()
    return link


def links(session, insee):
    return session.scalars(select(RelayLink).where(RelayLink.commune == insee)
                           .order_by(RelayLink.created_at, RelayLink.id)).all()


def link_view(link, token=None):
    return {"id": link.id, "point_id": link.point_id, "status": link.status,
            "created_at": link.created_at, "retired_at": link.retired_at, "token": token}


def point_of_token(session, token):
    """The reception point a link's token opens; ``Gone`` for a rotated or revoked link (saying
    where the commune publishes the new one), ``NotFound`` for a token that never was."""
    link = session.scalar(select(RelayLink).where(
        RelayLink.token_digest == rules.token_digest(str(token))))
    if link is None:
        raise NotFound("No such relay link.")
    if link.status != ACTIVE:
        raise Gone("This relay link was replaced: the commune's website gives its new link.")
    return session.get(ReceptionPoint, link.point_id)


def _active_links(session, point):
    return session.scalars(select(RelayLink).where(RelayLink.point_id == point.id,
                                                   RelayLink.status == ACTIVE)).all()


# -- sessions


def open_session(session, point, new, now):
    """A session waiting in its mode's queue, if the point's reception is open now; else a
    conflict saying when it opens again."""
    weekly, closures = weekly_of(point), closures_of(point)
    if not rules.is_open(weekly, closures, now):
        opening = rules.next_opening(weekly, closures, now)
        when = opening.strftime("%d/%m/%Y à %H:%M") if opening else "at a date not set yet"
        raise Conflict(f"The reception is closed; the relay opens again on {when}.")
    relayed = RelaySession(id=uuid.uuid4(), commune=point.commune, point_id=point.id,
                           mode=new["mode"], channel=new["channel"], status=WAITING,
                           requested_at=now)
    session.add(relayed)
    session.flush()
    return relayed


def queue(session, modes=None):
    query = select(RelaySession).where(RelaySession.status == WAITING)
    if modes:
        query = query.where(RelaySession.mode.in_(modes))
    return session.scalars(query.order_by(RelaySession.requested_at, RelaySession.id)).all()


def session_of(session, session_id):
    relayed = _get(session, RelaySession, session_id)
    if relayed is None:
        raise NotFound("No such relay session.")
    return relayed


def take(session, relayed, interpreter, now):
    if relayed.mode not in interpreter.modes:
        raise Conflict(f"The interpreter does not work in {relayed.mode}.")
    _step(relayed, WAITING, TAKEN)
    relayed.interpreter_id, relayed.taken_at = interpreter.account_id, now


def connect(relayed, interpreter_id, now):
    _own(relayed, interpreter_id)
    _step(relayed, TAKEN, CONNECTED)
    relayed.connected_at = now


def end(relayed, interpreter_id, now):
    """The session ends: only its durations stay; a transcription's text is deleted."""
    _own(relayed, interpreter_id)
    _step(relayed, CONNECTED, ENDED)
    relayed.ended_at, relayed.transcript = now, None


def _step(relayed, expected, status):
    if relayed.status != expected:
        raise Conflict(f"The session is {relayed.status}, not {expected}.")
    relayed.status = status


def _own(relayed, interpreter_id):
    if relayed.interpreter_id != interpreter_id:
        raise Conflict("Another interpreter took this session.")


def session_view(relayed):
    def seconds(start, end):
        return round((end - start).total_seconds()) if start and end else None

    return {"id": relayed.id, "commune": relayed.commune, "point_id": relayed.point_id,
            "mode": relayed.mode, "channel": relayed.channel, "status": relayed.status,
            "requested_at": relayed.requested_at, "taken_at": relayed.taken_at,
            "connected_at": relayed.connected_at, "ended_at": relayed.ended_at,
            "wait_seconds": seconds(relayed.requested_at, relayed.taken_at),
            "talk_seconds": seconds(relayed.connected_at, relayed.ended_at)}


def interpreter(session, account_id, name, modes, available):
    """The interpreter of ``account_id``, created or updated."""
    found = session.get(Interpreter, account_id) or Interpreter(account_id=account_id)
    found.name, found.modes, found.available = name, list(modes), available
    session.add(found)
    session.flush()
    return found


def usage(session, insee, first_day, last_day):
    """A commune's usage from ``first_day`` to ``last_day`` (local days): its sessions, and its
    reception points' minutes of telephone reception, every one of which the relay is offered
    (a session opens whenever the reception is open)."""
    start = datetime.combine(first_day, time(0), LEGAL_TIME_ZONE)
    end = datetime.combine(last_day + timedelta(days=1), time(0), LEGAL_TIME_ZONE)
    sessions = session.scalars(select(RelaySession).where(
        RelaySession.commune == insee, RelaySession.requested_at >= start,
        RelaySession.requested_at < end)).all()
    minutes = sum(rules.reception_minutes(weekly_of(p), closures_of(p), first_day, last_day)
                  for p in points(session, insee))
    figures = rules.usage([{"mode": s.mode, "channel": s.channel,
                            "requested_at": s.requested_at, "taken_at": s.taken_at,
                            "ended_at": s.ended_at} for s in sessions], minutes, minutes)
    return {**figures, "reception_minutes": minutes,
            "coverage": _decimal(figures["coverage"]),
            "required_share": _decimal(rules.required_share(last_day))}


def _decimal(fraction):
    if fraction is None:
        return None
    return (Decimal(fraction.numerator) / Decimal(fraction.denominator)).quantize(
        Decimal("0.0001"))


def interpreter_of(session, account_id):
    found = session.get(Interpreter, str(account_id))
    if found is None:
        raise NotFound("No interpreter has this account.")
    if not found.available:
        raise Conflict("The interpreter is not available: set them available first.")
    return found


def _get(session, model, identifier):
    try:
        return session.get(model, uuid.UUID(str(identifier)))
    except ValueError:
        return None
