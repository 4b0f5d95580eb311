"""The relay's rules (R9, art. 78 loi 2005-102 as modified by art. 105 loi 2016-1321, décret
2017-875): weekly hours and closures, opening and next opening (public holidays, midnight, the
clocks' changes in Europe/Paris), the share of hours to cover (half until 30 September 2026,
all from 1 October 2026), reception minutes, a month's usage and the links' tokens."""

import base64
import re
from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction

import pytest

from servicekit.clock import LEGAL_TIME_ZONE
from services.accessibility.rules import (
    CHANNELS,
    MODES,
    check_closures,
    check_hours,
    is_open,
    is_public_holiday,
    next_opening,
    reception_minutes,
    required_share,
    token_digest,
    usage,
)
from services.accessibility.rules import new_link_token as new_token

PARIS = LEGAL_TIME_ZONE


def paris(*args, fold=0):
    return datetime(*args, tzinfo=PARIS, fold=fold)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def timezone_minus(hours):
    return timezone(timedelta(hours=-hours))


# A town hall: weekdays 08:30–12:00 and 13:30–17:00 (420 minutes), Saturday 09:00–12:00 (180).
TOWN_HALL = {day: [("08:30", "12:00"), ("13:30", "17:00")] for day in range(5)}
TOWN_HALL[5] = [("09:00", "12:00")]
TOWN_HALL_WEEK = 5 * 420 + 180
SUMMER = [(date(2026, 8, 3), date(2026, 8, 14))]
# A night line: Friday 20:00 to midnight, on through Saturday 00:00–02:00.
NIGHT = {4: [("20:00", "24:00")], 5: [("00:00", "02:00")]}
# Sunday ranges around the clocks' changes (29 March and 25 October 2026, at 01:00 UTC).
SUNDAY_OVER_SPRING = {6: [("01:00", "04:00")]}
SUNDAY_IN_SPRING_GAP = {6: [("02:30", "04:00")]}
SUNDAY_INTO_AUTUMN_FOLD = {6: [("01:00", "02:15")]}
SUNDAY_IN_AUTUMN_FOLD = {6: [("02:30", "02:45")]}


# -- weekly hours and closures --------------------------------------------------------------


@pytest.mark.parametrize("weekly", [
    {},
    TOWN_HALL,
    NIGHT,
    {0: []},
    {"0": [["08:30", "12:00"]], "6": [["00:00", "24:00"]]},  # as a JSON column keeps them
    {2: [("12:00", "14:00"), ("08:00", "12:00")]},  # touching, in any order
    {3: [("00:00", "00:01"), ("23:59", "24:00")]},
])
def test_sound_hours_have_no_problem(weekly):
    assert check_hours(weekly) == []


@pytest.mark.parametrize("weekly, expected", [
    ({0: [("8:30", "12:00")]}, ["Monday (0): range 1 starts at '8:30', not a time HH:MM"]),
    ({1: [("08:30", "12:60")]}, ["Tuesday (1): range 1 ends at '12:60', not a time HH:MM"]),
    ({1: [("24:00", "24:00")]}, ["Tuesday (1): range 1 starts at '24:00'"]),
    ({1: [("08:30", "25:00")]}, ["Tuesday (1): range 1 ends at '25:00'"]),
    ({2: [("12:00", "08:30")]}, ["Wednesday (2): range 12:00–08:30 does not end after it starts."]),
    ({2: [("12:00", "12:00")]}, ["Wednesday (2): range 12:00–12:00 does not end after it starts."]),
    ({6: [("22:00", "00:00")]}, ["Sunday (6): range 22:00–00:00 does not end after it starts."]),
    ({3: [("08:30", "12:00"), ("11:00", "14:00")]},
     ["Thursday (3): range 11:00–14:00 overlaps 08:30–12:00."]),
    ({3: [("08:00", "18:00"), ("09:00", "10:00"), ("11:00", "12:00")]},
     ["Thursday (3): range 09:00–10:00 overlaps 08:00–18:00.",
      "Thursday (3): range 11:00–12:00 overlaps 08:00–18:00."]),
    ({3: [("08:00", "12:00"), ("08:00", "12:00")]},
     ["Thursday (3): range 08:00–12:00 overlaps 08:00–12:00."]),
    ({4: [("08:30",)]}, ["Friday (4): range 1 is not a [start, end] pair."]),
    ({4: "08:30-12:00"}, ["Friday (4): expected a list of [start, end] ranges."]),
    ({5: [(830, 1200)]}, ["Saturday (5): range 1 starts at 830", "Saturday (5): range 1 ends"]),
    ({7: []}, ["7: not a weekday"]),
    ({"monday": []}, ["'monday': not a weekday"]),
    ({True: []}, ["True: not a weekday"]),
    ({0: [], "0": []}, ["Monday (0): given twice."]),
    ([("08:30", "12:00")], ["Weekly hours: expected a mapping"]),
])
def test_unsound_hours_name_the_day(weekly, expected):
    problems = check_hours(weekly)
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start)


@pytest.mark.parametrize("closures, expected", [
    ([], []),
    (SUMMER, []),
    ([("2026-12-24", "2026-12-24")], []),
    ([["2026-08-03", "2026-08-14"]], []),
    ([(date(2026, 8, 14), date(2026, 8, 3))], ["Closure 1: 2026-08-14–2026-08-03 ends before"]),
    ([SUMMER[0], ("2026-13-01", "2026-13-02")], ["Closure 2: '2026-13-01'–'2026-13-02' are not"]),
    ([(datetime(2026, 8, 3), date(2026, 8, 4))], ["Closure 1:"]),
    ([("2026-08-03",)], ["Closure 1: not a [first_day, last_day] pair."]),
    ("2026-08-03", ["Closures: expected a list"]),
])
def test_closures(closures, expected):
    problems = check_closures(closures)
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start)


@pytest.mark.parametrize("day, holiday", [
    (date(2026, 1, 1), True),
    (date(2026, 4, 6), True),  # Easter Monday
    (date(2026, 5, 25), True),  # Whit Monday
    (date(2026, 7, 14), True),
    (date(2026, 8, 15), True),  # a Saturday
    (date(2026, 11, 1), True),  # a Sunday
    (date(2026, 11, 11), True),
    (date(2026, 7, 13), False),
    (date(2026, 8, 22), False),
    (date(2026, 12, 26), False),  # Alsace-Moselle's, not Hérault's
])
def test_french_public_holidays(day, holiday):
    assert is_public_holiday(day) is holiday


# -- is open --------------------------------------------------------------------------------------


@pytest.mark.parametrize("weekly, closures, at, expected", [
    # Monday 28 September 2026, the ranges' ends excluded
    (TOWN_HALL, [], paris(2026, 9, 28, 8, 29, 59), False),
    (TOWN_HALL, [], paris(2026, 9, 28, 8, 30), True),
    (TOWN_HALL, [], paris(2026, 9, 28, 11, 59, 59, 999999), True),
    (TOWN_HALL, [], paris(2026, 9, 28, 12, 0), False),
    (TOWN_HALL, [], paris(2026, 9, 28, 13, 30), True),
    (TOWN_HALL, [], paris(2026, 9, 28, 17, 0), False),
    (TOWN_HALL, [], paris(2026, 9, 27, 10, 0), False),  # a Sunday
    (TOWN_HALL, [], paris(2026, 9, 26, 10, 0), True),  # a Saturday
    (TOWN_HALL, [], paris(2026, 9, 26, 14, 0), False),
    # read in Europe/Paris: UTC+2 in summer, UTC+1 in winter
    (TOWN_HALL, [], utc(2026, 9, 28, 6, 30), True),
    (TOWN_HALL, [], utc(2026, 9, 28, 15, 0), False),
    (TOWN_HALL, [], utc(2026, 1, 5, 7, 30), True),
    (TOWN_HALL, [], utc(2026, 1, 5, 6, 30), False),
    (TOWN_HALL, [], datetime(2026, 9, 28, 3, 30, tzinfo=timezone_minus(5)), True),
    # public holidays, a Saturday one too
    (TOWN_HALL, [], paris(2026, 7, 14, 10, 0), False),
    (TOWN_HALL, [], paris(2026, 5, 25, 10, 0), False),
    (TOWN_HALL, [], paris(2026, 8, 15, 10, 0), False),
    (TOWN_HALL, [], paris(2026, 8, 22, 10, 0), True),
    # a closure, both days included, as dates or as JSON keeps them
    (TOWN_HALL, SUMMER, paris(2026, 7, 31, 10, 0), True),
    (TOWN_HALL, SUMMER, paris(2026, 8, 3, 10, 0), False),
    (TOWN_HALL, SUMMER, paris(2026, 8, 14, 16, 0), False),
    (TOWN_HALL, SUMMER, paris(2026, 8, 17, 10, 0), True),
    (TOWN_HALL, [["2026-08-03", "2026-08-14"]], paris(2026, 8, 10, 10, 0), False),
    # midnight: 24:00 ends a day, 00:00 starts the next
    (NIGHT, [], paris(2026, 10, 2, 20, 0), True),
    (NIGHT, [], paris(2026, 10, 2, 23, 59, 59), True),
    (NIGHT, [], paris(2026, 10, 3, 0, 0), True),
    (NIGHT, [], paris(2026, 10, 3, 2, 0), False),
    ({4: [("20:00", "24:00")]}, [], paris(2026, 10, 3, 0, 0), False),
    (NIGHT, [], paris(2026, 10, 2, 0, 30), False),
    # 29 March 2026: 02:00 CET is 03:00 CEST, the wall clock keeps the ranges
    (SUNDAY_OVER_SPRING, [], utc(2026, 3, 29, 0, 59, 59), True),  # 01:59:59 CET
    (SUNDAY_OVER_SPRING, [], utc(2026, 3, 29, 1, 0), True),  # 03:00 CEST
    (SUNDAY_OVER_SPRING, [], utc(2026, 3, 29, 1, 59, 59), True),  # 03:59:59 CEST
    (SUNDAY_OVER_SPRING, [], utc(2026, 3, 29, 2, 0), False),  # 04:00 CEST
    (SUNDAY_IN_SPRING_GAP, [], utc(2026, 3, 29, 0, 59, 59), False),  # 01:59:59 CET
    (SUNDAY_IN_SPRING_GAP, [], utc(2026, 3, 29, 1, 0), True),  # 03:00 CEST
    # 25 October 2026: 03:00 CEST is 02:00 CET, 02:00–03:00 comes twice
    (SUNDAY_INTO_AUTUMN_FOLD, [], utc(2026, 10, 25, 0, 10), True),  # 02:10 CEST
    (SUNDAY_INTO_AUTUMN_FOLD, [], utc(2026, 10, 25, 0, 20), False),  # 02:20 CEST
    (SUNDAY_INTO_AUTUMN_FOLD, [], utc(2026, 10, 25, 1, 10), True),  # 02:10 CET
    (SUNDAY_INTO_AUTUMN_FOLD, [], utc(2026, 10, 25, 1, 20), False),  # 02:20 CET
    (SUNDAY_IN_AUTUMN_FOLD, [], paris(2026, 10, 25, 2, 40, fold=1), True),
    ({}, [], paris(2026, 9, 28, 10, 0), False),
])
def test_is_open(weekly, closures, at, expected):
    assert is_open(weekly, closures, at) is expected


@pytest.mark.parametrize("weekly, closures, at", [
    (TOWN_HALL, [], datetime(2026, 9, 28, 10, 0)),
    ({0: [("12:00", "08:00")]}, [], paris(2026, 9, 28, 10, 0)),
    (TOWN_HALL, [("2026-08-14", "2026-08-03")], paris(2026, 9, 28, 10, 0)),
])
def test_is_open_refuses_what_it_cannot_read(weekly, closures, at):
    with pytest.raises(ValueError):
        is_open(weekly, closures, at)


# -- next opening -------------------------------------------------------------------------------


@pytest.mark.parametrize("weekly, closures, at, expected", [
    # open now: ``at`` itself, in Europe/Paris
    (TOWN_HALL, [], paris(2026, 9, 28, 10, 0), paris(2026, 9, 28, 10, 0)),
    (TOWN_HALL, [], utc(2026, 9, 28, 8, 0), paris(2026, 9, 28, 10, 0)),
    (TOWN_HALL, [], paris(2026, 9, 28, 8, 30), paris(2026, 9, 28, 8, 30)),
    # later the same day, the next day, over the weekend
    (TOWN_HALL, [], utc(2026, 9, 28, 4, 0), paris(2026, 9, 28, 8, 30)),
    (TOWN_HALL, [], paris(2026, 9, 28, 12, 0), paris(2026, 9, 28, 13, 30)),
    (TOWN_HALL, [], paris(2026, 9, 28, 17, 0), paris(2026, 9, 29, 8, 30)),
    (TOWN_HALL, [], paris(2026, 10, 2, 17, 0), paris(2026, 10, 3, 9, 0)),
    (TOWN_HALL, [], paris(2026, 10, 3, 12, 0), paris(2026, 10, 5, 8, 30)),
    # 30 September to 1 October
    (TOWN_HALL, [], paris(2026, 9, 30, 23, 59, 59), paris(2026, 10, 1, 8, 30)),
    # public holidays skipped: Tuesday 14 July, Saturday 15 August
    (TOWN_HALL, [], paris(2026, 7, 13, 17, 0), paris(2026, 7, 15, 8, 30)),
    (TOWN_HALL, [], paris(2026, 8, 14, 17, 0), paris(2026, 8, 17, 8, 30)),
    (TOWN_HALL, [], paris(2026, 12, 31, 17, 0), paris(2027, 1, 2, 9, 0)),  # 1 January
    # a closure
    (TOWN_HALL, SUMMER, paris(2026, 7, 31, 17, 0), paris(2026, 8, 1, 9, 0)),
    (TOWN_HALL, SUMMER, paris(2026, 8, 1, 12, 0), paris(2026, 8, 17, 8, 30)),
    (TOWN_HALL, SUMMER, paris(2026, 8, 5, 10, 0), paris(2026, 8, 17, 8, 30)),
    # midnight
    (NIGHT, [], paris(2026, 10, 2, 19, 0), paris(2026, 10, 2, 20, 0)),
    (NIGHT, [], paris(2026, 10, 3, 2, 0), paris(2026, 10, 9, 20, 0)),
    ({0: [("00:00", "06:00")]}, [], paris(2026, 10, 4, 23, 59, 59), paris(2026, 10, 5, 0, 0)),
    # over a change of the clocks: 08:30 stays 08:30, at another offset
    (TOWN_HALL, [], paris(2026, 3, 28, 12, 0), paris(2026, 3, 30, 8, 30)),
    (TOWN_HALL, [], paris(2026, 10, 24, 12, 0), paris(2026, 10, 26, 8, 30)),
    # a range starting in the hour March skips opens when the clocks jump
    (SUNDAY_IN_SPRING_GAP, [], paris(2026, 3, 28, 12, 0), utc(2026, 3, 29, 1, 0)),
    (SUNDAY_OVER_SPRING, [], paris(2026, 3, 29, 0, 30), paris(2026, 3, 29, 1, 0)),
    # October's repeated hour: the wall clock goes back into a range, or to its start
    (SUNDAY_INTO_AUTUMN_FOLD, [], utc(2026, 10, 25, 0, 20), utc(2026, 10, 25, 1, 0)),
    (SUNDAY_IN_AUTUMN_FOLD, [], utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30)),
    (SUNDAY_IN_AUTUMN_FOLD, [], utc(2026, 10, 25, 0, 50), utc(2026, 10, 25, 1, 30)),
    (SUNDAY_IN_AUTUMN_FOLD, [], utc(2026, 10, 25, 1, 50), paris(2026, 11, 8, 2, 30)),  # 1 Nov
])
def test_next_opening(weekly, closures, at, expected):
    opening = next_opening(weekly, closures, at)
    # Compared in UTC: Python never finds a datetime in October's repeated hour (fold=1)
    # equal to one of another zone.
    assert opening.astimezone(UTC) == expected.astimezone(UTC)
    assert opening.tzinfo is PARIS
    assert opening.utcoffset() == expected.astimezone(PARIS).utcoffset()
    assert is_open(weekly, closures, opening)
    if opening.astimezone(UTC) != at.astimezone(UTC):
        # an opening: closed the second before, told in UTC (Paris arithmetic is wall-clock)
        just_before = opening.astimezone(UTC) - timedelta(seconds=1)
        assert not is_open(weekly, closures, just_before)


@pytest.mark.parametrize("weekly, closures, at, horizon_days, expected", [
    ({}, [], paris(2026, 9, 28, 10, 0), 60, None),
    (TOWN_HALL, [("2026-08-01", "2026-12-31")], paris(2026, 8, 1, 12, 0), 60, None),
    (TOWN_HALL, [("2026-08-01", "2026-08-31")], paris(2026, 8, 1, 12, 0), 30, None),
    (TOWN_HALL, [("2026-08-01", "2026-08-31")], paris(2026, 8, 1, 12, 0), 31,
     paris(2026, 9, 1, 8, 30)),
    ({0: [("08:30", "12:00")]}, [], paris(2026, 9, 28, 12, 0), 6, None),
    ({0: [("08:30", "12:00")]}, [], paris(2026, 9, 28, 12, 0), 7, paris(2026, 10, 5, 8, 30)),
    ({0: [("08:30", "12:00")]}, [], paris(2026, 9, 28, 8, 0), 0, paris(2026, 9, 28, 8, 30)),
])
def test_next_opening_within_the_horizon(weekly, closures, at, horizon_days, expected):
    assert next_opening(weekly, closures, at, horizon_days=horizon_days) == expected


def test_next_opening_needs_an_aware_datetime():
    with pytest.raises(ValueError):
        next_opening(TOWN_HALL, [], datetime(2026, 9, 28, 10, 0))


# -- coverage -----------------------------------------------------------------------------------


@pytest.mark.parametrize("day, share", [
    (date(2024, 1, 1), Fraction(1, 2)),
    (date(2026, 9, 30), Fraction(1, 2)),
    (date(2026, 10, 1), Fraction(1)),
    (date(2026, 10, 2), Fraction(1)),
    (date(2035, 1, 1), Fraction(1)),
])
def test_required_share(day, share):
    assert required_share(day) == share
    assert isinstance(required_share(day), Fraction)


def test_required_share_is_of_a_local_day():
    with pytest.raises(ValueError):
        required_share(datetime(2026, 9, 30, 23, 30, tzinfo=UTC))


@pytest.mark.parametrize("weekly, closures, first_day, last_day, minutes", [
    (TOWN_HALL, [], date(2026, 9, 28), date(2026, 9, 28), 420),
    (TOWN_HALL, [], date(2026, 9, 27), date(2026, 9, 27), 0),
    (TOWN_HALL, [], date(2026, 9, 28), date(2026, 10, 4), TOWN_HALL_WEEK),
    (TOWN_HALL, [], date(2026, 7, 13), date(2026, 7, 19), TOWN_HALL_WEEK - 420),  # 14 July
    (TOWN_HALL, [], date(2026, 8, 10), date(2026, 8, 16), TOWN_HALL_WEEK - 180),  # 15 August
    # September (22 weekdays, 4 Saturdays), October (22, 5), November (21 less 11 November, 4)
    (TOWN_HALL, [], date(2026, 9, 1), date(2026, 9, 30), 22 * 420 + 4 * 180),
    (TOWN_HALL, [], date(2026, 10, 1), date(2026, 10, 31), 22 * 420 + 5 * 180),
    (TOWN_HALL, [], date(2026, 11, 1), date(2026, 11, 30), 20 * 420 + 4 * 180),
    (NIGHT, [], date(2026, 10, 2), date(2026, 10, 3), 240 + 120),
    ({6: [("00:00", "24:00")]}, [], date(2026, 10, 4), date(2026, 10, 4), 1440),
    # the clocks' days count the posted ranges, not the hour taken or given back
    (SUNDAY_OVER_SPRING, [], date(2026, 3, 29), date(2026, 3, 29), 180),
    (SUNDAY_INTO_AUTUMN_FOLD, [], date(2026, 10, 25), date(2026, 10, 25), 75),
    ({6: [("00:00", "24:00")]}, [], date(2026, 3, 29), date(2026, 3, 29), 1440),
    ({6: [("00:00", "24:00")]}, [], date(2026, 10, 25), date(2026, 10, 25), 1440),
    ({}, [], date(2026, 1, 1), date(2026, 12, 31), 0),
])
def test_reception_minutes(weekly, closures, first_day, last_day, minutes):
    assert reception_minutes(weekly, closures, first_day, last_day) == minutes


def test_the_summer_closure_counts_only_the_days_left():
    # August 2026: 21 weekdays less 15 August (a Saturday): 17 to 31 August are open.
    minutes = reception_minutes(TOWN_HALL, SUMMER, date(2026, 8, 1), date(2026, 8, 31))
    assert minutes == 180 + 11 * 420 + 180 + 180  # 1 Aug, 17–31 Aug weekdays, 22 and 29 Aug


def test_a_period_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError):
        reception_minutes(TOWN_HALL, [], date(2026, 10, 1), date(2026, 9, 30))


# -- usage --------------------------------------------------------------------------------------


def session(mode, channel, requested_at, taken_at=None, ended_at=None):
    return {"mode": mode, "channel": channel, "requested_at": requested_at,
            "taken_at": taken_at, "ended_at": ended_at}


MONTH = [
    # taken in 30 s, 5 min exactly
    session("lsf", "telephone", paris(2026, 9, 28, 10, 0), paris(2026, 9, 28, 10, 0, 30),
            paris(2026, 9, 28, 10, 5, 30)),
    # taken in 60 s, 2 min 1 s: 3 minutes
    session("transcription", "front_desk", paris(2026, 9, 28, 10, 10),
            paris(2026, 9, 28, 10, 11), paris(2026, 9, 28, 10, 13, 1)),
    # abandoned
    session("lfpc", "telephone", paris(2026, 9, 28, 11, 0)),
    # taken in 15 s, not ended yet
    session("lsf", "telephone", paris(2026, 9, 28, 11, 30), paris(2026, 9, 28, 11, 30, 15)),
]


def test_a_month_of_usage():
    assert usage(MONTH, 9960, 4980) == {
        "sessions": 4, "answered": 3, "unanswered": 1, "talk_minutes": 8,
        "wait_seconds_mean": 35.0, "wait_seconds_max": 60.0,
        "by_mode": {"lsf": 2, "lfpc": 1, "transcription": 1},
        "by_channel": {"telephone": 3, "front_desk": 1},
        "coverage": Fraction(1, 2),
    }


def test_a_month_without_sessions():
    figures = usage([], 0, 0)
    assert figures == {
        "sessions": 0, "answered": 0, "unanswered": 0, "talk_minutes": 0,
        "wait_seconds_mean": None, "wait_seconds_max": None,
        "by_mode": dict.fromkeys(MODES, 0), "by_channel": dict.fromkeys(CHANNELS, 0),
        "coverage": None,
    }


@pytest.mark.parametrize("taken_at, ended_at, talk_minutes", [
    (paris(2026, 9, 28, 10, 0), paris(2026, 9, 28, 10, 0), 0),
    (paris(2026, 9, 28, 10, 0), paris(2026, 9, 28, 10, 0, 0, 1), 1),
    (paris(2026, 9, 28, 10, 0), paris(2026, 9, 28, 10, 1), 1),
    (paris(2026, 9, 28, 10, 0), paris(2026, 9, 28, 10, 1, 1), 2),
    (paris(2026, 9, 30, 23, 59), paris(2026, 10, 1, 0, 1), 2),  # over midnight
    # over the October change: 02:50 CEST to 02:05 CET is 15 minutes, not -45
    (paris(2026, 10, 25, 2, 50), paris(2026, 10, 25, 2, 5, fold=1), 15),
    (utc(2026, 10, 25, 0, 50), paris(2026, 10, 25, 2, 5, fold=1), 15),
    # over the March change: 01:55 CET to 03:05 CEST is 10 minutes, not 70
    (paris(2026, 3, 29, 1, 55), paris(2026, 3, 29, 3, 5), 10),
])
def test_talk_minutes_are_rounded_up_per_session(taken_at, ended_at, talk_minutes):
    requested_at = taken_at.astimezone(UTC) - timedelta(seconds=20)
    figures = usage([session("lsf", "telephone", requested_at, taken_at, ended_at)], 1, 1)
    assert figures["talk_minutes"] == talk_minutes
    assert figures["wait_seconds_mean"] == figures["wait_seconds_max"] == 20.0


def test_waits_over_the_october_change_are_elapsed_time():
    relayed = session("lsf", "telephone", paris(2026, 10, 25, 2, 50),
                      paris(2026, 10, 25, 2, 5, fold=1))
    assert usage([relayed], 1, 1)["wait_seconds_max"] == 900.0


@pytest.mark.parametrize("reception, relay_open, coverage", [
    (TOWN_HALL_WEEK, TOWN_HALL_WEEK // 2, Fraction(1, 2)),
    (TOWN_HALL_WEEK, TOWN_HALL_WEEK // 2 - 1, Fraction(1139, 2280)),
    (TOWN_HALL_WEEK, TOWN_HALL_WEEK, Fraction(1)),
    (TOWN_HALL_WEEK, 3000, Fraction(1)),
    (TOWN_HALL_WEEK, 0, Fraction(0)),
    (3, 1, Fraction(1, 3)),
    (0, 0, None),
    (0, 120, None),
])
def test_coverage(reception, relay_open, coverage):
    assert usage([], reception, relay_open)["coverage"] == coverage


@pytest.mark.parametrize("relay_open, day, compliant", [
    (1140, date(2026, 9, 30), True),
    (1139, date(2026, 9, 30), False),
    (1140, date(2026, 10, 1), False),
    (2279, date(2026, 10, 1), False),
    (2280, date(2026, 10, 1), True),
])
def test_coverage_against_the_required_share(relay_open, day, compliant):
    coverage = usage([], TOWN_HALL_WEEK, relay_open)["coverage"]
    assert (coverage >= required_share(day)) is compliant


@pytest.mark.parametrize("sessions, reception, relay_open", [
    ([session("asl", "telephone", paris(2026, 9, 28, 10, 0))], 1, 1),
    ([session("lsf", "email", paris(2026, 9, 28, 10, 0))], 1, 1),
    ([session("lsf", "telephone", paris(2026, 9, 28, 10, 0), paris(2026, 9, 28, 9, 59))], 1, 1),
    ([session("lsf", "telephone", paris(2026, 9, 28, 10, 0), paris(2026, 9, 28, 10, 1),
              paris(2026, 9, 28, 10, 0, 30))], 1, 1),
    ([session("lsf", "telephone", datetime(2026, 9, 28, 10, 0), datetime(2026, 9, 28, 10, 1))],
     1, 1),
    ([], -1, 0),
    ([], 1, -1),
])
def test_usage_refuses_impossible_sessions(sessions, reception, relay_open):
    with pytest.raises(ValueError):
        usage(sessions, reception, relay_open)


# -- links ----------------------------------------------------------------------------------------


def test_link_tokens_are_256_bit_and_url_safe():
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        assert len(base64.urlsafe_b64decode(token + "=")) == 32


@pytest.mark.parametrize("token, digest", [
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
])
def test_token_digest_is_sha256_hex(token, digest):
    assert token_digest(token) == digest


def test_only_the_digest_is_kept():
    token = new_token()
    digest = token_digest(token)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert token not in digest
    assert token_digest(token) == digest
    assert token_digest(new_token()) != digest
