"""The participation platform through the real broker, on a clock the test moves: phases that
open and close what citizens may do, one vote per account even when many vote at once, a
participatory budget's ballots, a petition, moderation, results, and a deleted account's
contributions exported, then anonymised with its votes still counted."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select

from contracts.errors import Conflict, Forbidden, Invalid
from contracts.events import ACCOUNT_DELETED
from contracts.participation import MAX_PAGE
from contracts.personal_data import ParticipationExportSchema
from servicekit.database import Database
from servicekit.providers import sibling
from servicekit.tables import outbox
from servicekit.testing_bus import deliver, subscribe
from services.participation.service import ParticipationService

pytestmark = pytest.mark.broker

LAVERUNE = "34134"
START = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
AGENT = "agent-id"


def person(number):
    return {"account_id": str(uuid.UUID(int=number)), "name": f"Citoyen {number}"}


ADA, BOB = person(1), person(2)


def phases(kind_days=(0, 10, 20, 30)):
    information, proposals, voting, results = (START + timedelta(days=d) for d in kind_days)
    return {"information": {"starts_at": information.isoformat(),
                            "ends_at": proposals.isoformat()},
            "proposals": {"starts_at": proposals.isoformat(), "ends_at": voting.isoformat()},
            "voting": {"starts_at": voting.isoformat(), "ends_at": results.isoformat()},
            "results": {"starts_at": results.isoformat(), "ends_at": None}}


BUDGET = {"title": "Budget participatif 2027", "description": "Vos projets pour Lavérune.",
          "kind": "participatory_budget", "phases": phases(), "budget": "100000.00",
          "min_projects": 1, "max_projects": 2}


@pytest.fixture
def participation(container_factory, suite_config):
    container = container_factory(ParticipationService, {
        **suite_config, "CLOCK_FROZEN_AT": START.isoformat()})
    container.start()
    return container


@pytest.fixture
def clock(participation):
    return next(d for d in participation.dependencies if d.attr_name == "clock").clock


@pytest.fixture
def rpc(suite_config, participation):
    with ServiceRpcProxy("participation", suite_config, timeout=10) as proxy:
        yield proxy


@pytest.fixture
def laverune(participation, suite_config):
    subscribe(participation, suite_config, LAVERUNE, "participation", START)
    return LAVERUNE


def in_phase(clock, day):
    clock.set(START + timedelta(days=day, hours=1))


def project(rpc, process, who, title, amount):
    return rpc.propose(process["id"], who, {"title": title, "body": "Pour le quartier.",
                                            "budget_amount": amount})


def test_a_participatory_budget_from_proposals_to_results(participation, laverune, rpc, clock):
    process = rpc.create_process(LAVERUNE, BUDGET, AGENT)
    with pytest.raises(Conflict, match="proposals phase"):
        project(rpc, process, ADA, "Trop tôt", "10.00")
    in_phase(clock, 10)
    park = project(rpc, process, ADA, "Un parc", "60000.00")
    clock.advance(minutes=1)  # ties in votes go to the earlier proposal
    bench = project(rpc, process, BOB, "Des bancs", "30000.00")
    track = project(rpc, process, BOB, "Une piste", "50000.00")
    with pytest.raises(Invalid) as refused:
        project(rpc, process, BOB, "Sans coût", None)
    assert "budget_amount" in refused.value.errors
    with pytest.raises(Conflict, match="voting phase"):
        rpc.cast_ballot(process["id"], ADA, {"proposals": [park["id"]]})

    in_phase(clock, 20)
    with pytest.raises(Invalid, match="over the budget"):
        rpc.cast_ballot(process["id"], ADA, {"proposals": [park["id"], track["id"]]})
    rpc.cast_ballot(process["id"], ADA, {"proposals": [track["id"]]})
    changed = rpc.cast_ballot(process["id"], ADA, {"proposals": [park["id"], bench["id"]]})
    assert changed["total"] == "90000.00"
    for number in range(3, 6):
        rpc.cast_ballot(process["id"], person(number), {"proposals": [track["id"]]})
    with pytest.raises(Conflict, match="still open"):
        rpc.close_process(LAVERUNE, process["id"])

    clock.set(START + timedelta(days=30))
    with pytest.raises(Conflict, match="voting phase"):
        rpc.cast_ballot(process["id"], BOB, {"proposals": [park["id"]]})
    closed = rpc.close_process(LAVERUNE, process["id"])

    assert [(r["title"], r["votes"], r["selected"]) for r in closed["results"]] == [
        ("Une piste", 3, True), ("Un parc", 1, False), ("Des bancs", 1, True)]
    with sibling(participation, Database).access.transaction() as session:
        (envelope,) = session.scalars(select(outbox.c.envelope).where(
            outbox.c.event_type == "process.closed")).all()
    assert envelope["data"]["ballots"] == 4 and envelope["data"]["budget"] == "100000.00"
    assert rpc.close_process(LAVERUNE, process["id"])["closed_at"] == closed["closed_at"]


def test_many_citizens_voting_at_once_are_each_counted_once(laverune, rpc, clock,
                                                            suite_config):
    process = rpc.create_process(LAVERUNE, {**BUDGET, "kind": "consultation", "budget": None},
                                 AGENT)
    in_phase(clock, 10)
    proposal = rpc.propose(process["id"], ADA, {"title": "Un marché bio", "body": "Le samedi."})
    in_phase(clock, 20)
    voters = [person(100 + n) for n in range(40)]
    outcomes = []

    def vote(who, times):
        with ServiceRpcProxy("participation", suite_config, timeout=20) as client:
            for _ in range(times):
                try:
                    client.vote(process["id"], proposal["id"], who)
                    outcomes.append("counted")
                except Conflict:
                    outcomes.append("refused")

    # Forty citizens at once, and one of them clicking three more times from other clients.
    threads = [threading.Thread(target=vote, args=(who, 1)) for who in voters]
    threads += [threading.Thread(target=vote, args=(voters[0], 1)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (outcomes.count("counted"), outcomes.count("refused")) == (40, 3)
    clock.set(START + timedelta(days=30))
    (result,) = rpc.close_process(LAVERUNE, process["id"])["results"]
    assert result["votes"] == 40


def test_a_petition_counts_its_signatures_once_each(laverune, rpc, clock):
    petition = rpc.create_process(LAVERUNE, {
        "title": "Pour une piste cyclable", "description": "Signez.", "kind": "petition",
        "phases": {"voting": phases()["voting"], "results": phases()["results"]},
        "threshold": 2}, AGENT)
    in_phase(clock, 20)
    assert rpc.sign(petition["id"], ADA)["signatures"] == 1
    with pytest.raises(Conflict, match="already signed"):
        rpc.sign(petition["id"], ADA)
    assert rpc.sign(petition["id"], BOB)["signatures"] == 2
    assert rpc.process(petition["id"])["signatures"] == 2


def test_residents_only_and_moderation_kept_for_audit(laverune, rpc, clock):
    process = rpc.create_process(LAVERUNE, {**BUDGET, "kind": "consultation", "budget": None,
                                            "eligibility": "residents"}, AGENT)
    in_phase(clock, 10)
    with pytest.raises(Forbidden, match="residents"):
        rpc.propose(process["id"], ADA, {"title": "Un marché", "body": "Bio."})
    rpc.declare_residence(ADA["account_id"], {"commune": LAVERUNE})
    proposal = rpc.propose(process["id"], ADA, {"title": "Un marché", "body": "Bio."})
    comment = rpc.comment(process["id"], proposal["id"], ADA, {"body": "Oui !"})
    rpc.declare_residence(BOB["account_id"], {"commune": LAVERUNE})
    clock.advance(minutes=1)
    rpc.comment(process["id"], proposal["id"], BOB, {"body": "Plutôt le dimanche.",
                                                     "parent_id": comment["id"]})
    rpc.report(process["id"], "comment", comment["id"], BOB, {"reason": "off_topic"})

    hidden = rpc.moderate(LAVERUNE, process["id"], "comment", comment["id"],
                          {"hidden": True, "reason": "Hors sujet"}, AGENT)
    assert (hidden["hidden"], hidden["body"], hidden["hidden_reason"]) == (True, None,
                                                                         "Hors sujet")
    with pytest.raises(Invalid):
        rpc.moderate(LAVERUNE, process["id"], "comment", comment["id"], {"hidden": True},
                     AGENT)
    reports = rpc.reports(LAVERUNE, process["id"])
    assert ([r["reason"] for r in reports["results"]], reports["total_count"]) == (
        ["off_topic"], 1)
    threaded = rpc.comments(process["id"], proposal["id"])
    assert [c["parent_id"] for c in threaded] == [None, comment["id"]]


def test_proposals_comments_and_reports_are_read_a_page_at_a_time(laverune, rpc, clock):
    process = rpc.create_process(LAVERUNE, {**BUDGET, "kind": "consultation", "budget": None},
                                 AGENT)
    in_phase(clock, 10)
    titles = [f"Idée {number}" for number in range(3)]
    for title in titles:
        proposal = rpc.propose(process["id"], ADA, {"title": title, "body": "Pour tous."})
        clock.advance(minutes=1)
    for number in range(3):
        rpc.comment(process["id"], proposal["id"], BOB, {"body": f"Avis {number}"})
        clock.advance(minutes=1)
    for reason in ("spam", "offensive", "off_topic"):
        rpc.report(process["id"], "proposal", proposal["id"], BOB, {"reason": reason})
        clock.advance(minutes=1)

    def titles_of(page):
        return [p["title"] for p in rpc.proposals(process["id"], page)]

    assert titles_of({"limit": 2}) == titles[:2]
    assert titles_of({"limit": 2, "offset": 2}) == titles[2:]
    assert titles_of({"offset": 3}) == []
    # Without a page, the first: up to MAX_PAGE of them.
    assert titles_of(None) == titles
    assert [c["body"] for c in rpc.comments(process["id"], proposal["id"],
                                            {"limit": 1, "offset": 1})] == ["Avis 1"]
    reports = rpc.reports(LAVERUNE, process["id"], {"limit": 1, "offset": 1})
    assert ([r["reason"] for r in reports["results"]], reports["total_count"]) == (
        ["offensive"], 3)
    for page in ({"limit": MAX_PAGE + 1}, {"limit": 0}):
        with pytest.raises(Invalid) as refusal:
            rpc.comments(process["id"], proposal["id"], page)
        assert set(refusal.value.errors) == {"limit"}
        with pytest.raises(Invalid) as refusal:
            rpc.reports(LAVERUNE, process["id"], page)
        assert set(refusal.value.errors) == {"limit"}


def test_a_citizen_exports_what_they_did_and_deletion_leaves_it_anonymous_and_counted(
        participation, laverune, rpc, clock, suite_config):
    process = rpc.create_process(LAVERUNE, {**BUDGET, "kind": "consultation", "budget": None},
                                 AGENT)
    rpc.declare_residence(ADA["account_id"], {"commune": LAVERUNE})
    in_phase(clock, 10)
    proposal = rpc.propose(process["id"], ADA, {"title": "Un marché", "body": "Bio."})
    other = rpc.propose(process["id"], BOB, {"title": "Un parking", "body": "Gratuit."})
    rpc.comment(process["id"], other["id"], ADA, {"body": "Plutôt des vélos."})
    rpc.report(process["id"], "proposal", other["id"], ADA,
               {"reason": "off_topic", "details": "Hors sujet"})
    rpc.moderate(LAVERUNE, process["id"], "proposal", proposal["id"],
                 {"hidden": True, "reason": "Doublon"}, AGENT)
    in_phase(clock, 20)
    rpc.vote(process["id"], other["id"], ADA)
    ada = {"account_id": ADA["account_id"], "email": None}

    exported = rpc.export_personal_data(ada)

    assert ParticipationExportSchema().validate(exported) == {}
    assert exported["residence"]["commune"] == LAVERUNE
    # A hidden proposal's words are withheld from readers, not from their author.
    assert [(p["title"], p["hidden"]) for p in exported["proposals"]] == [("Un marché", True)]
    assert [c["body"] for c in exported["comments"]] == ["Plutôt des vélos."]
    assert [(r["target_id"], r["details"]) for r in exported["reports"]] == [
        (other["id"], "Hors sujet")]
    assert [(v["kind"], v["proposals"]) for v in exported["votes"]] == [
        ("vote", [other["id"]])]
    assert rpc.export_personal_data({"account_id": BOB["account_id"], "email": None})[
        "comments"] == []

    deliver(participation, suite_config, ACCOUNT_DELETED, "on_account_deleted",
            {"account_id": ADA["account_id"], "role": "citizen"}, START)

    assert rpc.export_personal_data(ada) == {"residence": None, "proposals": [],
                                             "comments": [], "votes": [], "reports": []}
    kept = next(p for p in rpc.proposals(process["id"]) if p["id"] == proposal["id"])
    assert kept["author"] is None
    assert rpc.reports(LAVERUNE, process["id"])["total_count"] == 1
    clock.set(START + timedelta(days=30))
    results = rpc.close_process(LAVERUNE, process["id"])["results"]
    assert {r["title"]: r["votes"] for r in results}["Un parking"] == 1
