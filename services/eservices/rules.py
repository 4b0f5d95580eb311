"""Rules of the online services, free of Nameko and of the database: who may have a copy of a
civil-status act, where a request may go next and how long it stayed, the CRPA's
acknowledgement delay, parking requests that clash, holiday-camp waiting lists, which custom
forms are billed and what is kept of a request once its author is gone."""

import re
import unicodedata
from collections import defaultdict
from datetime import date, timedelta
from itertools import pairwise

from servicekit.calendar import add_working_days

FULL_COPY_RELATIONSHIPS = ("self", "spouse", "ascendant", "descendant", "legal_representative")
FAMILY_RECORD_RELATIONSHIPS = ("self", "spouse", "legal_representative")
FREELY_COMMUNICABLE_AFTER_YEARS = 75
ACKNOWLEDGEMENT_WORKING_DAYS = 10
FREE_CUSTOM_FORMS = 1

_ABBREVIATIONS = {
    "bd": "boulevard", "bld": "boulevard", "av": "avenue", "ave": "avenue", "r": "rue",
    "pl": "place", "ch": "chemin", "imp": "impasse", "rte": "route",
}
# Letters that no Unicode decomposition splits into a base letter and an accent.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})


def years_before(day, years):
    """The same day ``years`` earlier; 29 February, in a year without one, the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return date(day.year - years, 2, 28)


def copy_refusal(act, copy_type, relationship, act_date, today):
    """None if the copy may be delivered, else the reason (English sentence).

    ``act`` is one of "birth", "marriage", "death", "family_record". Décret 2017-890 art. 30
    and 31 (R5.4): a full copy or an extract with filiation only for the person, their spouse,
    ascendants, descendants or legal representative; an extract without filiation for anyone.
    Birth and marriage acts are freely communicable from their 75th anniversary on (code du
    patrimoine L213-2); death-act copies go to anyone. The livret de famille only goes to the
    person, their spouse or legal representative: ``copy_type`` and ``act_date`` do not
    matter for it.
    """
    if act == "death":
        return None
    if act == "family_record":
        if relationship in FAMILY_RECORD_RELATIONSHIPS:
            return None
        return ("A livret de famille is delivered only to its holder, their spouse or their "
                "legal representative.")
    if act not in ("birth", "marriage"):
        raise ValueError(f"no civil-status act {act!r}")
    if (copy_type == "extract_without_filiation"
            or relationship in FULL_COPY_RELATIONSHIPS
            or act_date <= years_before(today, FREELY_COMMUNICABLE_AFTER_YEARS)):
        return None
    return ("A full copy or an extract with filiation is delivered only to the person, their "
            "spouse, ascendants, descendants or legal representative.")


def may_move(transitions, source, target):
    """Whether the form's workflow (its ``transitions``, each {"from", "to"}) lets a request
    go from ``source`` to ``target``."""
    return any(transition["from"] == source and transition["to"] == target
               for transition in transitions)


def seconds_in_status(history, now):
    """Whole seconds a request spent in each status: ``history`` lists (status, at) in order,
    each status lasting until the next entry and the last one until ``now``; a status met
    twice adds its stays up."""
    spent = defaultdict(timedelta)
    for (status, starts), (_, ends) in pairwise([*history, (None, now)]):
        spent[status] += ends - starts
    return {status: int(duration.total_seconds()) for status, duration in spent.items()}


def acknowledge_by(received_on):
    """The last day for the accusé de réception: 10 working days after the request was
    received (CRPA L112-11, R112-11-1)."""
    return add_working_days(received_on, ACKNOWLEDGEMENT_WORKING_DAYS)


def reference(insee, year, sequence):
    """A request's reference as the citizen quotes it: "34134-2026-000042", the commune's
    42nd request of 2026."""
    return f"{insee}-{year}-{sequence:06d}"


def normalised_address(address):
    """An address as two spellings of the same place share it: casefolded, without accents or
    punctuation, the usual abbreviations of street types written out ("12, Bd de l'Hôpital"
    and "12 boulevard de l'hopital" are one)."""
    decomposed = unicodedata.normalize("NFKD", address.casefold().translate(_LIGATURES))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = re.sub(r"[\W_]+", " ", letters).split()
    return " ".join(_ABBREVIATIONS.get(word, word) for word in words)


def parking_overlap(a, b):
    """Whether two move-parking requests, each (address, starts_on, ends_on), want the same
    spot on one day at least: the same normalised address, and date ranges sharing a day
    (both ends included)."""
    address_a, starts_a, ends_a = a
    address_b, starts_b, ends_b = b
    return (normalised_address(address_a) == normalised_address(address_b)
            and starts_a <= ends_b and starts_b <= ends_a)


def camp_placement(places, taken):
    """None when a new registration gets one of the stay's ``places``, else its 1-based
    position on the waiting list.

    ``taken`` counts the confirmed registrations and the waiting list together. The list only
    grows once the stay is full, and a cancelled place goes to the head of the list before
    anyone new: so whenever ``taken`` reaches ``places``, the stay is full and the waiting
    list is ``taken - places`` long.
    """
    if taken < places:
        return None
    return taken - places + 1


def integration_is_billable(integration_number):
    """Art. 2: the Metropole integrates one new form outside the catalogue per commune for
    free; each further integration is billed (Art. 3, with VAT per Art. 6).
    ``integration_number`` is 1 for the commune's first custom form."""
    if integration_number < 1:
        raise ValueError("a commune's custom forms are numbered from 1")
    return integration_number > FREE_CUSTOM_FORMS


def retention_ends(closed_at, retention_days):
    """When a closed request is due for deletion: its form's retention after it closed."""
    return closed_at + timedelta(days=retention_days)


def anonymised(definition, data):
    """The request's data without the fields the definition marks personal (GDPR art. 17, on
    account deletion); the rest kept for the commune's records. A field the definition does
    not know cannot be vouched for, and goes too."""
    kept = {field["name"] for field in definition["fields"] if not field.get("personal")}
    return {name: value for name, value in data.items() if name in kept}
