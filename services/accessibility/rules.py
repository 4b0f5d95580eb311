"""Rules of the accessibility relay, free of Nameko and of the database: a reception point's
weekly hours and closures, whether it is open and when it next opens, the share of its hours
the relay must cover, its reception minutes over a period, a month's usage and the relay links'
tokens.

Legal source (R9): article 78 of loi 2005-102, as modified by article 105 of loi 2016-1321,
and décret 2017-875: public services offer deaf and hard-of-hearing people, on request, a
simultaneous written and visual translation of their telephone reception (real-time
transcription, French sign language (LSF), cued speech (LfPC)), directly or through an online
platform, free for the user.

Weekly hours are a mapping weekday (0 = Monday … 6 = Sunday; "0" … "6" as JSON keeps them) to
a list of (start, end) local times "HH:MM", each range half-open: open from ``start`` included
to ``end`` excluded. "24:00" may end a range (open until midnight); a range never crosses
midnight (one ending at 24:00 and the next day's starting at 00:00 say so). Times are wall-clock
times in Europe/Paris, so a range keeps its hours on the days the clocks change. A weekday left
out is a day closed.

Closures are (first_day, last_day) pairs of dates, both included (a date or "YYYY-MM-DD"): the
point is closed on those days whatever its hours. French public holidays close it too.
"""

import hashlib
import math
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

# The register of public holidays the suite keeps (Code du travail L3133-1): reused, not
# re-listed. servicekit.calendar offers only working days, which a Saturday never is, and a
# point open on Saturdays is closed on a Saturday 15 August.
from servicekit.calendar import is_public_holiday
from servicekit.clock import LEGAL_TIME_ZONE

MODES = ("lsf", "lfpc", "transcription")
CHANNELS = ("telephone", "front_desk")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Until 30 September 2026, at least half of the telephone reception's opening hours; from
# 1 October 2026, all of them (art. 105 loi 2016-1321, décret 2017-875).
FULL_COVERAGE_FROM = date(2026, 10, 1)
SHARE_UNTIL_SEPTEMBER_2026 = Fraction(1, 2)
FULL_SHARE = Fraction(1)

DAY_MINUTES = 24 * 60
LINK_TOKEN_BYTES = 32  # 256 bits

_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_MIDNIGHT_END = "24:00"


# -- weekly hours and closures --------------------------------------------------------------


def _minutes(text, may_be_midnight_end=False):
    """Minutes since midnight of "HH:MM", or None when it is not such a time."""
    if not isinstance(text, str):
        return None
    if may_be_midnight_end and text == _MIDNIGHT_END:
        return DAY_MINUTES
    match = _TIME.fullmatch(text)
    if match is None:
        return None
    return int(match.group(1)) * 60 + int(match.group(2))


def _weekday(key):
    """The weekday 0..6 of a key of the weekly hours (an int, or its digits as JSON keeps
    them), or None."""
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key if 0 <= key <= 6 else None
    if isinstance(key, str) and key in ("0", "1", "2", "3", "4", "5", "6"):
        return int(key)
    return None


def _day_problems(label, ranges):
    """The problems of one day's ranges, and the ranges read as minutes (sorted) when there
    are none."""
    if not isinstance(ranges, list | tuple):
        return [f"{label}: expected a list of [start, end] ranges."], []
    problems, read = [], []
    for position, pair in enumerate(ranges, start=1):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            problems.append(f"{label}: range {position} is not a [start, end] pair.")
            continue
        start, end = _minutes(pair[0]), _minutes(pair[1], may_be_midnight_end=True)
        if start is None:
            problems.append(f"{label}: range {position} starts at {pair[0]!r}, not a time "
                            f"HH:MM (00:00 to 23:59).")
        if end is None:
            problems.append(f"{label}: range {position} ends at {pair[1]!r}, not a time "
                            f"HH:MM (00:01 to 24:00).")
        if start is None or end is None:
            continue
        if end <= start:
            problems.append(f"{label}: range {pair[0]}–{pair[1]} does not end after it "
                            f"starts.")
            continue
        read.append((start, end, pair))
    read.sort(key=lambda item: item[0])
    # Each range against the one reaching furthest before it: a long range may cover several.
    furthest = None
    for start, end, pair in read:
        if furthest is not None and start < furthest[1]:
            problems.append(f"{label}: range {pair[0]}–{pair[1]} overlaps "
                            f"{furthest[2][0]}–{furthest[2][1]}.")
        if furthest is None or end > furthest[1]:
            furthest = (start, end, pair)
    return problems, [(start, end) for start, end, _ in read]


def _read_hours(weekly):
    """(problems, {weekday: [(start, end) minutes, sorted]})."""
    if not isinstance(weekly, Mapping):
        return ["Weekly hours: expected a mapping of weekday (0 = Monday … 6 = Sunday) to "
                "ranges."], {}
    problems, hours = [], {}
    for key, ranges in weekly.items():
        day = _weekday(key)
        if day is None:
            problems.append(f"{key!r}: not a weekday (0 = Monday … 6 = Sunday).")
            continue
        if day in hours:
            problems.append(f"{WEEKDAYS[day]} ({day}): given twice.")
            continue
        day_problems, hours[day] = _day_problems(f"{WEEKDAYS[day]} ({day})", ranges)
        problems.extend(day_problems)
    return problems, hours


def check_hours(weekly):
    """The problems of weekly hours, each a sentence naming the day ("Monday (0): range
    12:00–14:00 overlaps 08:00–12:30."), for a 422; an empty list when they are sound.

    Each range is a [start, end] pair of "HH:MM" local times with end after start; "24:00"
    may only end a range. Ranges of one day must not overlap; two ranges that touch (08:00–
    12:00 and 12:00–14:00) do not, since a range is open up to its end excluded."""
    return _read_hours(weekly)[0]


def _day(value):
    if isinstance(value, datetime):
        raise ValueError(f"{value!r} is a datetime, not a day")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise ValueError(f"{value!r} is not a day")


def check_closures(closures):
    """The problems of closures, each a sentence naming the closure, for a 422: each one is
    a [first_day, last_day] pair of days ("YYYY-MM-DD"), both included, the last not before
    the first (a one-day closure gives the same day twice)."""
    if not isinstance(closures, list | tuple):
        return ["Closures: expected a list of [first_day, last_day] pairs."]
    problems = []
    for position, pair in enumerate(closures, start=1):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            problems.append(f"Closure {position}: not a [first_day, last_day] pair.")
            continue
        try:
            first, last = _day(pair[0]), _day(pair[1])
        except ValueError:
            problems.append(f"Closure {position}: {pair[0]!r}–{pair[1]!r} are not days "
                            f"YYYY-MM-DD.")
            continue
        if last < first:
            problems.append(f"Closure {position}: {first}–{last} ends before it starts.")
    return problems


def _hours(weekly):
    problems, hours = _read_hours(weekly)
    if problems:
        raise ValueError(" ".join(problems))
    return hours


def _closures(closures):
    problems = check_closures(closures)
    if problems:
        raise ValueError(" ".join(problems))
    return [(_day(first), _day(last)) for first, last in closures]


def _ranges_on(hours, closures, day):
    """The ranges (minutes) the point keeps on ``day``: none on a public holiday or in a
    closure."""
    if is_public_holiday(day) or any(first <= day <= last for first, last in closures):
        return []
    return hours.get(day.weekday(), [])


# -- opening ----------------------------------------------------------------------------------


def _local(at):
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} is not an aware datetime")
    return at.astimezone(LEGAL_TIME_ZONE)


def _open_in(ranges, local):
    """Whether the wall-clock time of ``local`` falls in one of ``ranges``."""
    seconds = (local.hour * 3600 + local.minute * 60 + local.second
               + local.microsecond / 1_000_000)
    return any(start * 60 <= seconds < end * 60 for start, end in ranges)


def is_open(weekly, closures, at):
    """Whether the reception point is open at ``at`` (an aware datetime, read in
    Europe/Paris): its wall-clock time falls in a range of its weekday, the day is no French
    public holiday and in no closure. The relay is offered only then (décret 2017-875: the
    relay follows the telephone reception's opening hours)."""
    local = _local(at)
    return _open_in(_ranges_on(_hours(weekly), _closures(closures), local.date()), local)


def _clock_change(day):
    """The instant (UTC) the clocks change on ``day`` in Europe/Paris, or None: the first
    second whose offset differs from the one at midnight."""
    start = datetime.combine(day, time(), tzinfo=LEGAL_TIME_ZONE).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(),
                           tzinfo=LEGAL_TIME_ZONE).astimezone(UTC)
    offset = start.astimezone(LEGAL_TIME_ZONE).utcoffset()
    if (end - timedelta(seconds=1)).astimezone(LEGAL_TIME_ZONE).utcoffset() == offset:
        return None
    low, high = start, end - timedelta(seconds=1)  # offset unchanged at low, changed at high
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(LEGAL_TIME_ZONE).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return high


def _openings(ranges, day):
    """The instants (UTC) at which the point may open on ``day``: each range's start, read
    in both folds (in the hour repeated in October, 02:30 comes twice), and the change of the
    clocks (in March a range starting at 02:30 opens at 03:00, when the clocks jump over it;
    in October the wall clock goes back into a range that had closed)."""
    instants = []
    for start, _ in ranges:
        wall = datetime.combine(day, time(start // 60, start % 60), tzinfo=LEGAL_TIME_ZONE)
        instants += [wall.astimezone(UTC), wall.replace(fold=1).astimezone(UTC)]
    change = _clock_change(day)
    if change is not None:
        instants.append(change)
    return sorted(set(instants))


def next_opening(weekly, closures, at, horizon_days=60):
    """When the reception point next opens at or after ``at`` (an aware datetime): ``at``
    itself (in Europe/Paris) when it is open then, else the first instant after it at which
    it opens, in Europe/Paris; None when it does not open on ``at``'s local day nor on the
    ``horizon_days`` days after it (a point closed for good, or for a long closure). Told to
    a caller outside the hours: when to call back.

    The point opens only at a range's start or when the clocks change, so those instants are
    tried in order, each checked with ``is_open``: a range starting in the hour skipped in
    March opens when the clocks jump; public holidays and closures are skipped. An opening in
    the hour repeated in October comes with fold=1 (02:30 CET): compare it in UTC, as Python
    never finds such a datetime equal to one of another zone."""
    local = _local(at)
    hours, closed = _hours(weekly), _closures(closures)
    if _open_in(_ranges_on(hours, closed, local.date()), local):
        return local
    # Instants are compared in UTC: two datetimes of one zone compare by their wall clocks,
    # which in the hour repeated in October says 02:00 CET comes before 02:20 CEST.
    after = local.astimezone(UTC)
    for offset in range(horizon_days + 1):
        day = local.date() + timedelta(days=offset)
        ranges = _ranges_on(hours, closed, day)
        if not ranges:
            continue
        for instant in _openings(ranges, day):
            moment = instant.astimezone(LEGAL_TIME_ZONE)
            if instant > after and moment.date() == day and _open_in(ranges, moment):
                return moment
    return None


# -- coverage -----------------------------------------------------------------------------------


def required_share(day):
    """The share of the telephone reception's opening hours the relay must cover on ``day``:
    1/2 until 30 September 2026, 1 (all of them) from 1 October 2026 (art. 105 loi 2016-1321,
    décret 2017-875).

    A ``Fraction``: exact, so a commune covering exactly half of its hours (say 1,105 minutes
    of 2,210) is judged compliant, which a float might miss by a rounding; and it compares
    directly with ``usage``'s coverage, a Fraction too."""
    if isinstance(day, datetime):
        raise ValueError(f"{day!r} is a datetime: give the local day")
    return FULL_SHARE if day >= FULL_COVERAGE_FROM else SHARE_UNTIL_SEPTEMBER_2026


def reception_minutes(weekly, closures, first_day, last_day):
    """The minutes the reception point is open from ``first_day`` to ``last_day``, both
    included: the sum of each day's ranges, public holidays and closures left out. Ranges are
    counted by the wall clock, as the hours are posted: 08:00–12:00 is 240 minutes on the days
    the clocks change too (a range over 02:00–03:00 counts its posted length, not the hour
    that March takes or October adds). The denominator of the relay's coverage."""
    if last_day < first_day:
        raise ValueError(f"the period ends ({last_day}) before it starts ({first_day})")
    hours, closed = _hours(weekly), _closures(closures)
    total, day = 0, first_day
    while day <= last_day:
        total += sum(end - start for start, end in _ranges_on(hours, closed, day))
        day += timedelta(days=1)
    return total


# -- usage ----------------------------------------------------------------------------------------


def _seconds(start, end):
    """Seconds from ``start`` to ``end``, both aware, taken in UTC: between two datetimes of
    one zone Python subtracts wall clocks, an hour wrong across the October change."""
    return (_utc(end) - _utc(start)).total_seconds()


def _utc(moment):
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is not an aware datetime")
    return moment.astimezone(UTC)


def _talk_minutes(session):
    taken, ended = session.get("taken_at"), session.get("ended_at")
    if taken is None or ended is None:
        return 0
    seconds = _seconds(taken, ended)
    if seconds < 0:
        raise ValueError(f"a session ended ({ended}) before it was taken ({taken})")
    return math.ceil(seconds / 60)


def usage(sessions, reception_minutes, relay_open_minutes):
    """A month's usage of a reception point's relay, for the commune's report. ``sessions``
    are mappings {mode, channel, requested_at, taken_at or None, ended_at or None} (aware
    datetimes).

    - "sessions": the sessions requested.
    - "answered": those an interpreter took (``taken_at`` set); "unanswered": the others,
      abandoned or still waiting when the report is made.
    - "talk_minutes": the sum, over the sessions taken and ended, of taken→ended, each
      session rounded up to the whole minute (a minute started is a minute of interpreting,
      as relay providers count it); a session not ended yet counts 0.
    - "wait_seconds_mean", "wait_seconds_max": requested→taken of the answered sessions, in
      seconds to the tenth; None when none was answered (an abandoned request has no wait
      that ended).
    - "by_mode", "by_channel": sessions per mode and per channel, every one present (0 too).
    - "coverage": ``relay_open_minutes`` / ``reception_minutes``, as a Fraction, to compare
      with ``required_share``; ``relay_open_minutes`` are the relay's minutes within the
      reception hours, and any beyond them count no more than all of them (at most 1). None
      when the point had no reception minutes.
    """
    if reception_minutes < 0 or relay_open_minutes < 0:
        raise ValueError("minutes cannot be negative")
    by_mode, by_channel = dict.fromkeys(MODES, 0), dict.fromkeys(CHANNELS, 0)
    waits, talk = [], 0
    for session in sessions:
        if session["mode"] not in by_mode:
            raise ValueError(f"no relay mode {session['mode']!r}")
        if session["channel"] not in by_channel:
            raise ValueError(f"no reception channel {session['channel']!r}")
        by_mode[session["mode"]] += 1
        by_channel[session["channel"]] += 1
        if session.get("taken_at") is not None:
            wait = _seconds(session["requested_at"], session["taken_at"])
            if wait < 0:
                raise ValueError("a session was taken before it was requested")
            waits.append(wait)
        talk += _talk_minutes(session)
    count = sum(by_mode.values())
    return {
        "sessions": count,
        "answered": len(waits),
        "unanswered": count - len(waits),
        "talk_minutes": talk,
        "wait_seconds_mean": round(sum(waits) / len(waits), 1) if waits else None,
        "wait_seconds_max": round(max(waits), 1) if waits else None,
        "by_mode": by_mode,
        "by_channel": by_channel,
        "coverage": (min(Fraction(relay_open_minutes) / Fraction(reception_minutes), FULL_SHARE)
                     if reception_minutes else None),
    }


# -- relay links ------------------------------------------------------------------------------


def new_link_token():
    """A new relay link's token: 32 random bytes (256 bits) from ``secrets``, URL-safe base64
    (43 characters), unguessable, so that the link itself is the access to the relay. Shown
    once to the commune; only its digest is kept."""
    return secrets.token_urlsafe(LINK_TOKEN_BYTES)


def token_digest(token):
    """The SHA-256 of ``token`` (UTF-8), in hex (64 characters): what is stored and looked up,
    so that a copy of the database gives no working link. A plain hash suffices: the token
    has 256 bits of randomness, nothing to guess."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
