"""The rules of Articles 9 and 10, table by table, without a broker or a database."""

from datetime import date

import pytest

from contracts.subscriptions import ADD, REMOVE
from services.subscriptions import rules
from services.subscriptions.rules import Period, Terms

D = date
CONVENTION = Terms(
    D(2022, 1, 1),
    D(2024, 12, 31),
    frozenset({"eadmin", "eservices", "procurement", "opendata"}),
)
# Lavérune's subscriptions as signed: three billed applications and open data.
LAVERUNE = [
    Period("eadmin", D(2022, 1, 1)),
    Period("eservices", D(2022, 1, 1)),
    Period("procurement", D(2022, 1, 1)),
    Period("opendata", D(2022, 1, 1)),
]


@pytest.mark.parametrize(
    "received_on, effective_from",
    [
        (D(2022, 1, 1), D(2023, 1, 1)),
        (D(2022, 9, 30), D(2023, 1, 1)),  # exactly three months before the end of the year
        (D(2022, 10, 1), D(2024, 1, 1)),  # one day too late for next year
        (D(2022, 12, 31), D(2024, 1, 1)),
        (D(2023, 1, 1), D(2024, 1, 1)),
        (D(2024, 2, 29), D(2025, 1, 1)),
    ],
)
def test_a_change_applies_on_1_january_after_three_months_notice(received_on, effective_from):
    assert rules.change_effective_from(received_on) == effective_from


@pytest.mark.parametrize(
    "received_on, due",
    [
        (D(2022, 9, 30), D(2022, 10, 30)),
        (D(2022, 10, 1), D(2022, 11, 1)),
        (D(2022, 12, 31), D(2023, 1, 31)),  # over the turn of the year
        (D(2023, 1, 31), D(2023, 2, 28)),
        (D(2024, 1, 31), D(2024, 2, 29)),  # leap year
        (D(2024, 1, 29), D(2024, 2, 29)),
        (D(2023, 1, 29), D(2023, 2, 28)),
        (D(2022, 8, 31), D(2022, 9, 30)),
    ],
)
def test_the_answer_is_due_one_month_after_receipt(received_on, due):
    assert rules.answer_due(received_on) == due


@pytest.mark.parametrize(
    "action, application, received_on, periods, terminated_on, reason",
    [
        # accepted
        (ADD, "eadmin", D(2022, 3, 1), [], None, None),
        (REMOVE, "eadmin", D(2022, 9, 30), LAVERUNE, None, None),
        (REMOVE, "opendata", D(2023, 9, 30), LAVERUNE, None, None),  # open data leaves too
        (ADD, "opendata", D(2022, 10, 1), [], None, None),
        # Removed from 2023: adding it back for 2024 is a change like any other.
        (ADD, "eadmin", D(2022, 10, 1), [Period("eadmin", D(2022, 1, 1), D(2023, 1, 1))], None,
         None),
        # refused
        (ADD, "alerting", D(2022, 3, 1), [], None, rules.NEEDS_AMENDMENT),
        (ADD, "eadmin", D(2022, 3, 1), LAVERUNE, None, rules.ALREADY_SUBSCRIBED),
        (REMOVE, "eadmin", D(2022, 3, 1), [], None, rules.NOT_SUBSCRIBED),
        # Removed from 2023 by an earlier request: not subscribed any more on 1 January 2024.
        (REMOVE, "eadmin", D(2022, 10, 1), [Period("eadmin", D(2022, 1, 1), D(2023, 1, 1))],
         None, rules.NOT_SUBSCRIBED),
        # In the last year of the convention the change would apply after its end.
        (ADD, "eadmin", D(2024, 3, 1), [], None, rules.PAST_CONVENTION_END),
        # 1 October 2023: 1 January 2025, after the end.
        (ADD, "eadmin", D(2023, 10, 1), [], None, rules.PAST_CONVENTION_END),
        (ADD, "eadmin", D(2023, 9, 30), [], None, None),
        (ADD, "eadmin", D(2021, 12, 31), [], None, rules.NO_CONVENTION),
        (ADD, "eadmin", D(2025, 1, 1), [], None, rules.NO_CONVENTION),
        (ADD, "eadmin", D(2022, 3, 1), [], D(2023, 1, 1), rules.COMMUNE_TERMINATED),
        (ADD, "eadmin", D(2022, 10, 1), [], D(2023, 1, 1), rules.COMMUNE_TERMINATED),
        # Leaving on 1 January 2024: a change for 2023 still applies.
        (ADD, "eadmin", D(2022, 3, 1), [], D(2024, 1, 1), None),
    ],
)
def test_refusal_of_change(action, application, received_on, periods, terminated_on, reason):
    assert (
        rules.refusal_of_change(action, application, received_on, CONVENTION, periods,
                                terminated_on)
        == reason
    )


def test_an_application_added_by_an_amendment_can_be_requested():
    amended = Terms(CONVENTION.period_start, CONVENTION.period_end,
                    CONVENTION.applications | {"alerting"})
    assert rules.refusal_of_change(ADD, "alerting", D(2022, 3, 1), amended, []) is None


def test_without_a_convention_every_request_is_refused():
    assert rules.refusal_of_change(ADD, "eadmin", D(2022, 3, 1), None, []) == rules.NO_CONVENTION


@pytest.mark.parametrize(
    "received_on, effective_on, reason",
    [
        (D(2022, 1, 1), D(2023, 1, 1), None),
        (D(2022, 9, 30), D(2023, 1, 1), None),
        (D(2022, 10, 1), D(2024, 1, 1), None),
        (D(2022, 12, 31), D(2024, 1, 1), None),
        (D(2023, 9, 30), D(2024, 1, 1), None),
        (D(2023, 10, 1), None, rules.NOTICE_TOO_LATE),
        (D(2024, 6, 1), None, rules.NOTICE_TOO_LATE),
        (D(2021, 12, 31), None, rules.NOTICE_BEFORE_PERIOD),
    ],
)
def test_termination_takes_effect_on_the_first_1_january_notified_in_time(
    received_on, effective_on, reason
):
    assert rules.termination_effective_on(received_on, D(2022, 1, 1), D(2024, 12, 31)) == (
        effective_on,
        reason,
    )


def test_the_termination_dates_are_each_1_january_after_the_first_year():
    assert rules.termination_dates(D(2022, 1, 1), D(2024, 12, 31)) == [D(2023, 1, 1),
                                                                        D(2024, 1, 1)]
    assert rules.termination_dates(D(2025, 1, 1), D(2025, 12, 31)) == []


@pytest.mark.parametrize(
    "day, applications",
    [
        (D(2021, 12, 31), set()),
        (D(2022, 1, 1), {"eadmin", "opendata"}),
        (D(2022, 12, 31), {"eadmin", "opendata"}),
        (D(2023, 1, 1), {"opendata"}),  # removed from 1 January 2023: no longer in use that day
        (D(2024, 1, 1), {"opendata", "eservices"}),
    ],
)
def test_the_subscriptions_of_a_commune_on_a_day(day, applications):
    periods = [
        Period("eadmin", D(2022, 1, 1), D(2023, 1, 1)),
        Period("opendata", D(2022, 1, 1)),
        Period("eservices", D(2024, 1, 1)),
    ]
    assert rules.subscribed_applications(periods, day) == applications


@pytest.mark.parametrize(
    "period, closed_on",
    [
        (Period("eadmin", D(2022, 1, 1)), D(2024, 1, 1)),
        (Period("eadmin", D(2022, 1, 1), D(2023, 1, 1)), D(2023, 1, 1)),  # already over
        (Period("eadmin", D(2022, 1, 1), D(2025, 1, 1)), D(2024, 1, 1)),
        (Period("eadmin", D(2025, 1, 1)), D(2025, 1, 1)),  # had not begun: never in force
    ],
)
def test_a_termination_closes_a_period_on_its_date(period, closed_on):
    assert rules.closing_date(period, D(2024, 1, 1)) == closed_on


@pytest.mark.parametrize(
    "effective_from, until",
    [
        (D(2023, 1, 1), D(2024, 1, 1)),  # granted from 2024 already: the new period ends there
        (D(2024, 1, 1), None),  # nothing begins later
        (D(2025, 1, 1), None),
    ],
)
def test_an_added_period_ends_where_a_later_one_of_the_application_begins(effective_from, until):
    periods = [
        Period("eadmin", D(2022, 1, 1), D(2023, 1, 1)),
        Period("eadmin", D(2024, 1, 1)),
        Period("eservices", D(2025, 1, 1)),  # another application: no bound
    ]
    assert rules.end_of_added_period(periods, "eadmin", effective_from) == until
