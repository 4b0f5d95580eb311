"""Appointment agendas with their slots, and holiday camps with their places and waiting list
(Publik's chrono "meetings" and "events"), on the caller's session.

A slot is booked by one conditional UPDATE (``request_id`` set only where it is still empty),
so two citizens who click the same slot at once get one booking and one 409, whatever the
database. Camp places are counted under a lock of the camp's row.
"""

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict, Invalid, NotFound
from contracts.eservices import CLOSED
from services.eservices.models import Agenda, Camp, Request, Slot


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# -- agendas and slots


def create_agenda(session, insee, agenda, now):
    row = Agenda(id=uuid.uuid4(), commune=insee, name=agenda["name"], kind=agenda["kind"],
                 created_at=now)
    session.add(row)
    session.flush()
    return row


def agendas(session, insee):
    return session.scalars(select(Agenda).where(Agenda.commune == insee)
                           .order_by(Agenda.name)).all()


def agenda_of(session, insee, agenda_id):
    agenda = session.get(Agenda, _uuid(agenda_id)) if _uuid(agenda_id) else None
    if agenda is None or agenda.commune != insee:
        raise NotFound("No such agenda in this commune.")
    return agenda


def agenda_view(agenda):
    return {"id": agenda.id, "commune": agenda.commune, "name": agenda.name,
            "kind": agenda.kind}


def open_slots(session, agenda, new_slots):
    """``count`` slots of ``minutes`` back to back from ``starts_at``; a time already open in
    the agenda is refused whole (409)."""
    length = timedelta(minutes=new_slots["minutes"])
    opened = [Slot(id=uuid.uuid4(), agenda_id=agenda.id,
                   starts_at=new_slots["starts_at"] + index * length,
                   ends_at=new_slots["starts_at"] + (index + 1) * length)
              for index in range(new_slots["count"])]
    first, last = opened[0].starts_at, opened[-1].ends_at
    clash = session.scalar(select(func.count()).where(
        Slot.agenda_id == agenda.id, Slot.starts_at < last, Slot.ends_at > first))
    if clash:
        raise Conflict("Some of these times are already open in this agenda.")
    session.add_all(opened)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("Some of these times are already open in this agenda.") from None
    return opened


def slots(session, agenda, available=None, after=None):
    query = select(Slot).where(Slot.agenda_id == agenda.id).order_by(Slot.starts_at)
    if available is not None:
        query = query.where(Slot.request_id.is_(None) if available
                            else Slot.request_id.is_not(None))
    if after is not None:
        query = query.where(Slot.starts_at > after)
    return session.scalars(query).all()


def slot_view(slot):
    return {"id": slot.id, "agenda_id": slot.agenda_id, "starts_at": slot.starts_at,
            "ends_at": slot.ends_at, "booked": slot.request_id is not None}


def book_slot(session, insee, slot_id, request_id, now):
    """Books the slot for ``request_id``: ``Invalid`` naming ``data.slot_id`` for a slot that
    is not the commune's or is past, ``Conflict`` when someone booked it first."""
    slot = session.get(Slot, _uuid(slot_id)) if _uuid(slot_id) else None
    agenda = session.get(Agenda, slot.agenda_id) if slot else None
    if agenda is None or agenda.commune != insee:
        raise Invalid({"data.slot_id": ["No such appointment slot in this commune."]})
    if slot.starts_at <= now:
        raise Invalid({"data.slot_id": ["This slot has passed."]})
    booked = session.execute(
        update(Slot).where(Slot.id == slot.id, Slot.request_id.is_(None))
        .values(request_id=request_id)).rowcount
    if not booked:
        raise Conflict("This slot has just been booked by someone else: choose another one.")
    return slot


def free_slot(session, request_id):
    session.execute(update(Slot).where(Slot.request_id == request_id).values(request_id=None))


# -- holiday camps


def create_camp(session, insee, camp, now):
    row = Camp(id=uuid.uuid4(), commune=insee, name=camp["name"], starts_on=camp["starts_on"],
               ends_on=camp["ends_on"], places=camp["places"], created_at=now)
    session.add(row)
    session.flush()
    return row


def camps(session, insee):
    return session.scalars(select(Camp).where(Camp.commune == insee)
                           .order_by(Camp.starts_on, Camp.name)).all()


def _holders(session, camp_id):
    """Registrations that hold or wait for a place: open, or done with a place."""
    return select(Request).where(Request.camp_id == camp_id, Request.status.not_in(
        [status for status in CLOSED if status != "done"]))


def places_taken(session, camp):
    return session.scalar(select(func.count()).select_from(
        _holders(session, camp.id).where(Request.waiting_list_position.is_(None)).subquery()))


def waiting_list_length(session, camp):
    return session.scalar(select(func.count()).select_from(
        _holders(session, camp.id).where(Request.waiting_list_position.is_not(None))
        .subquery()))


def camp_view(session, camp):
    return {"id": camp.id, "commune": camp.commune, "name": camp.name,
            "starts_on": camp.starts_on, "ends_on": camp.ends_on, "places": camp.places,
            "places_taken": places_taken(session, camp),
            "waiting_list": waiting_list_length(session, camp)}


def locked_camp(session, insee, camp_id):
    """The commune's camp, locked until the transaction ends (PostgreSQL; SQLite has one
    writer at a time anyway): its places are counted and given under the lock."""
    camp_uuid = _uuid(camp_id)
    camp = session.scalar(select(Camp).where(Camp.id == camp_uuid).with_for_update()) \
        if camp_uuid else None
    if camp is None or camp.commune != insee:
        raise Invalid({"data.camp_id": ["No such holiday camp in this commune."]})
    return camp


def promote_waiting(session, camp):
    """After a place is freed: the first in line takes it, the others move up one; returns
    the promoted request, or None."""
    waiting = session.scalars(
        _holders(session, camp.id).where(Request.waiting_list_position.is_not(None))
        .order_by(Request.waiting_list_position)).all()
    if not waiting or places_taken(session, camp) >= camp.places:
        return None
    promoted, rest = waiting[0], waiting[1:]
    promoted.waiting_list_position = None
    for position, request in enumerate(rest, start=1):
        request.waiting_list_position = position
    session.flush()
    return promoted


def leave_waiting_list(session, camp, request):
    """A request that leaves the waiting list lets those behind it move up."""
    position, request.waiting_list_position = request.waiting_list_position, None
    behind = session.scalars(
        _holders(session, camp.id).where(Request.waiting_list_position > position)).all()
    for other in behind:
        other.waiting_list_position -= 1
    session.flush()
