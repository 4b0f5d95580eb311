"""Working days: weekends and French public holidays are not."""

from datetime import date

import pytest

from servicekit.calendar import add_working_days, is_working_day, next_working_day_from


@pytest.mark.parametrize("day, working", [
    (date(2026, 11, 27), True),    # a Friday
    (date(2026, 11, 28), False),   # a Saturday
    (date(2026, 11, 29), False),   # a Sunday
    (date(2026, 11, 11), False),   # Armistice, a Wednesday
    (date(2026, 5, 25), False),    # Whit Monday
    (date(2026, 12, 26), False),   # no Saint Stephen's day outside Alsace-Moselle, but a Saturday
    (date(2027, 12, 27), True),    # a Monday after Christmas
])
def test_working_days(day, working):
    assert is_working_day(day) is working


@pytest.mark.parametrize("day, expected", [
    (date(2026, 11, 27), date(2026, 11, 27)),
    (date(2026, 11, 28), date(2026, 11, 30)),
    (date(2026, 12, 25), date(2026, 12, 28)),  # Christmas on a Friday, then the weekend
])
def test_the_next_working_day_from(day, expected):
    assert next_working_day_from(day) == expected


@pytest.mark.parametrize("day, count, expected", [
    (date(2026, 11, 27), 1, date(2026, 11, 30)),    # Friday + 1 = Monday
    (date(2026, 11, 28), 1, date(2026, 11, 30)),    # from a Saturday
    (date(2026, 11, 2), 10, date(2026, 11, 17)),    # 11 November falls in between
    (date(2026, 12, 18), 10, date(2027, 1, 5)),     # Christmas and New Year's Day
    (date(2026, 11, 27), 0, date(2026, 11, 27)),
])
def test_adding_working_days(day, count, expected):
    assert add_working_days(day, count) == expected
