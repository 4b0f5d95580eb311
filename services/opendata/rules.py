"""Rules of the open data portal, free of any framework."""

import calendar
from datetime import date, timedelta

from contracts.opendata import COMMUNE_LICENCE, LICENCES
from servicekit.clock import LEGAL_TIME_ZONE

# Frequencies with a period: a calendar one (months) or a fixed one (days).
_MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
_DAYS = {"daily": 1, "weekly": 7}


def add_months(day, months):
    """The same day ``months`` later, or the month's last day when it has none (31 January
    plus one month is 28 or 29 February)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def legal_day(moment):
    """The day a moment falls on in France, where the communes count their deadlines."""
    return moment.astimezone(LEGAL_TIME_ZONE).date()


def update_due_on(frequency, updated_on):
    """The day by which a dataset is to be updated again: one period of its declared
    frequency after its latest upload. Art. 2 of the agreement leaves the commune in charge of
    updating its data regularly; an irregular or unknown frequency is never due."""
    if updated_on is None:
        return None
    if frequency in _DAYS:
        return updated_on + timedelta(days=_DAYS[frequency])
    if frequency in _MONTHS:
        return add_months(updated_on, _MONTHS[frequency])
    return None


def is_overdue(frequency, updated_on, today):
    """Overdue from the day after it was due (Art. 2)."""
    due = update_due_on(frequency, updated_on)
    return due is not None and today > due


def licence_of(choice):
    """The licence a dataset is published under, whole: a homologated one by its code
    (Licence Ouverte 2.0, ODbL — D323-2-1 CRPA), or the commune's own one with the
    délibération of its council that approved it (Art. 2 of the agreement)."""
    if choice is None:
        return None
    if choice["code"] == COMMUNE_LICENCE:
        return {"code": COMMUNE_LICENCE, "title": choice["title"], "url": choice.get("url"),
                "deliberation": choice["deliberation"]}
    known = LICENCES[choice["code"]]
    return {"code": choice["code"], "title": known["title"], "url": known["url"],
            "deliberation": None}
