"""The subscriptions service through the real broker: each test starts it on a vhost and a
data folder of its own and calls it as the gateway does, over RPC."""

import contextlib
import json
import sqlite3
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from contracts.errors import Conflict, Invalid, NotFound
from contracts.subscriptions import (
    CommuneSchema,
    ConventionSchema,
    SubscriptionRequestSchema,
    TerminationSchema,
)
from servicekit.clock import ClockProvider
from services.subscriptions import rules
from services.subscriptions.service import SubscriptionsService

pytestmark = pytest.mark.broker

PARIS = ZoneInfo("Europe/Paris")
LAVERUNE, MONTPELLIER = "34134", "34172"
ADMIN = {"id": "2f1c8a6e-0000-4000-8000-000000000001", "role": "metropole_admin"}
AGENT = {"id": "2f1c8a6e-0000-4000-8000-000000000002", "role": "commune_agent"}
CONVENTION = {
    "title": "Convention de gestion de services numériques communs",
    "period_start": "2022-01-01",
    "period_end": "2024-12-31",
    "population_vintage": 2023,
    "applications": [
        {"application": "eadmin", "annual_cost": "21312.00"},
        {"application": "eservices", "annual_cost": "14714.00"},
        {"application": "procurement", "annual_cost": "11482.00"},
        {"application": "opendata", "annual_cost": None},
    ],
    "initial_subscriptions": {
        LAVERUNE: ["eadmin", "eservices", "procurement", "opendata"],
        MONTPELLIER: ["opendata"],
    },
}


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def start_subscriptions(container_factory, suite_config):
    def start(**overrides):
        container = container_factory(SubscriptionsService, {**suite_config, **overrides})
        container.start()
        return container

    return start


@pytest.fixture
def subscriptions(start_subscriptions):
    # Frozen on the last day a change requested now still applies next year.
    return start_subscriptions(CLOCK_FROZEN_AT="2022-09-30T10:00:00+02:00")


@pytest.fixture
def subscriptions_rpc(suite_config, subscriptions):
    with ServiceRpcProxy("subscriptions", suite_config, timeout=10) as proxy:
        yield proxy


@pytest.fixture
def convention(subscriptions_rpc):
    return subscriptions_rpc.register_convention(CONVENTION, registered_by=ADMIN["id"])


def set_clock(container, paris_time):
    clock = next(d for d in container.dependencies if isinstance(d, ClockProvider)).clock
    clock.set(datetime.fromisoformat(paris_time).replace(tzinfo=PARIS))


def query(config, sql, *parameters):
    database = Path(config["DATA_DIR"]) / "db" / "subscriptions.sqlite3"
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return connection.execute(sql, parameters).fetchall()


def outbox_events(config, event_type):
    rows = query(
        config,
        "SELECT envelope FROM outbox WHERE event_type = ? ORDER BY created_at",
        event_type,
    )
    return [json.loads(envelope) for (envelope,) in rows]


def count(config, table):
    return query(config, f"SELECT count(*) FROM {table}")[0][0]


def conforms(schema, answer):
    schema.load(answer)
    return answer


# -- communes ---------------------------------------------------------------------------------


def test_the_first_start_stores_the_communes_and_announces_their_populations_once(
    start_subscriptions, suite_config
):
    start_subscriptions().stop()
    start_subscriptions()
    assert count(suite_config, "communes") == 31
    assert count(suite_config, "populations") == 31
    announced = outbox_events(suite_config, "population.updated")
    assert len(announced) == 31
    assert {event["data"]["vintage"] for event in announced} == {2023}
    assert {event["commune"] for event in announced} == {
        insee for (insee,) in query(suite_config, "SELECT insee FROM communes")
    }


def test_communes_are_listed_by_insee_code_and_a_stranger_is_not_found(subscriptions_rpc):
    communes = conforms(CommuneSchema(many=True), subscriptions_rpc.list_communes())
    assert len(communes) == 31
    assert [c["insee"] for c in communes] == sorted(c["insee"] for c in communes)
    laverune = conforms(CommuneSchema(), subscriptions_rpc.get_commune(LAVERUNE))
    assert (laverune["name"], laverune["siret"], laverune["terminated_on"]) == (
        "Lavérune", None, None
    )
    for stranger in ("34999", "nonsense"):
        with pytest.raises(NotFound):
            subscriptions_rpc.get_commune(stranger)


def test_siret_and_populations_are_updated_and_populations_announced(
    subscriptions_rpc, suite_config
):
    updated = subscriptions_rpc.update_commune(LAVERUNE, {"siret": "21340134200018"})
    assert updated["siret"] == "21340134200018"
    assert outbox_events(suite_config, "commune.updated")[-1]["data"] == {
        "commune": LAVERUNE, "siret": "21340134200018"}
    for wrong in ("2134", "21340134200011", "21340172200003"):
        with pytest.raises(Invalid) as refusal:
            subscriptions_rpc.update_commune(LAVERUNE, {"siret": wrong})
        assert set(refusal.value.errors) == {"siret"}, wrong
    assert subscriptions_rpc.get_commune(LAVERUNE)["siret"] == "21340134200018"
    commune = subscriptions_rpc.update_population(LAVERUNE, {"vintage": 2024, "population": 3350})
    assert commune["populations"][-1] == {"vintage": 2024, "population": 3350}
    assert outbox_events(suite_config, "population.updated")[-1]["data"] == {
        "commune": LAVERUNE, "vintage": 2024, "population": 3350,
    }
    with pytest.raises(Invalid):
        subscriptions_rpc.update_population(LAVERUNE, {"vintage": 2024, "population": -1})
    assert len(outbox_events(suite_config, "population.updated")) == 32


# -- conventions ------------------------------------------------------------------------------


def test_registering_the_convention_announces_it_and_the_initial_subscriptions(
    subscriptions_rpc, convention, suite_config
):
    conforms(ConventionSchema(), convention)
    assert subscriptions_rpc.list_conventions() == [convention]
    (registered,) = outbox_events(suite_config, "convention.registered")
    assert registered["data"]["convention_id"] == convention["id"]
    changes = [event["data"] for event in outbox_events(suite_config, "subscription.changed")]
    assert len(changes) == 5
    assert {(c["commune"], c["change"], c["effective_from"], c["request_id"]) for c in changes} == {
        (LAVERUNE, "added", "2022-01-01", None),
        (MONTPELLIER, "added", "2022-01-01", None),
    }
    laverune = subscriptions_rpc.get_commune(LAVERUNE)
    assert {s["application"] for s in laverune["subscriptions"]} == {
        "eadmin", "eservices", "procurement", "opendata",
    }
    with pytest.raises(Conflict):
        subscriptions_rpc.register_convention(CONVENTION, registered_by=ADMIN["id"])
    with pytest.raises(Invalid) as refusal:
        subscriptions_rpc.register_convention(
            {**CONVENTION, "period_start": "2025-03-01", "period_end": "2027-12-31"},
            registered_by=ADMIN["id"],
        )
    assert set(refusal.value.errors) == {"period_start"}
    assert count(suite_config, "conventions") == 1


def test_an_amendment_is_announced_and_opens_the_application_to_requests(
    subscriptions_rpc, convention, suite_config
):
    refused = subscriptions_rpc.file_subscription_request(
        LAVERUNE, {"application": "alerting", "action": "add"}, filed_by=AGENT
    )
    assert refused["reason"] == rules.NEEDS_AMENDMENT
    amendment = {"application": "alerting", "annual_cost": "30000.00", "signed_on": "2022-06-01"}
    amended = subscriptions_rpc.amend_convention(convention["id"], amendment, ADMIN["id"])
    assert [a["application"] for a in amended["amendments"]] == ["alerting"]
    with pytest.raises(Conflict):
        subscriptions_rpc.amend_convention(convention["id"], amendment, ADMIN["id"])
    with pytest.raises(NotFound):
        subscriptions_rpc.amend_convention(str(uuid.uuid4()), amendment, ADMIN["id"])
    assert len(outbox_events(suite_config, "convention.amended")) == 1
    request = subscriptions_rpc.file_subscription_request(
        LAVERUNE, {"application": "alerting", "action": "add"}, filed_by=AGENT
    )
    assert request["status"] == "pending"


# -- change requests (Art. 9) -----------------------------------------------------------------


@pytest.mark.parametrize(
    "paris_time, effective_from, answer_due",
    [
        ("2022-09-30T10:00", "2023-01-01", "2022-10-30"),
        ("2022-09-30T23:59", "2023-01-01", "2022-10-30"),
        # 22:30 UTC on 30 September is already 1 October in France: too late for 2023.
        ("2022-10-01T00:30", "2024-01-01", "2022-11-01"),
    ],
)
def test_an_agents_request_is_received_on_the_day_it_is_filed_in_france(
    subscriptions, subscriptions_rpc, convention, paris_time, effective_from, answer_due
):
    set_clock(subscriptions, paris_time)
    request = conforms(
        SubscriptionRequestSchema(),
        subscriptions_rpc.file_subscription_request(
            LAVERUNE, {"application": "eadmin", "action": "remove"}, filed_by=AGENT
        ),
    )
    assert (request["status"], request["effective_from"], request["answer_due"]) == (
        "pending", effective_from, answer_due
    )
    assert request["received_on"] == paris_time[:10]


@pytest.mark.parametrize(
    "application, action, received_on, reason",
    [
        ("participation", "add", None, rules.NEEDS_AMENDMENT),
        ("eadmin", "add", None, rules.ALREADY_SUBSCRIBED),
        ("alerting", "remove", None, rules.NEEDS_AMENDMENT),
        ("eservices", "add", "2022-03-01", rules.ALREADY_SUBSCRIBED),
        ("opendata", "remove", "2021-12-31", rules.NO_CONVENTION),
    ],
)
def test_a_request_that_breaks_a_rule_is_stored_refused_with_its_reason(
    subscriptions_rpc, convention, suite_config, application, action, received_on, reason
):
    filed_by = ADMIN if received_on else AGENT
    request = subscriptions_rpc.file_subscription_request(
        LAVERUNE,
        {"application": application, "action": action, "received_on": received_on},
        filed_by=filed_by,
    )
    assert (request["status"], request["reason"], request["effective_from"]) == (
        "refused", reason, None
    )
    assert subscriptions_rpc.subscription_requests(LAVERUNE) == [request]
    assert count(suite_config, "subscription_requests") == 1


def test_a_request_in_the_last_year_of_the_convention_is_refused(
    subscriptions, subscriptions_rpc, convention
):
    set_clock(subscriptions, "2024-02-01T09:00")
    request = subscriptions_rpc.file_subscription_request(
        MONTPELLIER, {"application": "eadmin", "action": "add"}, filed_by=AGENT
    )
    assert (request["status"], request["reason"]) == ("refused", rules.PAST_CONVENTION_END)


INVALID_REQUESTS = [
    ({"application": "eadmin", "action": "add", "received_on": "2022-09-01"}, AGENT,
     {"received_on"}),
    ({"application": "eadmin", "action": "add", "received_on": "2022-10-01"}, ADMIN,
     {"received_on"}),
    ({"application": "eadmin", "action": "subscribe"}, AGENT, {"action"}),
    ({"application": "chorus", "action": "add"}, AGENT, {"application"}),
    ({"application": "eadmin", "action": "add", "urgent": True}, AGENT, {"urgent"}),
    (["eadmin"], AGENT, {"_schema"}),
]


def test_invalid_requests_are_named_and_write_nothing(subscriptions_rpc, convention, suite_config):
    for request, filed_by, wrong_fields in INVALID_REQUESTS:
        with pytest.raises(Invalid) as refusal:
            subscriptions_rpc.file_subscription_request(LAVERUNE, request, filed_by=filed_by)
        assert set(refusal.value.errors) == wrong_fields, request
    with pytest.raises(Invalid):
        subscriptions_rpc.notify_termination(LAVERUNE, {"received_on": "2022-01-05"}, AGENT)
    with pytest.raises(NotFound):
        subscriptions_rpc.file_subscription_request(
            "34999", {"application": "eadmin", "action": "add"}, filed_by=AGENT
        )
    assert count(suite_config, "subscription_requests") == 0
    assert count(suite_config, "terminations") == 0


def test_accepting_a_request_changes_the_subscription_and_announces_it(
    subscriptions_rpc, convention, suite_config
):
    request = subscriptions_rpc.file_subscription_request(
        LAVERUNE, {"application": "eadmin", "action": "remove"}, filed_by=AGENT
    )
    decided = conforms(
        SubscriptionRequestSchema(),
        subscriptions_rpc.decide_subscription_request(
            LAVERUNE, request["id"], {"decision": "accept"}, decided_by=ADMIN["id"]
        ),
    )
    assert decided["status"] == "accepted" and decided["decided_at"]
    change = outbox_events(suite_config, "subscription.changed")[-1]
    assert change["commune"] == LAVERUNE
    assert change["data"] == {
        "commune": LAVERUNE,
        "application": "eadmin",
        "change": "removed",
        "effective_from": "2023-01-01",
        "convention_id": convention["id"],
        "request_id": request["id"],
    }
    (eadmin,) = [
        s for s in subscriptions_rpc.get_commune(LAVERUNE)["subscriptions"]
        if s["application"] == "eadmin"
    ]
    assert eadmin == {"application": "eadmin", "effective_from": "2022-01-01",
                      "effective_until": "2023-01-01"}
    with pytest.raises(Conflict):
        subscriptions_rpc.decide_subscription_request(
            LAVERUNE, request["id"], {"decision": "refuse", "reason": "late"}, ADMIN["id"]
        )


def test_decisions_on_requests_that_cannot_be_accepted(subscriptions_rpc, convention, suite_config):
    requests = [
        subscriptions_rpc.file_subscription_request(
            MONTPELLIER, {"application": "eadmin", "action": "add"}, filed_by=AGENT
        )
        for _ in range(2)
    ]
    subscriptions_rpc.decide_subscription_request(
        MONTPELLIER, requests[0]["id"], {"decision": "accept"}, ADMIN["id"]
    )
    changes = len(outbox_events(suite_config, "subscription.changed"))
    with pytest.raises(Conflict, match=rules.ALREADY_SUBSCRIBED):
        subscriptions_rpc.decide_subscription_request(
            MONTPELLIER, requests[1]["id"], {"decision": "accept"}, ADMIN["id"]
        )
    with pytest.raises(NotFound):
        subscriptions_rpc.decide_subscription_request(
            LAVERUNE, requests[1]["id"], {"decision": "accept"}, ADMIN["id"]
        )
    with pytest.raises(Invalid) as refusal:
        subscriptions_rpc.decide_subscription_request(
            MONTPELLIER, requests[1]["id"], {"decision": "refuse"}, ADMIN["id"]
        )
    assert set(refusal.value.errors) == {"reason"}
    refused = subscriptions_rpc.decide_subscription_request(
        MONTPELLIER, requests[1]["id"], {"decision": "refuse", "reason": "a duplicate"},
        ADMIN["id"],
    )
    assert (refused["status"], refused["reason"]) == ("refused", "a duplicate")
    assert len(outbox_events(suite_config, "subscription.changed")) == changes


# -- terminations (Art. 10) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "received_on, status, effective_on, reason",
    [
        ("2022-09-30", "accepted", "2023-01-01", None),
        ("2022-10-01", "accepted", "2024-01-01", None),
        ("2023-09-30", "accepted", "2024-01-01", None),
        ("2023-10-01", "refused", None, rules.NOTICE_TOO_LATE),
        ("2021-09-30", "refused", None, rules.NO_CONVENTION),
    ],
)
def test_a_notice_of_termination_is_recorded_accepted_or_refused(
    subscriptions, subscriptions_rpc, convention, suite_config,
    received_on, status, effective_on, reason,
):
    set_clock(subscriptions, "2024-01-15T09:00")
    termination = conforms(
        TerminationSchema(),
        subscriptions_rpc.notify_termination(LAVERUNE, {"received_on": received_on}, ADMIN),
    )
    assert (termination["status"], termination["effective_on"], termination["reason"]) == (
        status, effective_on, reason
    )
    assert subscriptions_rpc.terminations(LAVERUNE) == [termination]
    announced = outbox_events(suite_config, "convention.terminated")
    assert [e["data"]["termination_id"] for e in announced] == (
        [termination["id"]] if status == "accepted" else []
    )


def test_a_terminated_commune_leaves_its_subscriptions_and_later_requests_are_refused(
    subscriptions, subscriptions_rpc, convention
):
    set_clock(subscriptions, "2022-10-01T09:00")
    termination = subscriptions_rpc.notify_termination(LAVERUNE, {}, AGENT)
    assert (termination["status"], termination["effective_on"]) == ("accepted", "2024-01-01")
    laverune = subscriptions_rpc.get_commune(LAVERUNE)
    assert laverune["terminated_on"] == "2024-01-01"
    assert {s["effective_until"] for s in laverune["subscriptions"]} == {"2024-01-01"}
    request = subscriptions_rpc.file_subscription_request(
        LAVERUNE, {"application": "eadmin", "action": "remove"}, filed_by=AGENT
    )
    assert (request["status"], request["reason"]) == ("refused", rules.COMMUNE_TERMINATED)
    # Montpellier has not left: its requests follow the usual rules.
    other = subscriptions_rpc.file_subscription_request(
        MONTPELLIER, {"application": "eadmin", "action": "add"}, filed_by=AGENT
    )
    assert other["status"] == "pending"


# -- one object by its id ---------------------------------------------------------------------


def test_a_convention_is_read_by_its_id(subscriptions_rpc, convention):
    amended = subscriptions_rpc.amend_convention(
        convention["id"],
        {"application": "alerting", "annual_cost": "30000.00", "signed_on": "2022-06-01"},
        ADMIN["id"],
    )
    assert conforms(ConventionSchema(), subscriptions_rpc.get_convention(convention["id"])) == (
        amended
    )
    for unknown in (str(uuid.uuid4()), "nonsense", None):
        with pytest.raises(NotFound, match="No such convention"):
            subscriptions_rpc.get_convention(unknown)


def test_a_request_and_a_notice_are_read_under_their_own_commune_only(
    subscriptions_rpc, convention
):
    request = subscriptions_rpc.file_subscription_request(
        LAVERUNE, {"application": "eadmin", "action": "remove"}, filed_by=AGENT
    )
    termination = subscriptions_rpc.notify_termination(LAVERUNE, {}, AGENT)
    assert conforms(
        SubscriptionRequestSchema(),
        subscriptions_rpc.get_subscription_request(LAVERUNE, request["id"]),
    ) == request
    assert conforms(
        TerminationSchema(), subscriptions_rpc.get_termination(LAVERUNE, termination["id"])
    ) == termination
    # Another commune's, an unknown id, an id of the other kind, no id: all equally unknown.
    for insee, request_id, termination_id in [
        (MONTPELLIER, request["id"], termination["id"]),
        ("34999", request["id"], termination["id"]),
        (LAVERUNE, str(uuid.uuid4()), str(uuid.uuid4())),
        (LAVERUNE, termination["id"], request["id"]),
        (LAVERUNE, "nonsense", None),
    ]:
        with pytest.raises(NotFound, match="No such request for this commune"):
            subscriptions_rpc.get_subscription_request(insee, request_id)
        with pytest.raises(NotFound, match="No such termination notice for this commune"):
            subscriptions_rpc.get_termination(insee, termination_id)
