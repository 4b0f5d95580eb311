"""The rules of the agreement on subscriptions, as plain functions of dates and facts.

Every date here is a day in France (Europe/Paris): a letter is received on a French calendar
day, and the agreement's dates (30 September, 1 January) are French days too.
"""

import calendar
from dataclasses import dataclass
from datetime import date

from contracts.subscriptions import ADD, REMOVE

# The last day a letter may arrive and still count as "at least three months before the end of
# the year" (Art. 9), or as notified "at the latest on 30 September of the year before" (Art. 10).
LAST_DAY_OF_NOTICE = (9, 30)

NO_CONVENTION = "no convention covers the date of receipt"
NEEDS_AMENDMENT = "needs an amendment: the application is not in the convention"
PAST_CONVENTION_END = "the effective date falls after the end of the convention"
COMMUNE_TERMINATED = "commune terminated: it leaves the convention on or before the effective date"
ALREADY_SUBSCRIBED = "already subscribed on the effective date"
NOT_SUBSCRIBED = "not subscribed on the effective date"

NOTICE_BEFORE_PERIOD = "the notice was received before the period of the convention"
NOTICE_TOO_LATE = (
    "no termination date is left: the notice must be received by 30 September of the year "
    "before a 1 January within the convention"
)
ALREADY_TERMINATED = "the commune has already terminated this convention"


@dataclass(frozen=True)
class Period:
    """A commune uses ``application`` from ``effective_from`` until the day before
    ``effective_until`` (``None``: until further notice)."""

    application: str
    effective_from: date
    effective_until: date | None = None

    def covers(self, day):
        return self.effective_from <= day and (
            self.effective_until is None or day < self.effective_until
        )


@dataclass(frozen=True)
class Terms:
    """What the rules need to know of a convention: its period, and the applications it
    covers, whether from the start or added by an amendment."""

    period_start: date
    period_end: date
    applications: frozenset[str]

    def covers(self, day):
        return self.period_start <= day <= self.period_end


def _in_time_for_next_year(received_on):
    return (received_on.month, received_on.day) <= LAST_DAY_OF_NOTICE


def change_effective_from(received_on):
    """Art. 9: a request received at least three months before the end of the year (on or
    before 30 September) applies on 1 January of the next year; a later one misses that
    deadline and applies on 1 January of the year after."""
    years_ahead = 1 if _in_time_for_next_year(received_on) else 2
    return date(received_on.year + years_ahead, 1, 1)


def answer_due(received_on):
    """Art. 9: the Metropole answers within one month of receipt — the same day of the next
    month, or the last day of that month when it is shorter (31 January → 28 or 29 February)."""
    year, month = (received_on.year + 1, 1) if received_on.month == 12 else (
        received_on.year,
        received_on.month + 1,
    )
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(received_on.day, last_day))


def subscribed_applications(periods, day):
    """Art. 9: the applications a commune uses on ``day``, from its subscription periods."""
    return {period.application for period in periods if period.covers(day)}


def is_subscribed(periods, application, day):
    return application in subscribed_applications(periods, day)


def end_of_added_period(periods, application, effective_from):
    """Art. 9: an application added from ``effective_from`` is used until its next period
    begins, if one already begins later — a letter recorded late may ask for it a year before
    a change already granted — so that a commune's periods of one application never overlap."""
    return min(
        (
            period.effective_from
            for period in periods
            if period.application == application and period.effective_from > effective_from
        ),
        default=None,
    )


def refusal_of_change(action, application, received_on, terms, periods, terminated_on=None):
    """Art. 9: why a request to add or remove ``application`` must be refused, or ``None``.

    ``terms`` is the convention covering the date of receipt (``None`` if none does),
    ``periods`` the commune's subscription periods, ``terminated_on`` the 1 January from which
    the commune has left that convention (Art. 10), if it has. Open data is in the convention
    like any other application (never billed, but subscribed to and left the same way).
    """
    if terms is None or not terms.covers(received_on):
        return NO_CONVENTION
    if application not in terms.applications:
        return NEEDS_AMENDMENT
    effective_from = change_effective_from(received_on)
    if effective_from > terms.period_end:
        return PAST_CONVENTION_END
    if terminated_on is not None and terminated_on <= effective_from:
        return COMMUNE_TERMINATED
    subscribed = is_subscribed(periods, application, effective_from)
    if action == ADD and subscribed:
        return ALREADY_SUBSCRIBED
    if action == REMOVE and not subscribed:
        return NOT_SUBSCRIBED
    return None


def termination_dates(period_start, period_end):
    """Art. 10: a convention may be terminated on each 1 January after its first year and
    within its period (1 January 2023 and 1 January 2024 for 2022–2024)."""
    return [date(year, 1, 1) for year in range(period_start.year + 1, period_end.year + 1)]


def termination_effective_on(received_on, period_start, period_end):
    """Art. 10: ``(effective_on, None)`` — the first termination date for which the notice
    arrived by 30 September of the year before — or ``(None, reason)``."""
    if received_on < period_start:
        return None, NOTICE_BEFORE_PERIOD
    for effective_on in termination_dates(period_start, period_end):
        deadline = date(effective_on.year - 1, *LAST_DAY_OF_NOTICE)
        if received_on <= deadline:
            return effective_on, None
    return None, NOTICE_TOO_LATE


def closing_date(period, effective_on):
    """When a termination on ``effective_on`` ends ``period``: on that date, or at its own
    start for a period that had not begun yet (it is then never in force)."""
    if period.effective_until is not None and period.effective_until <= effective_on:
        return period.effective_until
    return max(period.effective_from, effective_on)
