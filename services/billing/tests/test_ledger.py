"""Billing's database without a broker: the view built from subscriptions' facts, drafts
computed on read, gap-free numbering, idempotent issuing and corrections."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from contracts.billing import IssuedTitlesSchema, TitleSchema
from contracts.errors import Conflict, NotFound
from services.billing import ledger
from services.billing.models import Document
from services.billing.tests.support import (
    LAVERUNE,
    MONTAUD,
    agreement_facts,
    amendment_fact,
    change_fact,
    convention_fact,
    events,
    fact,
    feed,
    population_facts,
    termination_fact,
)

D = Decimal
NOW = datetime(2022, 3, 1, 9, 0, tzinfo=UTC)
ADMIN = "4b0f6a53-admin"


def titles(session, insee=LAVERUNE, year=2022):
    return TitleSchema(many=True).dump(ledger.titles_of(session, insee, year))


def issue(session, outbox, year=2022, key=None, now=NOW):
    return ledger.issue_titles(session, outbox, year, key, ADMIN, now)


def record_extra(session, year=2022, quantity="1", unit_price="333.33", insee=LAVERUNE):
    return ledger.record_extra(
        session, insee,
        {"year": year, "description": "Formulaire supplémentaire", "quantity": D(quantity),
         "unit_price": D(unit_price)},
        ADMIN, NOW,
    )


# -- the view and the drafts --------------------------------------------------------------------


def test_the_draft_of_laverune_bills_the_amounts_of_article_4(session):
    feed(session, agreement_facts())
    (draft,) = titles(session)
    assert (draft["number"], draft["status"], draft["due_by"]) == (None, "draft", "2022-09-30")
    assert [(line["application"], line["amount"]) for line in draft["lines"]] == [
        ("eadmin", "67.34"), ("eservices", "46.49"), ("procurement", "36.28"),
    ]
    assert (draft["total_net"], draft["total_vat"], draft["total"]) == ("150.11", "0.00",
                                                                        "150.11")
    assert titles(session, insee=MONTAUD) == []


def test_the_view_is_the_same_whatever_order_the_facts_arrive_in_and_however_often(session):
    facts = [
        *agreement_facts(without=("participation",)),
        change_fact(LAVERUNE, "eadmin", "removed", date(2024, 1, 1), NOW),
        change_fact(MONTAUD, "alerting", "added", date(2023, 1, 1), NOW),
        termination_fact(MONTAUD, date(2024, 1, 1)),
        amendment_fact("participation", D("9000.00"), date(2022, 6, 1)),
    ]
    feed(session, facts)
    expected = {year: ledger.titles_of(session, insee, year)
                for year in (2022, 2023, 2024) for insee in (LAVERUNE, MONTAUD)}
    feed(session, list(reversed(facts)))
    feed(session, facts[::2] + facts[1::2])
    again = {year: ledger.titles_of(session, insee, year)
             for year in (2022, 2023, 2024) for insee in (LAVERUNE, MONTAUD)}
    assert again == expected


def test_a_change_reaches_only_the_years_from_its_effective_date(session):
    feed(session, [
        *agreement_facts(),
        change_fact(LAVERUNE, "eadmin", "removed", date(2024, 1, 1), NOW),
        change_fact(MONTAUD, "alerting", "added", date(2023, 1, 1), NOW),
        termination_fact(MONTAUD, date(2024, 1, 1)),
    ])

    def billed(insee, year):
        return [line["application"] for t in titles(session, insee, year) for line in t["lines"]]

    assert billed(LAVERUNE, 2023) == ["eadmin", "eservices", "procurement"]
    assert billed(LAVERUNE, 2024) == ["eservices", "procurement"]
    assert (billed(MONTAUD, 2022), billed(MONTAUD, 2023), billed(MONTAUD, 2024)) == (
        [], ["alerting"], []
    )


def test_the_latest_population_announced_wins_whichever_arrives_last(session):
    feed(session, agreement_facts())
    later, earlier = NOW, NOW - timedelta(days=1)
    feed(session, [
        fact("population", {"commune": LAVERUNE, "vintage": 2023, "population": 4000}, later),
        fact("population", {"commune": LAVERUNE, "vintage": 2023, "population": 1}, earlier),
    ])
    assert ledger.shares(session, 2022)["total_population"] == 522_542 - 3302 + 4000


def test_an_amendment_counts_from_the_first_1_january_after_its_signature(session):
    feed(session, [*agreement_facts(without=("participation",)),
                   amendment_fact("participation", D("9000.00"), date(2022, 6, 1))])

    def participation(year):
        return [a["annual_cost"] for a in ledger.shares(session, year)["applications"]
                if a["application"] == "participation"]

    assert (participation(2022), participation(2023)) == ([], [D("9000.00")])


def test_shares_need_a_convention_and_every_population_of_its_vintage(session):
    with pytest.raises(NotFound, match="No convention covers 2022"):
        ledger.shares(session, 2022)
    feed(session, [convention_fact(), *population_facts()[:-1]])
    with pytest.raises(NotFound, match="vintage 2023"):
        ledger.shares(session, 2022)
    with pytest.raises(NotFound):
        ledger.titles_of(session, LAVERUNE, 2022)
    # Every year known: a year that cannot be computed yet shows no draft rather than failing.
    assert ledger.titles_of(session, LAVERUNE, None) == []


def test_every_year_known_lists_each_years_draft(session):
    feed(session, agreement_facts())
    record_extra(session, year=2025, insee=LAVERUNE)
    years = [(t["year"], t["total"]) for t in TitleSchema(many=True).dump(
        ledger.titles_of(session, LAVERUNE, None))]
    assert years == [(2022, "150.11"), (2023, "150.11"), (2024, "150.11"), (2025, "400.00")]


# -- issuing ------------------------------------------------------------------------------------


def test_issuing_numbers_titles_without_gaps_and_issues_each_once(session, outbox):
    feed(session, [*agreement_facts(),
                   change_fact(MONTAUD, "eadmin", "added", date(2022, 1, 1))])
    first = issue(session, outbox)
    IssuedTitlesSchema().load(first)
    assert [(t["number"], t["commune"], t["status"]) for t in first["issued"]] == [
        ("2022-000001", LAVERUNE, "issued"), ("2022-000002", MONTAUD, "issued"),
    ]
    assert first["already_issued"] == 0
    again = issue(session, outbox)
    assert (again["issued"], again["already_issued"]) == ([], 2)
    other_year = issue(session, outbox, year=2023)
    assert [t["number"] for t in other_year["issued"]] == ["2023-000001", "2023-000002"]
    assert [(e["data"]["number"], e["data"]["kind"]) for e in events(session, "title.issued")] \
        == [("2022-000001", "title"), ("2022-000002", "title"), ("2023-000001", "title"),
            ("2023-000002", "title")]
    (issued,) = titles(session)
    assert (issued["number"], issued["status"], issued["needs_correction"]) == (
        "2022-000001", "issued", False
    )


def test_an_idempotency_key_gives_the_first_answer_again_and_belongs_to_one_year(
    session, outbox
):
    feed(session, agreement_facts())
    first = issue(session, outbox, key="run-2022")
    record_extra(session, insee=MONTAUD)
    assert issue(session, outbox, key="run-2022") == first
    with pytest.raises(Conflict):
        issue(session, outbox, year=2023, key="run-2022")
    # Without the key, Montaud's new title is issued and Lavérune's counted.
    later = issue(session, outbox)
    assert ([t["number"] for t in later["issued"]], later["already_issued"]) == (
        ["2022-000002"], 1
    )


def test_late_titles_are_those_not_deposited_by_30_september_and_drafts_past_it(
    session, outbox
):
    feed(session, [*agreement_facts(),
                   change_fact(MONTAUD, "eadmin", "added", date(2022, 1, 1))])
    record_extra(session, insee="34022")
    assert ledger.late_titles(session, 2022, date(2022, 9, 30)) == []
    ledger.issue_titles(session, outbox, 2022, None, ADMIN, NOW)
    on_time = datetime(2022, 9, 30, 21, 59, tzinfo=UTC)  # 23:59 in Paris
    late = datetime(2022, 9, 30, 22, 0, tzinfo=UTC)  # 1 October in Paris
    session.get(Document, "2022-000001").deposited_at = on_time
    session.get(Document, "2022-000002").deposited_at = late
    record_extra(session, insee="34027", year=2022)
    assert [(t["number"], t["commune"]) for t in
            ledger.late_titles(session, 2022, date(2022, 10, 1))] == [
        ("2022-000002", LAVERUNE), ("2022-000003", MONTAUD), (None, "34027")]


# -- corrections --------------------------------------------------------------------------------


def test_a_title_that_no_longer_matches_is_cancelled_by_a_credit_note_and_issued_again(
    session, outbox
):
    feed(session, agreement_facts())
    issue(session, outbox)
    with pytest.raises(Conflict, match="nothing to correct"):
        ledger.correct_title(session, outbox, "2022-000001", ADMIN, NOW)
    record_extra(session)
    (title,) = titles(session)
    assert title["needs_correction"] is True

    credit_note, corrected = ledger.correct_title(session, outbox, "2022-000001", ADMIN, NOW)
    credit_note, corrected = TitleSchema().dump(credit_note), TitleSchema().dump(corrected)
    assert (credit_note["number"], credit_note["kind"], credit_note["corrects"]) == (
        "2022-000002", "credit_note", "2022-000001"
    )
    assert [line["amount"] for line in credit_note["lines"]] == ["-67.34", "-46.49", "-36.28"]
    assert credit_note["total"] == "-150.11"
    assert (corrected["number"], corrected["corrects"], corrected["total"]) == (
        "2022-000003", "2022-000001", "550.11"  # 150.11 + 333.33 + 66.67 of VAT
    )
    assert [(t["number"], t["kind"], t["status"], t["needs_correction"])
            for t in titles(session)] == [
        ("2022-000001", "title", "cancelled", False),
        ("2022-000002", "credit_note", "issued", False),
        ("2022-000003", "title", "issued", False),
    ]
    assert [e["type"] for e in events(session)] == [
        "title.issued", "title.issued", "title.cancelled", "title.issued",
    ]
    assert events(session, "title.cancelled")[0]["data"] == {
        "number": "2022-000001", "commune": LAVERUNE, "year": 2022, "credit_note": "2022-000002",
    }
    with pytest.raises(Conflict, match="already cancelled"):
        ledger.correct_title(session, outbox, "2022-000001", ADMIN, NOW)
    with pytest.raises(Conflict, match="credit note"):
        ledger.correct_title(session, outbox, "2022-000002", ADMIN, NOW)
    with pytest.raises(NotFound):
        ledger.correct_title(session, outbox, "2022-999999", ADMIN, NOW)
    # The series goes on without a gap.
    record_extra(session, insee=MONTAUD)
    assert [t["number"] for t in issue(session, outbox)["issued"]] == ["2022-000004"]


def test_a_title_of_a_commune_that_owes_nothing_any_more_is_cancelled_without_replacement(
    session, outbox
):
    feed(session, agreement_facts())
    issue(session, outbox)
    feed(session, [termination_fact(LAVERUNE, date(2022, 1, 1))])
    credit_note, corrected = ledger.correct_title(session, outbox, "2022-000001", ADMIN, NOW)
    assert (credit_note["total"], corrected) == (D("-150.11"), None)
    assert [t["status"] for t in titles(session)] == ["cancelled", "issued"]


# -- extras -------------------------------------------------------------------------------------


def custom_form(number, integrated_on=date(2022, 5, 10), price="450.00"):
    return {"form_id": uuid.UUID(int=number), "commune": LAVERUNE, "slug": f"form-{number}",
            "title": f"Formulaire {number}", "integration_number": number,
            "billable": number > 1, "price": D(price) if number > 1 else None,
            "integrated_on": integrated_on}


def test_the_first_custom_form_is_free_and_the_second_a_vat_line_on_the_draft(session):
    feed(session, agreement_facts())

    assert ledger.record_custom_form(session, custom_form(1), NOW) is None
    extra = ledger.record_custom_form(session, custom_form(2), NOW)

    assert (extra.year, extra.unit_price, extra.vat_rate) == (2022, D("450.00"), D("0.20"))
    assert "Formulaire 2" in extra.description and "n° 2" in extra.description
    (draft,) = titles(session)
    assert (draft["total_net"], draft["total_vat"], draft["total"]) == ("600.11", "90.00",
                                                                        "690.11")


def test_the_same_integration_told_twice_is_billed_once(session):
    feed(session, agreement_facts())
    ledger.record_custom_form(session, custom_form(2), NOW)

    assert ledger.record_custom_form(session, custom_form(2), NOW) is None
    assert len(ledger.extras_of(session, LAVERUNE)) == 1


def test_a_custom_form_integrated_after_the_title_was_issued_goes_on_the_next_year(session,
                                                                                     outbox):
    feed(session, agreement_facts())
    issue(session, outbox)

    extra = ledger.record_custom_form(session, custom_form(2, date(2022, 11, 3)), NOW)

    assert extra.year == 2023


def campaign_cost(number, amount="42.50", costed_on=date(2022, 5, 10), sms_segments=412,
                  voice_minutes=35):
    return {"cost_id": uuid.UUID(int=1000 + number), "campaign_id": uuid.UUID(int=2000),
            "commune": LAVERUNE, "headline": "Crue de la Mosson", "launched_on": date(2022, 5, 9),
            "costed_on": costed_on, "sms_segments": sms_segments, "voice_minutes": voice_minutes,
            "amount": D(amount)}


CAMPAIGN_LINE = ("Communications de la campagne d'alerte « Crue de la Mosson » du 09/05/2022 : "
                 "412 segment(s) SMS, 35 minute(s) d'appel (Art. 2)")
RESENT_LINE = ("Communications de la campagne d'alerte « Crue de la Mosson » du 09/05/2022 : "
               "120 segment(s) SMS, 0 minute(s) d'appel (Art. 2)")


@pytest.mark.parametrize(
    ("costings", "issued_first", "recorded", "draft_year", "extra_lines", "draft_totals"),
    [
        pytest.param([campaign_cost(1)], False, [True], 2022,
                     [(CAMPAIGN_LINE, "1.00", "42.50", "42.50", "0.20")],
                     ("192.61", "8.50", "201.11"), id="a cost is a line with VAT on its draft"),
        pytest.param([campaign_cost(1, amount="0.00")], False, [False], 2022, [],
                     ("150.11", "0.00", "150.11"), id="a zero amount records nothing"),
        pytest.param([campaign_cost(1), campaign_cost(1)], False, [True, False], 2022,
                     [(CAMPAIGN_LINE, "1.00", "42.50", "42.50", "0.20")],
                     ("192.61", "8.50", "201.11"), id="the same cost told twice is billed once"),
        pytest.param([campaign_cost(1),
                      campaign_cost(2, amount="12.30", sms_segments=120, voice_minutes=0)],
                     False, [True, True], 2022,
                     [(CAMPAIGN_LINE, "1.00", "42.50", "42.50", "0.20"),
                      (RESENT_LINE, "1.00", "12.30", "12.30", "0.20")],
                     ("204.91", "10.96", "215.87"), id="a re-sending is billed its difference"),
        pytest.param([campaign_cost(1, costed_on=date(2022, 11, 3))], True, [True], 2023,
                     [(CAMPAIGN_LINE, "1.00", "42.50", "42.50", "0.20")],
                     ("192.61", "8.50", "201.11"),
                     id="after the title was issued it goes on the next year"),
    ],
)
def test_a_campaigns_cost_is_an_extra_with_vat_on_the_communes_next_title(
    session, outbox, costings, issued_first, recorded, draft_year, extra_lines, draft_totals
):
    feed(session, agreement_facts())
    if issued_first:
        issue(session, outbox)

    extras = [ledger.record_campaign_cost(session, data, NOW) for data in costings]

    assert [extra is not None for extra in extras] == recorded
    assert [(e.year, e.unit_price, e.vat_rate, e.recorded_by)
            for e in ledger.extras_of(session, LAVERUNE)] == [
        (draft_year, D(line[2]), D("0.20"), "alerting") for line in extra_lines
    ]
    (draft,) = [t for t in titles(session, year=draft_year) if t["status"] == "draft"]
    assert [(line["description"], line["quantity"], line["unit_price"], line["amount"],
             line["vat_rate"]) for line in draft["lines"] if line["application"] is None] \
        == extra_lines
    assert (draft["total_net"], draft["total_vat"], draft["total"]) == draft_totals


def test_an_extra_carries_vat_at_the_normal_rate_and_its_amount(session):
    extra = ledger.extra_view(record_extra(session, quantity="1.50", unit_price="0.33"))
    assert (extra["amount"], extra["vat_rate"]) == (D("0.50"), D("0.20"))
    assert [e.year for e in ledger.extras_of(session, LAVERUNE, None)] == [2022]
    assert ledger.extras_of(session, LAVERUNE, 2023) == []
