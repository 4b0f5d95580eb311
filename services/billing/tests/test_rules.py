"""The rules of billing, without Nameko or a database: the largest-remainder allocation,
Annex 1 (Art. 4), subscriptions on 1 January (Art. 9, 10) and the titles (Art. 5, 6)."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from contracts.catalogue import APPLICATION_CODES
from contracts.subscriptions import Change, subscribers_on
from servicekit.calendar import is_working_day
from services.billing import rules
from services.billing.tests.support import (
    LAVERUNE,
    MONTAUD,
    MONTPELLIER,
    convention,
    populations,
)

D = Decimal
JAN_1 = {year: date(year, 1, 1) for year in (2022, 2023, 2024)}
LAVERUNE_APPLICATIONS = ("eadmin", "eservices", "procurement", "opendata")


def laverune_subscribers():
    return {application: {LAVERUNE} for application in LAVERUNE_APPLICATIONS}


def change(commune, application, kind, effective_from, decided_on, event=None):
    return Change(
        commune,
        application,
        kind,
        effective_from,
        datetime.combine(decided_on, datetime.min.time(), UTC),
        event or uuid.uuid4(),
    )


# -- allocate -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "total, weights, expected",
    [
        # Exact shares need no leftover cent.
        (100, {"a": 1, "b": 1}, {"a": 50, "b": 50}),
        # An odd total: the two remainders tie, the key breaks the tie.
        (101, {"34001": 1, "34002": 1}, {"34001": 51, "34002": 50}),
        (101, {"34002": 1, "34001": 1}, {"34001": 51, "34002": 50}),
        # The Metropole's key sorts after every INSEE code: a commune wins the tie.
        (1, {rules.METROPOLE: 1, "34134": 1}, {rules.METROPOLE: 0, "34134": 1}),
        (3, {rules.METROPOLE: 2, "34172": 1, "34134": 1}, {rules.METROPOLE: 1, "34134": 1,
                                                           "34172": 1}),
        # Largest remainder first: 10 × (1/6, 2/6, 3/6) = 1.67, 3.33, 5 → 2, 3, 5.
        (10, {"a": 1, "b": 2, "c": 3}, {"a": 2, "b": 3, "c": 5}),
        # Three equal thirds of one cent: the first key in order takes it.
        (1, {"c": 1, "b": 1, "a": 1}, {"a": 1, "b": 0, "c": 0}),
        # A weight of zero gets nothing, even with cents left over.
        (7, {"a": 0, "b": 1, "c": 1}, {"a": 0, "b": 4, "c": 3}),
        (0, {"a": 3, "b": 5}, {"a": 0, "b": 0}),
        (0, {"a": 0}, {"a": 0}),
    ],
)
def test_allocate_gives_each_key_its_floor_and_the_leftover_to_the_largest_remainders(
    total, weights, expected
):
    shares = rules.allocate(total, weights)
    assert shares == expected
    assert sum(shares.values()) == total


@pytest.mark.parametrize("total, weights", [(-1, {"a": 1}), (5, {"a": -1, "b": 2}),
                                            (5, {"a": 0, "b": 0})])
def test_allocate_refuses_what_cannot_be_shared(total, weights):
    with pytest.raises(ValueError):
        rules.allocate(total, weights)


@pytest.mark.parametrize("total_cents", [1, 99, 2_131_201, 1_471_399, 3_000_001, 999_999_999])
def test_allocate_over_the_metropole_and_the_31_communes_adds_up_to_the_cent(total_cents):
    weights = {**populations(), rules.METROPOLE: sum(populations().values())}
    shares = rules.allocate(total_cents, weights)
    assert sum(shares.values()) == total_cents
    # The Metropole's weight is half of all: its share is half, to within a cent.
    assert abs(2 * shares[rules.METROPOLE] - total_cents) <= 2


# -- Annex 1 (Art. 4) ---------------------------------------------------------------------------


def test_laverune_pays_the_amounts_of_article_4():
    annex = rules.annex(2022, convention(), populations(), laverune_subscribers())
    assert (annex.population_vintage, annex.total_population) == (2023, 522_542)
    by_application = {a.application: a for a in annex.applications}
    assert {code: rules.from_cents(a.shares[LAVERUNE]) for code, a in by_application.items()
            if code in LAVERUNE_APPLICATIONS} == {
        "eadmin": D("67.34"), "eservices": D("46.49"), "procurement": D("36.28"),
    }
    assert by_application["eadmin"].annual_cost == D("21312.00")
    assert by_application["eadmin"].metropole_share == D("10656.00")
    assert by_application["eadmin"].per_inhabitant == D("0.020393")
    assert by_application["eadmin"].subscribed_share == D("67.34")
    assert by_application["eadmin"].unsubscribed_share == D("10588.66")

    (title,) = rules.titles(2022, annex, laverune_subscribers()).values()
    assert [(line.application, line.amount) for line in title.lines] == [
        ("eadmin", D("67.34")), ("eservices", D("46.49")), ("procurement", D("36.28")),
    ]
    assert (title.total_net, title.total_vat, title.total) == (D("150.11"), D("0.00"),
                                                                D("150.11"))
    assert title.due_by == date(2022, 9, 30)


def test_open_data_is_never_billed():
    annex = rules.annex(2022, convention(), populations(), laverune_subscribers())
    assert "opendata" not in [a.application for a in annex.applications]


@pytest.mark.parametrize("year", [2022, 2023, 2024])
def test_every_application_adds_up_to_its_cost_when_all_31_communes_subscribe(year):
    everyone = {code: set(populations()) for code in APPLICATION_CODES}
    annex = rules.annex(year, convention(), populations(), everyone)
    titles = rules.titles(year, annex, everyone)
    assert len(titles) == 31
    for application in annex.applications:
        assert len(application.shares) == 31
        assert application.metropole_share + application.subscribed_share == \
            application.annual_cost
        assert application.unsubscribed_share == 0
        billed = sum(
            line.amount for title in titles.values() for line in title.lines
            if line.application == application.application
        )
        assert billed == application.subscribed_share
        # The Metropole pays half, to within a cent.
        assert abs(2 * application.metropole_share - application.annual_cost) <= D("0.01")


def test_the_share_of_a_commune_that_does_not_subscribe_is_left_to_the_metropole():
    alone = laverune_subscribers()
    all_but_montpellier = {code: set(populations()) - {MONTPELLIER} for code in alone}
    annex_alone = rules.annex(2022, convention(), populations(), alone)
    annex_most = rules.annex(2022, convention(), populations(), all_but_montpellier)
    for few, most in zip(annex_alone.applications, annex_most.applications, strict=True):
        # The allocation does not depend on who subscribes; only who pays does.
        assert (few.shares, few.metropole_share) == (most.shares, most.metropole_share)
        for application in (few, most):
            assert application.metropole_share + application.subscribed_share \
                + application.unsubscribed_share == application.annual_cost
    eadmin = annex_most.applications[0]
    assert eadmin.unsubscribed_share == rules.from_cents(eadmin.shares[MONTPELLIER])
    titles = rules.titles(2022, annex_most, all_but_montpellier)
    assert MONTPELLIER not in titles and LAVERUNE in titles and MONTAUD in titles


def test_a_commune_of_zero_inhabitants_pays_nothing_and_gets_no_title():
    with_empty = {**populations(), MONTAUD: 0}
    subscribers = {"eadmin": {MONTAUD, LAVERUNE}}
    annex = rules.annex(2022, convention(), with_empty, subscribers)
    eadmin = annex.applications[0]
    assert eadmin.shares[MONTAUD] == 0
    assert sum(eadmin.shares.values()) + rules.to_cents(eadmin.metropole_share) == 2_131_200
    assert set(rules.titles(2022, annex, subscribers)) == {LAVERUNE}


def test_odd_cents_of_a_cost_are_allocated_and_the_total_still_adds_up():
    odd = convention(costs={"eadmin": D("21312.01"), "opendata": None})
    annex = rules.annex(2022, odd, populations(), {"eadmin": set(populations())})
    (eadmin,) = annex.applications
    assert eadmin.metropole_share + eadmin.subscribed_share == D("21312.01")
    assert eadmin.metropole_share in (D("10656.00"), D("10656.01"))


def test_an_annex_needs_every_members_population_of_the_vintage():
    incomplete = dict(populations())
    del incomplete[LAVERUNE]
    with pytest.raises(rules.AnnexUnavailable, match="vintage 2023"):
        rules.annex(2022, convention(), incomplete, {})
    with pytest.raises(rules.AnnexUnavailable):
        rules.annex(2022, convention(), dict.fromkeys(populations(), 0), {})


@pytest.mark.parametrize(
    "fixed, year, vintage", [(2023, 2022, 2023), (2023, 2024, 2023), (None, 2024, 2021),
                             (None, 2026, 2023)],
)
def test_the_population_vintage_is_fixed_by_the_convention_or_follows_the_year(
    fixed, year, vintage
):
    assert rules.population_vintage(year, convention(population_vintage=fixed)) == vintage


# -- subscriptions on 1 January (Art. 9 and 10) -------------------------------------------------


def subscribed(year, changes, terminated_on=None):
    return subscribers_on(JAN_1[year], changes, terminated_on).get("eadmin", set())


INITIAL = change(LAVERUNE, "eadmin", "added", date(2022, 1, 1), date(2021, 12, 14))


@pytest.mark.parametrize(
    "changes, terminated_on, billed_years",
    [
        ([INITIAL], {}, {2022, 2023, 2024}),
        # Added by a request received in 2022: effective 1 January 2023, billed from 2023.
        ([change(LAVERUNE, "eadmin", "added", date(2023, 1, 1), date(2022, 9, 1))], {},
         {2023, 2024}),
        # Removed from 1 January 2024: not billed in 2024.
        ([INITIAL, change(LAVERUNE, "eadmin", "removed", date(2024, 1, 1), date(2023, 6, 1))],
         {}, {2022, 2023}),
        # Terminated on 1 January 2023: billed for 2022 only.
        ([INITIAL], {LAVERUNE: date(2023, 1, 1)}, {2022}),
        # Removed, then added again on the same 1 January: the later decision wins.
        ([INITIAL,
          change(LAVERUNE, "eadmin", "removed", date(2023, 1, 1), date(2022, 3, 1)),
          change(LAVERUNE, "eadmin", "added", date(2023, 1, 1), date(2022, 5, 1))],
         {}, {2022, 2023, 2024}),
        # A change still to take effect does not count before its date.
        ([INITIAL, change(LAVERUNE, "eadmin", "removed", date(2025, 1, 1), date(2024, 8, 1))],
         {}, {2022, 2023, 2024}),
    ],
)
def test_a_commune_is_billed_for_what_it_subscribes_to_on_1_january(
    changes, terminated_on, billed_years
):
    for order in (changes, list(reversed(changes))):
        assert {year for year in JAN_1 if LAVERUNE in subscribed(year, order, terminated_on)} \
            == billed_years


def test_the_year_boundary_decides_which_titles_a_change_reaches():
    changes = [
        INITIAL,
        change(LAVERUNE, "eadmin", "removed", date(2024, 1, 1), date(2023, 6, 1)),
        change(LAVERUNE, "eservices", "added", date(2023, 1, 1), date(2022, 6, 1)),
    ]
    lines = {}
    for year in JAN_1:
        subscribers = subscribers_on(JAN_1[year], changes)
        annex = rules.annex(year, convention(), populations(), subscribers)
        title = rules.titles(year, annex, subscribers).get(LAVERUNE)
        lines[year] = [line.application for line in title.lines]
    assert lines == {2022: ["eadmin"], 2023: ["eadmin", "eservices"], 2024: ["eservices"]}


# -- titles (Art. 5 and 6) ----------------------------------------------------------------------


def extra(quantity, unit_price, year=2022, commune=LAVERUNE, rate=rules.NORMAL_VAT_RATE):
    return rules.Extra(uuid.uuid4(), commune, year, "Formulaire supplémentaire", D(quantity),
                       D(unit_price), rate, datetime(2022, 3, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    "extras, net, vat",
    [
        # 150.11 of shares outside the scope of VAT, plus 1 × 333.33 at 20 % = 66.666 → 66.67.
        ([("1", "333.33")], "483.44", "66.67"),
        # VAT on the sum of the rate's lines, not per line: 3 × 0.025 → 0.075 → 0.08 (half-up);
        # per line it would be 3 × 0.01 (0.005 rounds up to 0.01) = 0.03.
        ([("1", "0.13"), ("1", "0.13"), ("1", "0.13")], "150.50", "0.08"),
        # The amount of a line is quantity × unit price, rounded half-up to the cent.
        ([("1.50", "0.33")], "150.61", "0.10"),
        ([("0.50", "0.05")], "150.14", "0.01"),
    ],
)
def test_extras_carry_vat_computed_per_rate_half_up(extras, net, vat):
    annex = rules.annex(2022, convention(), populations(), laverune_subscribers())
    facts = [extra(q, p) for q, p in extras]
    title = rules.titles(2022, annex, laverune_subscribers(), facts)[LAVERUNE]
    assert (title.total_net, title.total_vat, title.total) == (D(net), D(vat), D(net) + D(vat))
    assert [line.vat_category for line in title.lines] == ["O"] * 3 + ["S"] * len(extras)
    assert all(line.vat_rate == D("0.20") for line in title.lines[3:])


def test_a_commune_with_only_extras_has_a_title_and_other_years_extras_stay_out():
    facts = [extra("2", "450.00", commune=MONTAUD), extra("1", "10.00", year=2023,
                                                           commune=MONTAUD)]
    titles = rules.titles(2022, None, {}, facts)
    assert list(titles) == [MONTAUD]
    assert titles[MONTAUD].lines[0].amount == D("900.00")
    assert titles[MONTAUD].total == D("1080.00")


def test_nothing_to_bill_means_no_title():
    assert rules.titles(2022, None, {}) == {}
    annex = rules.annex(2022, convention(), populations(), {"opendata": {LAVERUNE}})
    assert rules.titles(2022, annex, {"opendata": {LAVERUNE}}) == {}


def test_a_title_needs_correction_only_when_its_lines_differ():
    annex = rules.annex(2022, convention(), populations(), laverune_subscribers())
    issued = rules.titles(2022, annex, laverune_subscribers())[LAVERUNE].lines
    as_stored = [line._replace(quantity=D("1.00"), vat_rate=D("0.00")) for line in issued]
    assert not rules.needs_correction(as_stored, issued)
    assert not rules.needs_correction(list(reversed(as_stored)), issued)
    assert rules.needs_correction(as_stored, issued[:2])
    assert rules.needs_correction(as_stored, [*issued, *rules.titles(
        2022, None, {}, [extra("1", "1.00")])[LAVERUNE].lines])
    assert rules.needs_correction(as_stored, ())


def test_a_credit_note_negates_every_amount_of_the_title():
    annex = rules.annex(2022, convention(), populations(), laverune_subscribers())
    lines = rules.titles(2022, annex, laverune_subscribers(), [extra("2", "5.00")])[LAVERUNE].lines
    credit = rules.credit_note_lines(lines)
    assert [line.amount for line in credit] == [-line.amount for line in lines]
    assert [line.quantity for line in credit] == [line.quantity for line in lines]
    assert sum(line.amount for line in credit) == D("-160.11")


@pytest.mark.parametrize(
    "today, late", [(date(2022, 9, 30), False), (date(2022, 10, 1), True),
                    (date(2023, 1, 1), True), (date(2022, 1, 1), False)],
)
def test_a_title_is_late_after_30_september_of_its_year(today, late):
    assert rules.is_late(2022, today) is late


@pytest.mark.parametrize(
    "received_on, last_day, why",
    [
        (date(2025, 9, 30), date(2025, 10, 9), "reception + 9: neither end counts"),
        (date(2022, 10, 7), date(2022, 10, 17), "received on a Friday, window ends on a Sunday"),
        (date(2022, 10, 6), date(2022, 10, 17), "window ends on a Saturday"),
        (date(2022, 10, 5), date(2022, 10, 14), "window ends on a Friday: kept"),
        (date(2026, 7, 13), date(2026, 7, 22), "received on the eve of 14 July"),
        (date(2026, 4, 22), date(2026, 5, 4), "ends on 1 May, a Friday, then a weekend"),
        (date(2022, 7, 5), date(2022, 7, 15), "ends on 14 July"),
        (date(2022, 8, 6), date(2022, 8, 16), "ends on 15 August, a Monday"),
        (date(2022, 10, 23), date(2022, 11, 2), "ends on 1 November"),
        (date(2022, 11, 2), date(2022, 11, 14), "ends on 11 November, a Friday"),
        (date(2026, 11, 2), date(2026, 11, 12), "ends on 11 November, a Wednesday"),
        (date(2022, 12, 16), date(2022, 12, 26), "ends on 25 December, a Sunday"),
        (date(2026, 12, 16), date(2026, 12, 28), "ends on 25 December, a Friday"),
        (date(2025, 12, 23), date(2026, 1, 2), "ends on 1 January"),
        (date(2026, 5, 5), date(2026, 5, 15), "ends on Ascension Thursday"),
        (date(2026, 3, 28), date(2026, 4, 7), "ends on Easter Monday"),
        (date(2025, 5, 2), date(2025, 5, 12), "ends on a Sunday after 8 May"),
    ],
)
def test_a_title_may_be_contested_until_8_jours_francs_after_its_reception(
    received_on, last_day, why
):
    assert rules.contest_until(received_on) == last_day, why
    assert is_working_day(last_day)


@pytest.mark.parametrize(
    "notified_on, due_on",
    [
        (date(2025, 9, 30), date(2025, 10, 30)),
        (date(2022, 11, 1), date(2022, 12, 1)),
        (date(2022, 9, 30), date(2022, 10, 31)),  # 30 October 2022 is a Sunday
        (date(2026, 11, 25), date(2026, 12, 28)),  # 25 December, then a weekend
        (date(2023, 1, 31), date(2023, 3, 2)),  # thirty days, not a month
    ],
)
def test_payment_is_due_30_days_after_notification_on_a_working_day(notified_on, due_on):
    assert rules.payment_due_on(notified_on) == due_on
