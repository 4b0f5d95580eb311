"""Rules of the procurement portal, free of Nameko and of the database: when a bid was
deposited and whether it is late, when questions close and bids may be opened, the order of a
consultation's deadlines, how long a procedure's documents are kept and the contract's number
in the DECP.

Moments are aware datetimes: the server's clock is in UTC, deadlines are written as local
times in Europe/Paris, and comparing aware datetimes compares the instants."""

import re
from datetime import date

from servicekit.clock import LEGAL_TIME_ZONE

RETENTION_YEARS = 5
DECP_ID_LENGTH = 16


def deposited_at(now):
    """The deposit's time, measured to the second on the server's clock at the end of the
    upload (R6.2): microseconds dropped (truncated, never rounded up)."""
    return now.replace(microsecond=0)


def is_late(deadline, deposited):
    """R2151-5 / R2143-2: a bid deposited after the deadline is eliminated — kept and flagged.
    The deadline's second itself is on time; one second after is late."""
    return deposited_at(deposited) > deadline


def questions_open(questions_deadline, now):
    """Companies may ask questions up to the deadline's second included, measured like a
    deposit."""
    return deposited_at(now) <= questions_deadline


def may_open(bid_deadline, now):
    """The bids may be opened once the deadline has passed: from the second after it, since a
    bid whose upload ends within the deadline's second is still on time."""
    return deposited_at(now) > bid_deadline


def deadlines_refusal(published_at, questions_deadline, bid_deadline):
    """None when the deadlines follow each other, else the errors by field: bids are received
    after the publication, questions close after the publication and no later than the bids
    (a question answered after the bids are in is of no use to the bidders)."""
    errors = {}
    if bid_deadline <= published_at:
        errors["bid_deadline"] = ["The deadline for bids must be after the publication."]
    if questions_deadline > bid_deadline:
        errors["questions_deadline"] = [
            "The deadline for questions cannot be after the deadline for bids."]
    elif questions_deadline <= published_at:
        errors["questions_deadline"] = [
            "The deadline for questions must be after the publication."]
    return errors or None


def retention_until(awarded_on):
    """R2184-12: candidatures, offers and procedure documents kept at least five years from
    the contract's signature (here the award's notification); 29 Feb -> 28 Feb."""
    try:
        return awarded_on.replace(year=awarded_on.year + RETENTION_YEARS)
    except ValueError:
        return date(awarded_on.year + RETENTION_YEARS, 2, 28)


def may_destroy(retention_until, today, decision):
    """A procedure's documents may be destroyed only once their retention is over (the day
    after ``retention_until``) and with a recorded decision: ``decision`` is its reference
    (an archives visa, a deliberation), which an empty string is not."""
    return today > retention_until and bool(decision and decision.strip())


def decp_contract_id(consultation_reference, lot, year):
    """The buyer's own contract number in the DECP (1 to 16 characters): the year, the
    consultation reference's alphanumerics and the lot, cut to 16, uppercase.

    The year and the lot are kept whole, so that the lots of one consultation never share a
    number; a reference too long loses its first characters, where buyers usually repeat the
    year, and keeps its end, where their sequence number is ("2026-MAPA-0014", lot 3, in 2026:
    "2026026MAPA00143")."""
    lot_number = str(lot)
    room = DECP_ID_LENGTH - len(str(year)) - len(lot_number)
    reference = re.sub(r"[^0-9A-Za-z]", "", consultation_reference)[-room:]
    return f"{year}{reference}{lot_number}".upper()


def in_paris(moment):
    """The moment as companies read it, in Europe/Paris, for messages and notices."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime is no moment: give its time zone")
    return moment.astimezone(LEGAL_TIME_ZONE)
