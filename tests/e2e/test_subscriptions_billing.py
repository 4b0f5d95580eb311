"""Subscriptions and billing together, through the gateway as the Metropole and a commune meet
them (issue 3): the convention of 2022–2024 bills Lavérune 150.11 € for 2022; an accepted
change reaches the next year's draft, once, and for that commune only; billing catches up with
what happened while it was stopped; refused requests write nothing; a termination empties the
following years."""

import io
import json
import logging
import sqlite3
import time
from pathlib import Path

import pytest
import structlog
from nameko.standalone.events import event_dispatcher

import demo
from contracts.communes import MEMBER_COMMUNES
from services.billing.service import BillingService
from tests.e2e.support import wait_for

pytestmark = pytest.mark.broker

# The first admin the root conftest's suite_config asks identity to create.
ADMIN_USERNAME, ADMIN_PASSWORD = "metropole.admin", "correct horse battery staple"
AGENT_PASSWORD = "Lavérune agent password"
LAVERUNE, MONTPELLIER = "34134", "34172"
# The design's promise: an accepted change shows in the draft within a second.
VISIBLE_WITHIN = 1.0


def titles(api, insee, year):
    answer = api.get(f"/api/v1/communes/{insee}/billing/titles", params={"year": year})
    assert answer.status_code == 200, answer.text
    return answer.json()


def amounts(title):
    """What a title bills, application by application; {} for no title."""
    return {line["application"]: line["amount"] for line in (title or {}).get("lines", [])}


def draft_amounts(api, insee, year):
    return amounts(demo.billed_title(titles(api, insee, year)))


def every_communes_titles(api, year):
    return {insee: titles(api, insee, year) for insee in sorted(MEMBER_COMMUNES)}


def requests_of(api, insee):
    answer = api.get(f"/api/v1/communes/{insee}/subscription-requests")
    assert answer.status_code == 200, answer.text
    return answer.json()


def reference_convention(for_everyone=()):
    """The 2022–2024 convention as ``make demo`` registers it; ``for_everyone`` adds
    applications to every commune, so that every commune has a title to watch."""
    reference = json.loads(demo.CONVENTION_FILE.read_text(encoding="utf-8"))
    convention = demo.convention_from(reference)
    for subscribed in convention["initial_subscriptions"].values():
        subscribed += [code for code in for_everyone if code not in subscribed]
    return convention


LAVERUNE_2022 = {"eadmin": "67.34", "eservices": "46.49", "procurement": "36.28"}


@pytest.fixture
def convention(admin_api):
    """The reference convention, registered, every commune also on e-administration; once
    billing shows Lavérune's 2023 draft, billing has heard of all of it."""
    registered = admin_api.post("/api/v1/conventions",
                                json=reference_convention(for_everyone=["eadmin"]))
    assert registered.status_code == 201, registered.text
    seen = wait_for(lambda: draft_amounts(admin_api, LAVERUNE, 2023),
                    lambda found: found == LAVERUNE_2022)
    assert seen == LAVERUNE_2022
    return registered.json()


def file_and_accept(api, insee, application, received_on="2022-06-15"):
    filed = api.post(f"/api/v1/communes/{insee}/subscription-requests",
                     json={"application": application, "action": "add",
                           "received_on": received_on})
    assert filed.status_code == 201, filed.text
    assert filed.json()["status"] == "pending", filed.json()
    decided = api.post(
        f"/api/v1/communes/{insee}/subscription-requests/{filed.json()['id']}/decision",
        json={"decision": "accept"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "accepted"
    return decided.json()


# -- (a) the demo's flow ----------------------------------------------------------------------


def test_the_demo_registers_the_convention_and_laverune_pays_150_11_for_2022(admin_api, api):
    out = io.StringIO()
    assert demo.run(api.base_url, ADMIN_USERNAME, ADMIN_PASSWORD, out=out) == 0, out.getvalue()
    assert "67.34 + 46.49 + 36.28 = 150.11 €" in out.getvalue()

    (title,) = titles(admin_api, LAVERUNE, 2022)
    assert (title["kind"], title["status"], title["year"]) == ("title", "draft", 2022)
    assert amounts(title) == LAVERUNE_2022
    assert (title["total_net"], title["total_vat"], title["total"]) == (
        "150.11", "0.00", "150.11")

    # Run again, it finds the convention registered and the same figures.
    again = io.StringIO()
    assert demo.run(api.base_url, ADMIN_USERNAME, ADMIN_PASSWORD, out=again) == 0
    assert "already covers" in again.getvalue()


# -- (b) an accepted change reaches the draft, for that commune only --------------------------


def test_an_accepted_request_shows_in_next_years_draft_within_a_second_for_that_commune_only(
        admin_api, convention):
    before = every_communes_titles(admin_api, 2023)

    file_and_accept(admin_api, LAVERUNE, "participation", received_on="2022-06-15")
    accepted_at = time.monotonic()
    seen = wait_for(lambda: draft_amounts(admin_api, LAVERUNE, 2023),
                    lambda found: "participation" in found, seconds=VISIBLE_WITHIN)
    took = time.monotonic() - accepted_at

    assert set(seen) == {*LAVERUNE_2022, "participation"}, seen
    assert took <= VISIBLE_WITHIN, f"visible after {took:.2f} s"
    assert draft_amounts(admin_api, LAVERUNE, 2022) == LAVERUNE_2022  # 2022 is untouched
    after = every_communes_titles(admin_api, 2023)
    changed = sorted(insee for insee in MEMBER_COMMUNES if after[insee] != before[insee])
    assert changed == [LAVERUNE]


# -- (c) the same event twice changes nothing -------------------------------------------------


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.entries = []
        self.formatter_of_the_suite = next(
            handler.formatter for handler in logging.getLogger().handlers
            if isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter))

    def emit(self, record):
        self.entries.append(json.loads(self.formatter_of_the_suite.format(record)))


@pytest.fixture
def log_entries():
    handler = Records()
    logging.getLogger().addHandler(handler)
    yield handler.entries
    logging.getLogger().removeHandler(handler)


def published_envelopes(data_dir, event_type):
    """Envelopes the subscriptions service wrote to its outbox, as the relay published them."""
    database = Path(data_dir) / "db" / "subscriptions.sqlite3"
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT envelope FROM outbox WHERE event_type = ? AND published_at IS NOT NULL "
            "ORDER BY created_at", (event_type,)).fetchall()
    return [json.loads(envelope) for (envelope,) in rows]


def test_a_subscription_change_delivered_twice_changes_nothing(
        admin_api, convention, suite_config, log_entries):
    file_and_accept(admin_api, LAVERUNE, "participation")
    once = wait_for(lambda: every_communes_titles(admin_api, 2023),
                    lambda found: "participation" in amounts(demo.billed_title(found[LAVERUNE])))
    envelopes = [envelope for envelope in
                 published_envelopes(suite_config["DATA_DIR"], "subscription.changed")
                 if envelope["data"]["application"] == "participation"]
    assert len(envelopes) == 1, envelopes
    (envelope,) = envelopes

    # As the broker would redeliver it: the very envelope, to the same exchange and key.
    dispatch = event_dispatcher({"AMQP_URI": suite_config["AMQP_URI"]})
    dispatch("subscriptions", "subscription.changed", envelope)

    ignored = wait_for(
        lambda: [entry for entry in log_entries if entry["event"] == "event.duplicate_ignored"
                 and entry.get("event_id") == envelope["event_id"]],
        bool)
    assert ignored, "billing never received the duplicate"
    assert every_communes_titles(admin_api, 2023) == once


# -- (d) billing stopped, then back -----------------------------------------------------------


def test_requests_are_accepted_while_billing_is_stopped_and_billing_catches_up(
        admin_api, convention, whole_suite, container_factory, suite_config):
    (billing,) = [c for c in whole_suite.containers if c.service_name == "billing"]
    billing.stop()

    file_and_accept(admin_api, LAVERUNE, "participation")
    file_and_accept(admin_api, MONTPELLIER, "alerting")
    unavailable = admin_api.get(f"/api/v1/communes/{LAVERUNE}/billing/titles",
                                params={"year": 2023})
    assert unavailable.status_code == 503, unavailable.text

    container_factory(BillingService, suite_config).start()

    laverune = wait_for(lambda: draft_amounts(admin_api, LAVERUNE, 2023),
                        lambda found: "participation" in found)
    assert set(laverune) == {*LAVERUNE_2022, "participation"}
    montpellier = wait_for(lambda: draft_amounts(admin_api, MONTPELLIER, 2023),
                           lambda found: "alerting" in found)
    assert set(montpellier) == {"eadmin", "alerting"}


# -- (e) refused requests write nothing -------------------------------------------------------


@pytest.fixture
def agent_api(admin_api, api):
    created = admin_api.post("/api/v1/accounts", json={
        "username": "agent.laverune", "password": AGENT_PASSWORD, "role": "commune_agent",
        "commune": LAVERUNE})
    assert created.status_code == 201, created.text
    return api.as_user("agent.laverune", AGENT_PASSWORD)


def assert_problem(answer, status, field=None):
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    if field:
        assert list(answer.json()["errors"]) == [field], answer.json()


def test_bad_requests_are_refused_naming_the_field_and_write_nothing(
        admin_api, agent_api, convention):
    before = {insee: requests_of(admin_api, insee) for insee in (LAVERUNE, MONTPELLIER)}
    path = f"/api/v1/communes/{LAVERUNE}/subscription-requests"

    assert_problem(admin_api.post(path, json={"application": "bowling", "action": "add"}),
                   422, "application")
    assert_problem(admin_api.post("/api/v1/communes/34001/subscription-requests",
                                  json={"application": "participation", "action": "add"}),
                   404)
    assert_problem(admin_api.post(path, json={"application": "participation", "action": "add",
                                              "received_on": "2099-01-01"}),
                   422, "received_on")
    assert_problem(agent_api.post(path, json={"application": "participation", "action": "add",
                                              "received_on": "2022-06-15"}),
                   422, "received_on")
    assert_problem(agent_api.post(f"/api/v1/communes/{MONTPELLIER}/subscription-requests",
                                  json={"application": "participation", "action": "add"}),
                   404)
    assert_problem(agent_api.get(f"/api/v1/communes/{MONTPELLIER}/subscription-requests"), 404)
    assert_problem(admin_api.post(path, json={"application": "participation"}), 422, "action")
    assert_problem(admin_api.post(path, data='{"application": "participation",',
                                  headers={"Content-Type": "application/json"}), 400)

    assert {insee: requests_of(admin_api, insee) for insee in before} == before

    # The agent's own request, received today, is recorded.
    filed = agent_api.post(path, json={"application": "participation", "action": "add"})
    assert filed.status_code == 201, filed.text
    assert [r["id"] for r in requests_of(admin_api, LAVERUNE)] == [filed.json()["id"]]


# -- (f) a termination --------------------------------------------------------------------------


def test_a_termination_notified_on_30_september_2022_ends_billing_from_2023(
        admin_api, convention):
    notified = admin_api.post(f"/api/v1/communes/{LAVERUNE}/termination",
                              json={"received_on": "2022-09-30"})
    assert notified.status_code == 201, notified.text
    assert (notified.json()["status"], notified.json()["effective_on"]) == (
        "accepted", "2023-01-01")

    emptied = wait_for(lambda: draft_amounts(admin_api, LAVERUNE, 2023),
                       lambda found: found == {})
    assert emptied == {}
    assert draft_amounts(admin_api, LAVERUNE, 2024) == {}
    assert draft_amounts(admin_api, LAVERUNE, 2022) == LAVERUNE_2022
    commune = admin_api.get(f"/api/v1/communes/{LAVERUNE}").json()
    assert commune["terminated_on"] == "2023-01-01"
