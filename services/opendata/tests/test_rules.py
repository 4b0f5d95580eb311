"""The portal's rules: when a dataset is due for update (Art. 2) and the licence it is
published under."""

from datetime import date

import pytest

from services.opendata.rules import (
    add_months,
    is_overdue,
    licence_of,
    update_due_on,
)


@pytest.mark.parametrize("day, months, expected", [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 11, 30), 3, date(2025, 2, 28)),
    (date(2024, 12, 15), 1, date(2025, 1, 15)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2024, 6, 30), 6, date(2024, 12, 30)),
])
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize("frequency, updated_on, due", [
    ("daily", date(2024, 12, 31), date(2025, 1, 1)),
    ("weekly", date(2024, 9, 27), date(2024, 10, 4)),
    ("monthly", date(2024, 1, 31), date(2024, 2, 29)),
    ("quarterly", date(2024, 9, 30), date(2024, 12, 30)),
    ("semiannual", date(2024, 3, 31), date(2024, 9, 30)),
    ("annual", date(2024, 2, 29), date(2025, 2, 28)),
    ("irregular", date(2024, 1, 1), None),
    ("unknown", date(2024, 1, 1), None),
    ("monthly", None, None),
])
def test_update_due_on(frequency, updated_on, due):
    assert update_due_on(frequency, updated_on) == due


@pytest.mark.parametrize("frequency, updated_on, today, overdue", [
    ("monthly", date(2024, 8, 30), date(2024, 9, 30), False),  # due that day: not yet late
    ("monthly", date(2024, 8, 30), date(2024, 10, 1), True),
    ("annual", date(2023, 10, 1), date(2024, 10, 1), False),
    ("annual", date(2023, 9, 30), date(2024, 10, 1), True),
    ("weekly", date(2024, 11, 29), date(2024, 12, 7), True),  # a Saturday: still late
    ("irregular", date(2000, 1, 1), date(2024, 10, 1), False),
    ("daily", None, date(2024, 10, 1), False),
])
def test_is_overdue(frequency, updated_on, today, overdue):
    assert is_overdue(frequency, updated_on, today) is overdue


def test_a_homologated_licence_is_completed_from_its_code():
    assert licence_of({"code": "lo-2.0"}) == {
        "code": "lo-2.0", "title": "Licence Ouverte / Open Licence version 2.0",
        "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        "deliberation": None}
    assert licence_of(None) is None


def test_the_commune_licence_keeps_its_deliberation():
    chosen = {"code": "commune", "title": "Licence de réutilisation de Lavérune",
              "deliberation": "DEL-2024-031 du 14 mars 2024"}
    assert licence_of(chosen) == {**chosen, "url": None}

