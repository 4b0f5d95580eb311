"""The procurement rules: the deposit's second (R6.2), late bids (R2151-5 / R2143-2), questions
and the opening, the order of the deadlines, retention (R2184-12) and the DECP number."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.procurement.rules import (
    deadlines_refusal,
    decp_contract_id,
    deposited_at,
    in_paris,
    is_late,
    may_destroy,
    may_open,
    questions_open,
    retention_until,
)

PARIS = ZoneInfo("Europe/Paris")
# Deadlines are written as local times: noon in Paris, 10:00 UTC in summer.
DEADLINE = datetime(2026, 6, 15, 12, 0, tzinfo=PARIS)
SECOND = timedelta(seconds=1)


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("now, expected", [
    (_utc(2026, 6, 15, 9, 59, 59, 999999), _utc(2026, 6, 15, 9, 59, 59)),
    (_utc(2026, 6, 15, 23, 59, 59, 999999), _utc(2026, 6, 15, 23, 59, 59)),  # not the next day
    (_utc(2026, 12, 31, 23, 59, 59, 999999), _utc(2026, 12, 31, 23, 59, 59)),  # nor year
    (_utc(2026, 6, 15, 10, 0, 0, 1), _utc(2026, 6, 15, 10, 0, 0)),
    (_utc(2026, 6, 15, 10, 0, 0), _utc(2026, 6, 15, 10, 0, 0)),
])
def test_a_deposit_is_timed_to_the_second_truncated(now, expected):
    assert deposited_at(now) == expected


def test_the_deposit_keeps_its_time_zone():
    now = datetime(2026, 6, 15, 11, 59, 59, 500000, tzinfo=PARIS)
    assert deposited_at(now).tzinfo is PARIS


@pytest.mark.parametrize("deposited, late", [
    (DEADLINE - timedelta(days=3), False),
    (DEADLINE - SECOND, False),
    (DEADLINE, False),                                       # the deadline's second itself
    (DEADLINE + timedelta(microseconds=999999), False),      # still within that second
    (DEADLINE + SECOND, True),
    (DEADLINE + timedelta(seconds=1, microseconds=1), True),
    (DEADLINE + timedelta(days=1), True),
    # the server's clock is in UTC; the deadline in Paris (UTC+2 in June)
    (_utc(2026, 6, 15, 10, 0, 0), False),
    (_utc(2026, 6, 15, 10, 0, 1), True),
    (_utc(2026, 6, 15, 11, 30), True),                       # noon in London is too late
])
def test_a_bid_after_the_deadline_is_late(deposited, late):
    assert is_late(DEADLINE, deposited) is late


def test_a_deadline_written_in_winter_time():
    deadline = datetime(2026, 1, 15, 12, 0, tzinfo=PARIS)
    assert not is_late(deadline, _utc(2026, 1, 15, 11, 0, 0))
    assert is_late(deadline, _utc(2026, 1, 15, 11, 0, 1))


@pytest.mark.parametrize("now, is_open", [
    (DEADLINE - timedelta(days=10), True),
    (DEADLINE - SECOND, True),
    (DEADLINE, True),                                        # the deadline's exact second
    (DEADLINE + timedelta(microseconds=999999), True),
    (DEADLINE + SECOND, False),
    (DEADLINE + timedelta(days=1), False),
])
def test_questions_until_their_deadline(now, is_open):
    assert questions_open(DEADLINE, now) is is_open


@pytest.mark.parametrize("now, allowed", [
    (DEADLINE - timedelta(days=1), False),
    (DEADLINE - SECOND, False),
    (DEADLINE, False),
    # a bid uploaded now would still be on time: the opening waits
    (DEADLINE + timedelta(microseconds=999999), False),
    (DEADLINE + SECOND, True),
    (DEADLINE + timedelta(days=30), True),
])
def test_bids_are_opened_after_the_deadline(now, allowed):
    assert may_open(DEADLINE, now) is allowed


@pytest.mark.parametrize("moment", [
    DEADLINE - SECOND, DEADLINE, DEADLINE + timedelta(microseconds=500000), DEADLINE + SECOND,
])
def test_no_bid_is_on_time_once_the_opening_may_start(moment):
    """At no moment may the bids be opened while a deposit would still be on time."""
    assert not (may_open(DEADLINE, moment) and not is_late(DEADLINE, moment))


PUBLISHED = datetime(2026, 6, 1, 9, 0, tzinfo=PARIS)


@pytest.mark.parametrize("questions_deadline, bid_deadline, errors", [
    (DEADLINE - timedelta(days=6), DEADLINE, None),
    (DEADLINE, DEADLINE, None),                          # questions close with the bids
    (PUBLISHED + SECOND, PUBLISHED + SECOND, None),
    (DEADLINE + SECOND, DEADLINE, {"questions_deadline"}),
    (PUBLISHED, DEADLINE, {"questions_deadline"}),
    (PUBLISHED - timedelta(days=1), DEADLINE, {"questions_deadline"}),
    # bids due by the publication leave no room for questions either
    (PUBLISHED - timedelta(days=2), PUBLISHED, {"bid_deadline", "questions_deadline"}),
    (PUBLISHED - timedelta(days=2), PUBLISHED - timedelta(days=1),
     {"bid_deadline", "questions_deadline"}),
    (PUBLISHED, PUBLISHED - timedelta(days=1), {"bid_deadline", "questions_deadline"}),
])
def test_deadlines_follow_each_other(questions_deadline, bid_deadline, errors):
    refusal = deadlines_refusal(PUBLISHED, questions_deadline, bid_deadline)
    assert (None if refusal is None else set(refusal)) == errors
    assert refusal is None or all(
        isinstance(messages, list) and messages for messages in refusal.values())


def test_deadlines_compare_instants_across_time_zones():
    published = _utc(2026, 6, 1, 9, 0)
    # 11:30 in Paris is 09:30 UTC: after the publication
    assert deadlines_refusal(published, datetime(2026, 6, 1, 11, 30, tzinfo=PARIS),
                             DEADLINE) is None
    # 10:30 in Paris is 08:30 UTC: before it
    assert set(deadlines_refusal(published, datetime(2026, 6, 1, 10, 30, tzinfo=PARIS),
                                 DEADLINE)) == {"questions_deadline"}


@pytest.mark.parametrize("awarded_on, until", [
    (date(2026, 6, 15), date(2031, 6, 15)),
    (date(2026, 12, 31), date(2031, 12, 31)),
    (date(2024, 2, 29), date(2029, 2, 28)),     # no 29 February in 2029
    (date(2023, 2, 28), date(2028, 2, 28)),     # 2028 has one, but the 28th is the day
    (date(2023, 3, 1), date(2028, 3, 1)),
])
def test_documents_are_kept_five_years_from_the_award(awarded_on, until):
    assert retention_until(awarded_on) == until


UNTIL = date(2031, 6, 15)


@pytest.mark.parametrize("today, decision, allowed", [
    (date(2031, 6, 16), "Visa archives 2031-118", True),
    (date(2040, 1, 1), "Délibération 2039-12", True),
    (UNTIL, "Visa archives 2031-118", False),               # the last day of retention
    (date(2031, 6, 14), "Visa archives 2031-118", False),
    (date(2031, 6, 16), None, False),                       # no decision recorded
    (date(2031, 6, 16), "", False),
    (date(2031, 6, 16), "   ", False),
])
def test_documents_are_destroyed_after_retention_and_with_a_decision(today, decision, allowed):
    assert may_destroy(UNTIL, today, decision) is allowed


@pytest.mark.parametrize("reference, lot, year, expected", [
    ("2026-MAPA-014", 1, 2026, "20262026MAPA0141"),
    ("mapa-14", 2, 2026, "2026MAPA142"),                     # uppercase
    ("AO.2026/07", 12, 2027, "2027AO20260712"),
    ("A", 1, 2026, "2026A1"),
    # too long: the reference loses its head, the year and the lot stay whole
    ("2026-MAPA-0014", 3, 2026, "2026026MAPA00143"),
    ("2026-MAPA-014", 12, 2026, "2026026MAPA01412"),
    ("2026-MAPA-014", 999, 2026, "202626MAPA014999"),
    ("VOIRIE-ECLAIRAGE-PUBLIC-2026-0042", 7, 2026, "2026LIC202600427"),
])
def test_the_decp_contract_id(reference, lot, year, expected):
    contract_id = decp_contract_id(reference, lot, year)
    assert contract_id == expected
    assert 1 <= len(contract_id) <= 16


def test_the_lots_of_a_long_reference_keep_distinct_ids():
    reference = "2026-TRAVAUX-GROUPE-SCOLAIRE-0001"
    ids = {decp_contract_id(reference, lot, 2026) for lot in range(1, 1000)}
    assert len(ids) == 999


@pytest.mark.parametrize("moment, local", [
    # the spring change, Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST
    (_utc(2026, 3, 29, 0, 59, 59), datetime(2026, 3, 29, 1, 59, 59)),
    (_utc(2026, 3, 29, 1, 0, 0), datetime(2026, 3, 29, 3, 0, 0)),
    (_utc(2026, 3, 29, 10, 0), datetime(2026, 3, 29, 12, 0)),
    # the autumn change, Sunday 25 October 2026: 02:30 happens twice
    (_utc(2026, 10, 25, 0, 30), datetime(2026, 10, 25, 2, 30)),
    (_utc(2026, 10, 25, 1, 30), datetime(2026, 10, 25, 2, 30)),
    (_utc(2026, 10, 25, 11, 0), datetime(2026, 10, 25, 12, 0)),
    (_utc(2026, 1, 15, 11, 0), datetime(2026, 1, 15, 12, 0)),
])
def test_in_paris(moment, local):
    assert in_paris(moment).replace(tzinfo=None) == local
    # (not ``== moment``: Python never finds an ambiguous local time equal to another zone's)
    assert in_paris(moment).astimezone(UTC) == moment


def test_in_paris_tells_the_two_half_past_two_apart():
    first = in_paris(_utc(2026, 10, 25, 0, 30))
    second = in_paris(_utc(2026, 10, 25, 1, 30))
    assert (first.utcoffset(), second.utcoffset()) == (timedelta(hours=2), timedelta(hours=1))


def test_a_deadline_on_the_day_clocks_change():
    """Noon in Paris on the day of the spring change is 10:00 UTC, not 11:00."""
    deadline = datetime(2026, 3, 29, 12, 0, tzinfo=PARIS)
    assert not is_late(deadline, _utc(2026, 3, 29, 10, 0, 0))
    assert is_late(deadline, _utc(2026, 3, 29, 10, 0, 1))
    assert in_paris(_utc(2026, 3, 29, 10, 0)) == deadline


def test_a_deadline_at_an_hour_that_happens_twice():
    """02:30 on 25 October 2026 is first 00:30 UTC (fold=0, summer time), then 01:30 UTC."""
    first = datetime(2026, 10, 25, 2, 30, tzinfo=PARIS)
    second = first.replace(fold=1)
    assert not is_late(first, _utc(2026, 10, 25, 0, 30, 0))
    assert is_late(first, _utc(2026, 10, 25, 0, 30, 1))
    assert not is_late(second, _utc(2026, 10, 25, 1, 30, 0))
    assert is_late(second, _utc(2026, 10, 25, 1, 30, 1))
    assert questions_open(first, _utc(2026, 10, 25, 0, 30, 0))
    assert not questions_open(first, _utc(2026, 10, 25, 0, 30, 1))


def test_in_paris_refuses_a_naive_datetime():
    with pytest.raises(ValueError):
        in_paris(datetime(2026, 6, 15, 12, 0))
