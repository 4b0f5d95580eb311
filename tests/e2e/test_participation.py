"""Citizen participation over HTTP (issue 9), with the platform's clock in the test's hands: a
commune sets up a participatory budget, citizens propose, voting opens; a second vote from the
same account, a ballot over the budget and a vote after the closing are refused with clear
problems; the results are right and appear in open data. Citizens voting at once for the same
proposal are each counted once."""

import functools
import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.support import (
    agent_of,
    assert_problem,
    clock_of,
    signed_up,
    start_suite,
    wait_for,
)

pytestmark = pytest.mark.broker

LAVERUNE = "34134"
PASSWORD = "a long enough secret"
PLATFORM = "/api/v1/participation/processes"


def citizen(api, smtp_server, number):
    return signed_up(api, smtp_server, "/api/v1/citizens", {
        "email": f"citoyen{number}@example.org", "password": PASSWORD,
        "given_name": "Citoyen", "family_name": str(number)})


@pytest.fixture
def suite(api, start_services, smtp_server, web_config_port):
    admin, runner = start_suite(api, start_services, smtp_server, web_config_port,
                                extra_subscriptions=((LAVERUNE, "participation"),))
    return admin, clock_of(runner, "participation")


def phases(now):
    proposals, voting, results = (now + timedelta(days=d) for d in (0, 7, 14))
    return {"proposals": {"starts_at": proposals.isoformat(), "ends_at": voting.isoformat()},
            "voting": {"starts_at": voting.isoformat(), "ends_at": results.isoformat()},
            "results": {"starts_at": results.isoformat(), "ends_at": None}}


def create(agent, process):
    answer = wait_for(functools.partial(agent.post, f"/api/v1/communes/{LAVERUNE}/"
                                                    "participation/processes", json=process),
                      lambda a: a.status_code == 201)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_participatory_budget_refusals_results_and_open_data(suite, api, smtp_server):
    admin, clock = suite
    agent = agent_of(admin, api, LAVERUNE, "agent.laverune")
    now = datetime.now(UTC).replace(microsecond=0)
    process = create(agent, {
        "title": "Budget participatif 2027", "description": "Vos projets pour Lavérune.",
        "kind": "participatory_budget", "phases": phases(now), "budget": "100000.00",
        "max_projects": 2})
    path = f"{PLATFORM}/{process['id']}"
    ada, bob, eve = (citizen(api, smtp_server, n) for n in (1, 2, 3))

    def propose(who, title, amount):
        answer = who.post(f"{path}/proposals", json={"title": title, "body": "Pour tous.",
                                                     "budget_amount": amount})
        assert answer.status_code == 201, answer.text
        clock.set(clock.now() + timedelta(minutes=1))
        return answer.json()["id"]

    clock.set(now + timedelta(hours=1))
    track = propose(ada, "Une piste cyclable", "50000.00")
    park = propose(bob, "Un parc", "60000.00")
    benches = propose(eve, "Des bancs", "30000.00")

    clock.set(now + timedelta(days=7, hours=1))
    assert api.get(path).json()["current_phase"] == "voting"
    assert ada.put(f"{path}/ballot", json={"proposals": [track, benches]}).status_code == 200
    assert_problem(ada.put(f"{path}/ballot", json={"proposals": [track, track]}), 422,
                   "proposals")
    assert_problem(bob.put(f"{path}/ballot", json={"proposals": [track, park]}), 422,
                   "proposals")
    assert bob.put(f"{path}/ballot", json={"proposals": [park]}).status_code == 200
    assert bob.put(f"{path}/ballot", json={"proposals": [track]}).status_code == 200
    assert eve.put(f"{path}/ballot", json={"proposals": [park]}).status_code == 200

    clock.set(now + timedelta(days=14))
    assert_problem(eve.put(f"{path}/ballot", json={"proposals": [benches]}), 409)
    closed = agent.post(f"/api/v1/communes/{LAVERUNE}/participation/processes/"
                        f"{process['id']}/closure")
    assert closed.status_code == 200, closed.text
    assert [(r["title"], r["votes"], r["selected"]) for r in closed.json()["results"]] == [
        ("Une piste cyclable", 2, True), ("Un parc", 1, False), ("Des bancs", 1, True)]

    def published():
        return api.get("/api/v1/opendata/datasets", params={
            "publisher": f"commune-{LAVERUNE}", "q": "Budget participatif"}).json()["results"]

    (dataset,) = wait_for(published, bool)
    resource = dataset["resources"][0]
    records = api.get(f"/api/v1/opendata/datasets/{dataset['id']}/resources/"
                      f"{resource['id']}/records").json()
    assert [(r["rang"], r["proposition"], r["votes"], r["retenu"])
            for r in records["results"]] == [(1, "Une piste cyclable", 2, True),
                                             (2, "Un parc", 1, False), (3, "Des bancs", 1, True)]


def test_concurrent_votes_each_counted_once_and_a_second_vote_refused(suite, api,
                                                                      smtp_server):
    admin, clock = suite
    agent = agent_of(admin, api, LAVERUNE, "agent.laverune")
    now = datetime.now(UTC).replace(microsecond=0)
    process = create(agent, {"title": "Le marché du samedi", "description": "Votre avis.",
                             "kind": "consultation", "phases": phases(now)})
    path = f"{PLATFORM}/{process['id']}"
    citizens = [citizen(api, smtp_server, n) for n in range(10, 18)]
    clock.set(now + timedelta(hours=1))
    proposal = citizens[0].post(f"{path}/proposals", json={"title": "Un marché bio",
                                                           "body": "Le samedi matin."})
    assert proposal.status_code == 201, proposal.text
    votes = f"{path}/proposals/{proposal.json()['id']}/votes"
    clock.set(now + timedelta(days=7, hours=1))

    statuses = []
    threads = [threading.Thread(target=lambda c=c: statuses.append(c.post(votes).status_code))
               for c in [*citizens, citizens[0], citizens[0]]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201] * len(citizens) + [409, 409]
    assert_problem(citizens[1].post(votes), 409)
    clock.set(now + timedelta(days=14))
    assert_problem(citizens[1].post(votes), 409)
    closed = agent.post(f"/api/v1/communes/{LAVERUNE}/participation/processes/"
                        f"{process['id']}/closure").json()
    assert closed["results"][0]["votes"] == len(citizens)
