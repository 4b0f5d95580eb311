"""The rules of the online services: civil-status copies (R5.4), the workflow, the CRPA's
acknowledgement delay (R5.2), parking clashes, camp waiting lists, billable integrations
(Art. 2) and what a deleted account leaves of a request."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.eservices.catalogue import STANDARD_TRANSITIONS, definition
from services.eservices.rules import (
    acknowledge_by,
    anonymised,
    camp_placement,
    copy_refusal,
    integration_is_billable,
    may_move,
    normalised_address,
    parking_overlap,
    reference,
    retention_ends,
    seconds_in_status,
    years_before,
)

TODAY = date(2026, 5, 12)
RECENT = date(2001, 3, 4)


@pytest.mark.parametrize("act, copy_type, relationship, delivered", [
    *[("birth", "full_copy", relationship, True) for relationship in (
        "self", "spouse", "ascendant", "descendant", "legal_representative")],
    ("birth", "full_copy", "other", False),
    ("birth", "extract_with_filiation", "other", False),
    ("birth", "extract_with_filiation", "descendant", True),
    ("birth", "extract_without_filiation", "other", True),
    ("marriage", "full_copy", "spouse", True),
    ("marriage", "full_copy", "other", False),
    ("marriage", "extract_without_filiation", "other", True),
    ("death", "full_copy", "other", True),
    ("death", "extract_with_filiation", "other", True),
    *[("family_record", None, relationship, True) for relationship in (
        "self", "spouse", "legal_representative")],
    *[("family_record", None, relationship, False) for relationship in (
        "ascendant", "descendant", "other")],
])
def test_who_may_have_a_copy(act, copy_type, relationship, delivered):
    refusal = copy_refusal(act, copy_type, relationship, RECENT, TODAY)
    assert (refusal is None) is delivered
    assert refusal is None or refusal.endswith("representative.")


@pytest.mark.parametrize("act, act_date, today, delivered", [
    ("birth", date(1951, 5, 12), TODAY, True),       # 75 years old today
    ("birth", date(1951, 5, 13), TODAY, False),      # one day short
    ("marriage", date(1951, 5, 12), TODAY, True),
    ("marriage", date(1951, 5, 13), TODAY, False),
    ("birth", date(1900, 1, 1), TODAY, True),
    ("birth", date(1949, 2, 28), date(2024, 2, 29), True),
    ("birth", date(1949, 3, 1), date(2024, 2, 29), False),
    ("birth", date(1948, 2, 29), date(2023, 2, 28), False),
    ("birth", date(1948, 2, 29), date(2023, 3, 1), True),
])
def test_acts_of_75_years_are_freely_communicable(act, act_date, today, delivered):
    assert (copy_refusal(act, "full_copy", "other", act_date, today) is None) is delivered


def test_an_unknown_act_is_a_bug():
    with pytest.raises(ValueError):
        copy_refusal("baptism", "full_copy", "self", RECENT, TODAY)


@pytest.mark.parametrize("day, years, expected", [
    (date(2026, 5, 12), 75, date(1951, 5, 12)),
    (date(2024, 2, 29), 1, date(2023, 2, 28)),
    (date(2024, 2, 29), 4, date(2020, 2, 29)),
])
def test_years_before(day, years, expected):
    assert years_before(day, years) == expected


@pytest.mark.parametrize("source, target, allowed", [
    ("new", "in_progress", True),
    ("new", "refused", True),
    ("new", "cancelled", True),
    ("new", "done", False),
    ("in_progress", "waiting_for_citizen", True),
    ("waiting_for_citizen", "in_progress", True),
    ("waiting_for_citizen", "done", False),
    ("in_progress", "done", True),
    ("in_progress", "new", False),
    ("done", "in_progress", False),
    ("refused", "cancelled", False),
    ("cancelled", "new", False),
])
def test_the_standard_workflow(source, target, allowed):
    assert may_move(list(STANDARD_TRANSITIONS), source, target) is allowed


def test_a_workflow_is_only_its_transitions():
    assert may_move([{"from": "new", "to": "done"}], "new", "done")
    assert not may_move([], "new", "in_progress")


def _at(hour, minute=0, day=12):
    return datetime(2026, 5, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize("history, now, expected", [
    ([], _at(9), {}),
    ([("new", _at(9))], _at(9), {"new": 0}),
    ([("new", _at(9))], _at(9, 30), {"new": 1800}),
    ([("new", _at(9)), ("in_progress", _at(10))], _at(10, 0, day=13),
     {"new": 3600, "in_progress": 86400}),
    # waiting for the citizen between two stays in progress: both stays add up
    ([("new", _at(8)), ("in_progress", _at(9)), ("waiting_for_citizen", _at(10)),
      ("in_progress", _at(12)), ("done", _at(12, 30))], _at(18),
     {"new": 3600, "in_progress": 5400, "waiting_for_citizen": 7200, "done": 19800}),
])
def test_seconds_in_status(history, now, expected):
    assert seconds_in_status(history, now) == expected


def test_seconds_in_status_are_whole():
    history = [("new", _at(9)), ("in_progress", _at(9) + timedelta(seconds=1.7))]
    assert seconds_in_status(history, _at(9) + timedelta(seconds=3)) == {
        "new": 1, "in_progress": 1}


@pytest.mark.parametrize("received_on, last_day", [
    (date(2026, 5, 4), date(2026, 5, 20)),      # 8 May (a Friday) and Ascension on the 14th
    (date(2026, 11, 2), date(2026, 11, 17)),    # 11 November falls in between
    (date(2026, 11, 3), date(2026, 11, 18)),
    (date(2026, 12, 18), date(2027, 1, 5)),     # Christmas and New Year's Day
    (date(2026, 12, 24), date(2027, 1, 11)),
    (date(2026, 11, 28), date(2026, 12, 11)),   # received on a Saturday
])
def test_the_receipt_is_acknowledged_within_10_working_days(received_on, last_day):
    assert acknowledge_by(received_on) == last_day


@pytest.mark.parametrize("insee, year, sequence, expected", [
    ("34134", 2026, 42, "34134-2026-000042"),
    ("34134", 2026, 1, "34134-2026-000001"),
    ("34172", 2027, 999999, "34172-2027-999999"),
    ("34172", 2027, 1000000, "34172-2027-1000000"),
])
def test_reference(insee, year, sequence, expected):
    assert reference(insee, year, sequence) == expected


@pytest.mark.parametrize("address, expected", [
    ("12 rue de la Mairie", "12 rue de la mairie"),
    ("12, R. de la Mairie", "12 rue de la mairie"),
    ("12 Bd de l'Hôpital", "12 boulevard de l hopital"),
    ("12 BLD  de l’hopital", "12 boulevard de l hopital"),
    ("3 av. Saint-Éloi", "3 avenue saint eloi"),
    ("3 Ave SAINT ELOI", "3 avenue saint eloi"),
    ("  5 pl. du Cœur  ", "5 place du coeur"),
    ("7 ch. des Rives", "7 chemin des rives"),
    ("1 imp du Four", "1 impasse du four"),
    ("2 rte de Lodève", "2 route de lodeve"),
    ("4 Rue Bdx", "4 rue bdx"),  # only whole words are abbreviations
])
def test_normalised_address(address, expected):
    assert normalised_address(address) == expected


MAY_10_TO_12 = ("12 rue de la Mairie", date(2026, 5, 10), date(2026, 5, 12))


@pytest.mark.parametrize("other, overlap", [
    (("12 rue de la Mairie", date(2026, 5, 12), date(2026, 5, 13)), True),  # touch on one day
    (("12 rue de la Mairie", date(2026, 5, 13), date(2026, 5, 14)), False),  # the day after
    (("12 rue de la Mairie", date(2026, 5, 8), date(2026, 5, 10)), True),
    (("12 rue de la Mairie", date(2026, 5, 8), date(2026, 5, 9)), False),
    (("12 rue de la Mairie", date(2026, 5, 11), date(2026, 5, 11)), True),  # inside
    (("12 rue de la Mairie", date(2026, 5, 1), date(2026, 5, 20)), True),   # around
    (("12, R. de la mairie", date(2026, 5, 11), date(2026, 5, 11)), True),  # spelt otherwise
    (("14 rue de la Mairie", date(2026, 5, 11), date(2026, 5, 11)), False),
])
def test_parking_overlap(other, overlap):
    assert parking_overlap(MAY_10_TO_12, other) is overlap
    assert parking_overlap(other, MAY_10_TO_12) is overlap


@pytest.mark.parametrize("places, taken, position", [
    (20, 0, None),
    (20, 19, None),   # the last place
    (20, 20, 1),      # exactly full: first on the waiting list
    (20, 23, 4),
    (1, 1, 1),
])
def test_camp_placement(places, taken, position):
    assert camp_placement(places, taken) == position


@pytest.mark.parametrize("integration_number, billable", [(1, False), (2, True), (7, True)])
def test_only_the_first_custom_form_is_free(integration_number, billable):
    assert integration_is_billable(integration_number) is billable


def test_custom_forms_are_numbered_from_one():
    with pytest.raises(ValueError):
        integration_is_billable(0)


@pytest.mark.parametrize("closed_at, days, ends", [
    (datetime(2026, 5, 12, 9, tzinfo=UTC), 365, datetime(2027, 5, 12, 9, tzinfo=UTC)),
    (datetime(2027, 5, 12, 9, tzinfo=UTC), 365, datetime(2028, 5, 11, 9, tzinfo=UTC)),  # leap
    (datetime(2026, 5, 12, 9, tzinfo=UTC), 3650, datetime(2036, 5, 9, 9, tzinfo=UTC)),
])
def test_retention_ends(closed_at, days, ends):
    assert retention_ends(closed_at, days) == ends


def test_a_deleted_account_leaves_no_personal_data():
    data = {"copy_type": "full_copy", "relationship": "self", "family_name": "Martin",
            "given_names": "Jeanne Louise", "act_date": "1990-04-02", "delivery": "post",
            "postal_address": "12 rue de la Mairie, 34880 Lavérune",
            "spouse_family_name": "Durand"}
    assert anonymised(definition("acte-de-mariage"), data) == {
        "copy_type": "full_copy", "relationship": "self", "act_date": "1990-04-02",
        "delivery": "post"}


def test_a_field_the_definition_does_not_know_is_not_kept():
    assert anonymised(definition("contact"), {"subject": "Bruit", "phone": "0601020304"}) == {
        "subject": "Bruit"}
