"""The participation rules: phases and their calendar, who may take part, a participatory
budget's ballot (Decidim's vote basket), a petition's threshold and the results when voting
closes."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from contracts.events import ProposalResultSchema
from services.participation.rules import (
    PHASES,
    ballot_refusal,
    may_take_part,
    petition_reached,
    phase_on,
    phases_refusal,
    results,
)

PARIS = ZoneInfo("Europe/Paris")
SECOND = timedelta(seconds=1)


def _at(day, hour=0):
    return datetime(2026, 3, day, hour, tzinfo=UTC)


# Information 1-8 March, proposals 8-15, a gap, voting 20-27, results from the 27th on.
PHASES_OF_A_BUDGET = {
    "information": (_at(1), _at(8)),
    "proposals": (_at(8), _at(15)),
    "voting": (_at(20), _at(27)),
    "results": (_at(27), None),
}


@pytest.mark.parametrize("now, expected", [
    (_at(1) - SECOND, None),                  # before the first phase
    (_at(1), "information"),                  # a phase's start belongs to it
    (_at(8) - SECOND, "information"),
    (_at(8), "proposals"),                    # the instant a phase ends belongs to the next
    (_at(15) - timedelta(microseconds=1), "proposals"),
    (_at(15), None),                          # between two phases
    (_at(19, 23), None),
    (_at(20), "voting"),
    (_at(27) - SECOND, "voting"),
    (_at(27), "results"),                     # a vote at the closing instant is too late
    (datetime(2036, 1, 1, tzinfo=UTC), "results"),  # the results never end
    # the same instants written in Paris time (UTC+1 in March)
    (datetime(2026, 3, 20, 0, 59, 59, tzinfo=PARIS), None),
    (datetime(2026, 3, 20, 1, 0, tzinfo=PARIS), "voting"),
])
def test_the_phase_a_moment_falls_in(now, expected):
    assert phase_on(PHASES_OF_A_BUDGET, now) == expected


def test_a_process_with_voting_only():
    phases = {"voting": (_at(20), _at(27))}
    assert phase_on(phases, _at(19)) is None
    assert phase_on(phases, _at(20)) == "voting"
    assert phase_on(phases, _at(27)) is None      # no results phase: nothing after voting


def test_the_phases_are_in_this_order():
    assert PHASES == ("information", "proposals", "voting", "results")


def _without(name):
    return {key: value for key, value in PHASES_OF_A_BUDGET.items() if key != name}


def _with(name, starts_at, ends_at):
    return {**PHASES_OF_A_BUDGET, name: (starts_at, ends_at)}


@pytest.mark.parametrize("phases", [
    PHASES_OF_A_BUDGET,
    _without("information"),
    _without("proposals"),
    _without("results"),                                     # results are computed anyway
    {"voting": (_at(20), _at(27))},                          # a petition's signatures
    _with("results", _at(27), datetime(2027, 3, 27, tzinfo=UTC)),  # results may end
    _with("results", _at(28), None),                         # a gap before the results
    _with("voting", _at(15), _at(27)),                       # starts when proposals end
    _with("voting", _at(15, 1), _at(27)),
    # the voting's end written in Paris time: the results start at that instant, in UTC
    _with("voting", _at(20), datetime(2026, 3, 27, 1, 0, tzinfo=PARIS)),
])
def test_phases_that_make_a_calendar(phases):
    assert phases_refusal(phases) is None


@pytest.mark.parametrize("phases, field, message", [
    (_without("voting"), "phases.voting", "Every process needs a voting phase."),
    ({}, "phases.voting", "Every process needs a voting phase."),
    ({**PHASES_OF_A_BUDGET, "debate": (_at(1), _at(2))}, "phases",
     "Unknown phases: debate; a process's phases are information, proposals, voting, "
     "results."),
    (_with("voting", _at(27), _at(20)), "phases.voting",
     "The voting phase must end after it starts."),
    (_with("voting", _at(20), _at(20)), "phases.voting",      # a phase of no length
     "The voting phase must end after it starts."),
    (_with("voting", _at(20), None), "phases.voting",
     "The voting phase needs an end; only the results may stay open."),
    (_with("proposals", None, _at(15)), "phases.proposals",
     "The proposals phase needs a start."),
    (_with("voting", datetime(2026, 3, 20), _at(27)), "phases.voting",
     "The voting phase's dates need their time zone."),
    (_with("voting", _at(15) - SECOND, _at(27)), "phases.voting",   # overlaps by a second
     "The voting phase must start when the proposals phase ends (2026-03-15T00:00:00+00:00) "
     "at the earliest."),
    (_with("results", _at(27) - SECOND, None), "phases.results",
     "The results phase must start when the voting phase ends (2026-03-27T00:00:00+00:00) "
     "at the earliest."),
    (_with("information", _at(9), _at(10)), "phases.proposals",     # out of order
     "The proposals phase must come after the information phase."),
    (_with("voting", _at(2), _at(5)), "phases.voting",              # before the proposals
     "The voting phase must come after the proposals phase."),
])
def test_phases_that_do_not(phases, field, message):
    assert phases_refusal(phases) == {field: [message]}


def test_a_wrong_phase_is_reported_once():
    # The proposals end before they start: the voting is compared with the information,
    # which it does not overlap, rather than with a phase that makes no sense.
    phases = _with("proposals", _at(15), _at(8))
    assert phases_refusal(phases) == {
        "phases.proposals": ["The proposals phase must end after it starts."]}


def test_every_wrong_phase_is_reported():
    phases = {"information": (_at(8), _at(1)), "voting": (_at(27), _at(20))}
    assert phases_refusal(phases) == {
        "phases.information": ["The information phase must end after it starts."],
        "phases.voting": ["The voting phase must end after it starts."],
    }


BUDGET = Decimal("100000.00")
PARK, BENCHES, LIBRARY, MURAL = "park", "benches", "library", "mural"
PROJECTS = {PARK: Decimal("60000.00"), BENCHES: Decimal("15000.00"),
            LIBRARY: Decimal("25000.00"), MURAL: Decimal("25000.01")}


@pytest.mark.parametrize("selection, min_projects, max_projects", [
    ([PARK, BENCHES, LIBRARY], None, None),     # exactly the budget
    ([BENCHES], None, None),
    ([BENCHES], 1, 1),
    ([PARK, BENCHES], 2, 2),                    # at both bounds
    ([PARK, BENCHES, LIBRARY], 1, 3),
    ([MURAL, LIBRARY], 2, None),
])
def test_a_ballot_that_may_be_cast(selection, min_projects, max_projects):
    assert ballot_refusal(selection, PROJECTS, BUDGET, min_projects, max_projects) is None


@pytest.mark.parametrize("selection, min_projects, max_projects, message", [
    ([], None, None, "Select at least one project."),
    ([], 0, None, "Select at least one project."),
    ([PARK, BENCHES, MURAL], None, None,        # one cent over
     "The selected projects total 100000.01 €, over the budget of 100000.00 €."),
    ([PARK, LIBRARY, MURAL], None, None,
     "The selected projects total 110000.01 €, over the budget of 100000.00 €."),
    ([BENCHES], 2, None, "Select at least 2 projects; this ballot has 1."),
    ([BENCHES, LIBRARY], 3, 5, "Select at least 3 projects; this ballot has 2."),
    ([BENCHES, LIBRARY, PARK], 1, 2, "Select at most 2 projects; this ballot has 3."),
    ([BENCHES, LIBRARY], None, 1, "Select at most 1 project; this ballot has 2."),
    ([BENCHES, BENCHES], None, None,
     "A project can be selected once: benches selected more than once."),
    ([BENCHES, LIBRARY, BENCHES, BENCHES], None, None,
     "A project can be selected once: benches selected more than once."),
    (["swimming-pool"], None, None, "Not projects of this participatory budget: swimming-pool."),
    ([BENCHES, "swimming-pool", "stadium"], None, None,
     "Not projects of this participatory budget: swimming-pool, stadium."),
])
def test_a_ballot_that_is_refused(selection, min_projects, max_projects, message):
    assert ballot_refusal(selection, PROJECTS, BUDGET, min_projects, max_projects) == {
        "proposals": [message]}


def test_a_ballot_states_every_broken_bound():
    refusal = ballot_refusal([PARK, LIBRARY, MURAL], PROJECTS, BUDGET, None, 2)
    assert refusal == {"proposals": [
        "The selected projects total 110000.01 €, over the budget of 100000.00 €.",
        "Select at most 2 projects; this ballot has 3.",
    ]}


def test_an_ill_formed_ballot_is_reported_alone():
    # Duplicated and unknown projects: the total and the count would mean nothing.
    refusal = ballot_refusal([PARK, PARK, "stadium"], PROJECTS, BUDGET, 5, 1)
    assert refusal == {"proposals": [
        "A project can be selected once: park selected more than once.",
        "Not projects of this participatory budget: stadium.",
    ]}


def test_a_ballot_with_uuids():
    first, second = uuid.uuid4(), uuid.uuid4()
    projects = {first: Decimal("10.00"), second: Decimal("20.00")}
    assert ballot_refusal([first, second], projects, Decimal("30.00"), 1, 2) is None
    assert ballot_refusal([uuid.uuid4()], projects, Decimal("30.00"), 1, 2) is not None


def test_a_project_without_a_cost_is_a_bug():
    with pytest.raises(ValueError):
        ballot_refusal([PARK], {PARK: None}, BUDGET, None, None)


@pytest.mark.parametrize("signatures, threshold, reached", [
    (0, 1000, False),
    (999, 1000, False),
    (1000, 1000, True),
    (1001, 1000, True),
    (0, 0, True),
])
def test_a_petition_reaches_its_threshold(signatures, threshold, reached):
    assert petition_reached(signatures, threshold) is reached


def _proposal(id_, day, amount=None, title=None):
    return {"id": id_, "title": title or f"Project {id_}", "budget_amount": amount,
            "submitted_at": _at(day)}


def _ranking(ranked):
    return [(result["proposal_id"], result["rank"], result["selected"]) for result in ranked]


@pytest.mark.parametrize("proposals, votes, expected", [
    ([], {}, []),
    ([_proposal("a", 9), _proposal("b", 8), _proposal("c", 10)], {"a": 3, "b": 5, "c": 4},
     [("b", 1, False), ("c", 2, False), ("a", 3, False)]),
    # a tie: the earlier submission first, whatever the order of the list
    ([_proposal("late", 12), _proposal("early", 9)], {"late": 4, "early": 4},
     [("early", 1, False), ("late", 2, False)]),
    # submitted at the same instant: the smaller id first
    ([_proposal("b", 9), _proposal("a", 9)], {"a": 2, "b": 2},
     [("a", 1, False), ("b", 2, False)]),
    # a proposal nobody voted for comes last, with no votes
    ([_proposal("none", 8), _proposal("one", 9)], {"one": 1},
     [("one", 1, False), ("none", 2, False)]),
])
def test_the_ranking(proposals, votes, expected):
    assert _ranking(results("consultation", proposals, votes)) == expected
    assert _ranking(results("consultation", list(reversed(proposals)), votes)) == expected


@pytest.mark.parametrize("proposals, votes, budget, expected", [
    # the second does not fit in what is left; the cheaper third does
    ([_proposal("park", 8, Decimal("60000.00")), _proposal("pool", 8, Decimal("50000.00")),
      _proposal("benches", 8, Decimal("15000.00"))], {"park": 30, "pool": 20, "benches": 10},
     Decimal("100000.00"), [("park", 1, True), ("pool", 2, False), ("benches", 3, True)]),
    # exactly what is left fits; a cent more does not
    ([_proposal("a", 8, Decimal("60000.00")), _proposal("b", 8, Decimal("40000.01")),
      _proposal("c", 8, Decimal("40000.00")), _proposal("d", 8, Decimal("0.01"))],
     {"a": 4, "b": 3, "c": 2, "d": 1}, Decimal("100000.00"),
     [("a", 1, True), ("b", 2, False), ("c", 3, True), ("d", 4, False)]),
    # the first alone is over the budget: the others are still funded
    ([_proposal("stadium", 8, Decimal("2000000.00")), _proposal("mural", 9, Decimal("5000.00"))],
     {"stadium": 50, "mural": 1}, Decimal("100000.00"),
     [("stadium", 1, False), ("mural", 2, True)]),
    # the tie broken by submission decides which of two projects the money goes to
    ([_proposal("late", 12, Decimal("70000.00")), _proposal("early", 9, Decimal("70000.00"))],
     {"late": 7, "early": 7}, Decimal("100000.00"), [("early", 1, True), ("late", 2, False)]),
])
def test_a_participatory_budget_funds_projects_greedily(proposals, votes, budget, expected):
    ranked = results("participatory_budget", proposals, votes, budget)
    assert _ranking(ranked) == expected


def test_the_results_follow_the_contract():
    first, second = uuid.uuid4(), uuid.uuid4()
    proposals = [_proposal(first, 8, Decimal("1500.50"), "Shade trees"),
                 _proposal(second, 9, Decimal("900.00"), "A bike rack")]
    ranked = results("participatory_budget", proposals, {second: 12, first: 3},
                     Decimal("1000.00"))
    assert ranked == [
        {"proposal_id": second, "title": "A bike rack", "votes": 12,
         "budget_amount": Decimal("900.00"), "rank": 1, "selected": True},
        {"proposal_id": first, "title": "Shade trees", "votes": 3,
         "budget_amount": Decimal("1500.50"), "rank": 2, "selected": False},
    ]
    schema = ProposalResultSchema(many=True)
    assert schema.load(schema.dump(ranked)) == ranked


@pytest.mark.parametrize("kind", ["consultation", "petition"])
def test_only_a_participatory_budget_funds_projects(kind):
    proposals = [_proposal("a", 8, Decimal("10.00")), _proposal("b", 9)]
    ranked = results(kind, proposals, {"a": 1, "b": 2}, Decimal("1000.00"))
    assert _ranking(ranked) == [("b", 1, False), ("a", 2, False)]


@pytest.mark.parametrize("kind, proposals, budget", [
    ("referendum", [], None),
    ("participatory_budget", [_proposal("a", 8, Decimal("10.00"))], None),
    ("participatory_budget", [_proposal("a", 8)], Decimal("1000.00")),
])
def test_results_that_cannot_be_computed_are_a_bug(kind, proposals, budget):
    with pytest.raises(ValueError):
        results(kind, proposals, {}, budget)


@pytest.mark.parametrize("eligibility, residence, allowed", [
    ("any_account", "34134", True),
    ("any_account", "34172", True),
    ("any_account", None, True),
    ("residents", "34134", True),
    ("residents", "34172", False),
    ("residents", None, False),
])
def test_who_may_take_part(eligibility, residence, allowed):
    assert may_take_part(eligibility, residence, "34134") is allowed


def test_an_unknown_eligibility_is_a_bug():
    with pytest.raises(ValueError):
        may_take_part("everyone", "34134", "34134")
