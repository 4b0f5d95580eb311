"""A commune's reception points, their dedicated links and the relay sessions opened from
them, on the caller's session."""

import secrets
import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import delete, func, select, update

from contracts.accessibility import WEEKDAYS
from contracts.errors import Conflict, Gone, Invalid, NotFound
from servicekit.clock import LEGAL_TIME_ZONE
from services.accessibility import rules
from services.accessibility.models import (
    Interpreter,
    ReceptionPoint,
    RelayLink,
    RelaySession,
    TranscriptLine,
)

ACTIVE, ROTATED, REVOKED = "active", "rotated", "revoked"
WAITING, TAKEN, CONNECTED, ENDED, ABANDONED = (
    "waiting", "taken", "connected", "ended", "abandoned")
PERSON, INTERPRETER = "person", "interpreter"
TRANSCRIPTION = "transcription"


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
    """A session waiting in its mode's queue, if the point's reception is open now, and the
    secret of the person who asked, given once; else a conflict saying when it opens again."""
    weekly, closures = weekly_of(point), closures_of(point)
    if not rules.is_open(weekly, closures, now):
        opening = rules.next_opening(weekly, closures, now)
        when = opening.strftime("%d/%m/%Y à %H:%M") if opening else "at a date not set yet"
        raise Conflict(f"The reception is closed; the relay opens again on {when}.")
    secret = rules.new_link_token()
    relayed = RelaySession(id=uuid.uuid4(), commune=point.commune, point_id=point.id,
                           mode=new["mode"], channel=new["channel"], status=WAITING,
                           secret_digest=rules.token_digest(secret), transcript_lines=0,
                           requested_at=now)
    session.add(relayed)
    session.flush()
    return relayed, secret


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


def session_of_person(session, token, session_id, secret):
    """The session opened from the link ``token`` whose person holds ``secret``; any other
    pairing is not found, so that a session id alone reveals nothing."""
    point = point_of_token(session, token)
    relayed = _get(session, RelaySession, session_id)
    if (relayed is None or relayed.point_id != point.id or relayed.secret_digest is None
            or not secrets.compare_digest(relayed.secret_digest,
                                          rules.token_digest(str(secret)))):
        raise NotFound("No such relay session.")
    return relayed


def session_of_interpreter(session, session_id, interpreter_id):
    """The session ``interpreter_id`` took; another's session is not found: an interpreter
    reads the text of their own sessions only."""
    relayed = session_of(session, session_id)
    if relayed.interpreter_id != str(interpreter_id):
        raise NotFound("No such relay session of yours.")
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


def end(session, relayed, interpreter_id, now):
    """The interpreter ends the session: only its durations and counts stay."""
    _own(relayed, interpreter_id)
    _step(relayed, CONNECTED, ENDED)
    _close(session, relayed, now)


def hang_up(session, relayed, now):
    """The person who asked leaves: a connected session ends, one not connected yet is
    abandoned (unanswered if no interpreter had taken it)."""
    if relayed.status in (ENDED, ABANDONED):
        raise Conflict(f"The session is {relayed.status} already.")
    relayed.status = ENDED if relayed.status == CONNECTED else ABANDONED
    _close(session, relayed, now)


# A relay session is a live conversation: one in which nothing happened for two hours was left
# by both sides without a word, and its lines must not stay (GDPR art. 5(1)(e); the use of the
# relay may reveal a disability, art. 9).
IDLE_LIMIT = timedelta(hours=2)


def abandon_idle_sessions(session, now):
    """Closes, as if the person had hung up, each session still waiting, taken or connected in
    which nothing happened for more than ``IDLE_LIMIT`` before ``now``: no request, take,
    connection or transcript line. It closes at its last activity, so that its durations count
    no idle time; its lines are deleted in this transaction. Returns the sessions closed."""
    stale = session.scalars(select(RelaySession).where(
        RelaySession.status.in_((WAITING, TAKEN, CONNECTED)),
        RelaySession.requested_at < now - IDLE_LIMIT)).all()
    last_lines = dict(session.execute(
        select(TranscriptLine.session_id, func.max(TranscriptLine.said_at))
        .where(TranscriptLine.session_id.in_([relayed.id for relayed in stale]))
        .group_by(TranscriptLine.session_id)).all())
    closed = []
    for relayed in stale:
        moments = (relayed.requested_at, relayed.taken_at, relayed.connected_at,
                   last_lines.get(relayed.id))
        last_activity = max(moment for moment in moments if moment is not None)
        if last_activity < now - IDLE_LIMIT:
            hang_up(session, relayed, last_activity)
            closed.append(relayed)
    return closed


def _close(session, relayed, now):
    # No content is retained: a transcription's text goes with the session.
    relayed.ended_at = now
    session.execute(delete(TranscriptLine).where(TranscriptLine.session_id == relayed.id))


def say(session, relayed, speaker, text, now):
    """A line of the session's real-time transcription, while it is connected."""
    _transcribing(relayed)
    line = TranscriptLine(session_id=relayed.id, speaker=speaker, text=text, said_at=now)
    session.add(line)
    # Counted in the database, so that the person and the interpreter writing at once are
    # both counted.
    session.execute(update(RelaySession).where(RelaySession.id == relayed.id).values(
        transcript_lines=RelaySession.transcript_lines + 1))
    session.flush()
    return line


def transcript(session, relayed, after=0):
    """The session's transcription lines after the id ``after``, in the order written."""
    _transcribing(relayed)
    return session.scalars(select(TranscriptLine).where(
        TranscriptLine.session_id == relayed.id, TranscriptLine.id > after)
        .order_by(TranscriptLine.id)).all()


def _transcribing(relayed):
    if relayed.mode != TRANSCRIPTION:
        raise Conflict(f"The session is in {relayed.mode}, not in transcription.")
    if relayed.status in (ENDED, ABANDONED):
        raise Gone("The session is over: its text was deleted.")
    if relayed.status != CONNECTED:
        raise Conflict(f"The session is {relayed.status}: the transcription starts once it "
                       "is connected.")


def line_view(line):
    return {"id": line.id, "speaker": line.speaker, "text": line.text,
            "said_at": line.said_at}


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
            "talk_seconds": seconds(relayed.connected_at, relayed.ended_at),
            "transcript_lines": relayed.transcript_lines}


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
