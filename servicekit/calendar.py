"""Working days in metropolitan France: the days on which legal delays end, and are counted."""

from datetime import timedelta

import holidays

# Metropolitan France's public holidays (Code du travail L3133-1); Hérault has no local ones.
_FRENCH_PUBLIC_HOLIDAYS = holidays.country_holidays("FR")


def is_public_holiday(day):
    """Whether ``day`` is a French public holiday (Code du travail L3133-1), a weekend one
    included."""
    return day in _FRENCH_PUBLIC_HOLIDAYS


def is_working_day(day):
    return day.weekday() < 5 and not is_public_holiday(day)


def next_working_day_from(day):
    """``day`` itself if it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day, count):
    """The ``count``-th working day after ``day`` (``day`` itself not counted)."""
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day
