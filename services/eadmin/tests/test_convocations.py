"""Rule R1: the convocation's delay in jours francs (CGCT L2121-11, L2121-12)."""

from datetime import date, timedelta

import pytest

from services.eadmin.convocations import (
    earliest_session_on,
    is_lawful,
    jours_francs_between,
    minimum_jours_francs,
    new_link_token,
    requires_explanatory_note,
)

# March 2024: Monday 4, Thursday 7, Friday 8, Saturday 9, Sunday 10, Monday 11.
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2024, 3, day) for day in range(4, 11))
NEXT_MON, NEXT_TUE, NEXT_WED = date(2024, 3, 11), date(2024, 3, 12), date(2024, 3, 13)


@pytest.mark.parametrize(
    "population, urgent, required",
    [
        (0, False, 3),
        (120, False, 3),
        (3_499, False, 3),
        (3_500, False, 5),
        (3_501, False, 5),
        (300_000, False, 5),
        (3_499, True, 1),
        (3_500, True, 1),
        (300_000, True, 1),
    ],
)
def test_the_minimum_depends_on_the_population_and_urgency(population, urgent, required):
    assert minimum_jours_francs(population, urgent) == required


@pytest.mark.parametrize(
    "sent_on, session_on, population, urgent, lawful",
    [
        # Under 3,500 inhabitants: 3 jours francs.
        (MON, FRI, 3_499, False, True),  # Tue, Wed, Thu
        (MON, THU, 3_499, False, False),  # Tue, Wed
        (THU, NEXT_MON, 3_499, False, True),  # Fri, Sat, Sun: the weekend counts
        (THU, SUN, 3_499, False, False),  # Fri, Sat
        (FRI, NEXT_TUE, 3_499, False, True),  # Sat, Sun, Mon
        (FRI, NEXT_MON, 3_499, False, False),  # Sat, Sun
        (SAT, NEXT_WED, 3_499, False, True),  # sent on a Saturday: Sun, Mon, Tue
        # From 3,500 inhabitants: 5 jours francs.
        (MON, FRI, 3_500, False, False),
        (MON, SUN, 3_500, False, True),  # Tue … Sat: a session on a Sunday
        (MON, SAT, 3_500, False, False),  # Tue … Fri: 4
        (THU, NEXT_WED, 3_500, False, True),  # Fri, Sat, Sun, Mon, Tue
        (THU, NEXT_TUE, 3_500, False, False),  # Fri, Sat, Sun, Mon
        (THU, NEXT_MON, 3_500, False, False),
        # Urgency: 1 jour franc, whatever the size.
        (MON, WED, 3_500, True, True),
        (MON, TUE, 3_500, True, False),  # no day in between
        (FRI, SUN, 3_499, True, True),  # Saturday counts
        (SAT, NEXT_MON, 300_000, True, True),  # Sunday counts
        (SAT, SUN, 3_499, True, False),
        # Neither day counts: a session on the sending day, or before it, is never lawful.
        (MON, MON, 3_499, True, False),
        (FRI, MON, 3_499, True, False),
    ],
)
def test_the_delay_in_jours_francs(sent_on, session_on, population, urgent, lawful):
    assert is_lawful(sent_on, session_on, population, urgent) is lawful


@pytest.mark.parametrize(
    "sent_on, session_on, jours_francs",
    [
        (MON, FRI, 3),
        (THU, NEXT_MON, 3),
        (MON, TUE, 0),
        (MON, MON, -1),
        # Holidays count like any other day (Christmas Day, a Wednesday).
        (date(2024, 12, 23), date(2024, 12, 27), 3),
        # Across the end of February of a leap year and of a year.
        (date(2024, 2, 27), date(2024, 3, 2), 3),
        (date(2024, 12, 30), date(2025, 1, 5), 5),
    ],
)
def test_neither_the_sending_day_nor_the_session_day_counts(sent_on, session_on, jours_francs):
    assert jours_francs_between(sent_on, session_on) == jours_francs


@pytest.mark.parametrize(
    "sent_on, population, urgent, earliest",
    [
        (THU, 3_499, False, NEXT_MON),
        (THU, 3_500, False, NEXT_WED),
        (THU, 3_500, True, SAT),
        (MON, 3_499, False, FRI),
        (MON, 3_500, False, SUN),
        (FRI, 3_499, True, SUN),
        (date(2024, 2, 27), 3_499, False, date(2024, 3, 2)),
        (date(2024, 12, 30), 3_500, False, date(2025, 1, 5)),
    ],
)
def test_the_earliest_lawful_session(sent_on, population, urgent, earliest):
    assert earliest_session_on(sent_on, population, urgent) == earliest


@pytest.mark.parametrize("population", [1, 3_499, 3_500, 500_000])
@pytest.mark.parametrize("urgent", [False, True])
def test_the_earliest_session_is_lawful_and_the_day_before_is_not(population, urgent):
    for offset in range(14):  # each weekday, twice
        sent_on = MON + timedelta(days=offset)
        earliest = earliest_session_on(sent_on, population, urgent)
        assert is_lawful(sent_on, earliest, population, urgent)
        assert not is_lawful(sent_on, earliest - timedelta(days=1), population, urgent)


@pytest.mark.parametrize(
    "population, required", [(0, False), (3_499, False), (3_500, True), (270_000, True)]
)
def test_the_explanatory_note_is_required_from_3500_inhabitants(population, required):
    assert requires_explanatory_note(population) is required


@pytest.mark.parametrize("population", [-1, None, 3_499.5, "3500", True])
def test_a_population_that_is_not_a_count_is_refused(population):
    with pytest.raises(ValueError, match="population"):
        minimum_jours_francs(population, False)
    with pytest.raises(ValueError, match="population"):
        requires_explanatory_note(population)


def test_each_link_token_is_new_url_safe_and_long_enough_to_be_unguessable():
    tokens = {new_link_token() for _ in range(100)}
    assert len(tokens) == 100
    for token in tokens:
        assert len(token) == 43  # 32 bytes, base64url without padding
        assert set(token) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )
