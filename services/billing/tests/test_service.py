"""The billing service through the real broker: subscriptions' events published as the outbox
relay publishes them, and billing called over RPC as the gateway calls it. Each test runs on
a vhost and a data folder of its own."""

import contextlib
import random
import sqlite3
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from eventlet.queue import Queue
from nameko.events import event_handler
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from contracts.billing import (
    AnnexSchema,
    CorrectionSchema,
    ExtraSchema,
    IssuedTitlesSchema,
    TitleSchema,
)
from contracts.errors import Conflict, Invalid, NotFound
from contracts.events import (
    CAMPAIGN_COSTED,
    CONVENTION_REGISTERED,
    CONVENTION_TERMINATED,
    POPULATION_UPDATED,
    SUBSCRIPTION_CHANGED,
)
from servicekit import testing_bus
from servicekit.outbox import make_envelope
from services.billing.service import BillingService
from services.billing.tests.support import (
    CONVENTION_ID,
    LAVERUNE,
    MONTAUD,
    convention_registered,
    populations,
)

pytestmark = pytest.mark.broker

ADMIN_ID = "admin-account-id"
REGISTERED_AT = datetime(2021, 12, 14, 10, 0, tzinfo=UTC)
DECIDED_AT = datetime(2022, 6, 1, 10, 0, tzinfo=UTC)
HANDLERS = {
    POPULATION_UPDATED: "on_population_updated",
    CONVENTION_REGISTERED: "on_convention_registered",
    SUBSCRIPTION_CHANGED: "on_subscription_changed",
    CONVENTION_TERMINATED: "on_convention_terminated",
}


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def start_billing(container_factory, suite_config):
    def start(**overrides):
        container = container_factory(BillingService, {**suite_config, **overrides})
        container.start()
        return container

    return start


@pytest.fixture
def billing(start_billing):
    return start_billing()


@pytest.fixture
def billing_rpc(suite_config, billing):
    with ServiceRpcProxy("billing", suite_config, timeout=10) as proxy:
        yield proxy


def envelope(event_type, data, occurred_at=REGISTERED_AT):
    return (event_type, make_envelope(event_type, data, occurred_at, data.get("commune")))


def agreement_events():
    """What subscriptions publishes when it seeds the communes and registers the 2022–2024
    convention with Lavérune's subscriptions."""
    return [
        *[envelope(POPULATION_UPDATED, {"commune": insee, "vintage": 2023,
                                        "population": population})
          for insee, population in populations().items()],
        envelope(CONVENTION_REGISTERED, convention_registered()),
        *[subscription_changed(LAVERUNE, application, "added", date(2022, 1, 1), REGISTERED_AT)
          for application in ("eadmin", "eservices", "procurement", "opendata")],
    ]


def subscription_changed(insee, application, change, effective_from, occurred_at=DECIDED_AT):
    return envelope(SUBSCRIPTION_CHANGED, {
        "commune": insee, "application": application, "change": change,
        "effective_from": effective_from, "convention_id": CONVENTION_ID,
        "request_id": str(uuid.uuid4()),
    }, occurred_at)


def convention_terminated(insee, effective_on):
    return envelope(CONVENTION_TERMINATED, {
        "commune": insee, "convention_id": CONVENTION_ID, "effective_on": effective_on,
        "termination_id": str(uuid.uuid4()),
    }, DECIDED_AT)


def deliver(container, config, events):
    """Publishes each event as subscriptions' relay does and waits until billing has handled
    it, one after the other: the order given is the order billing sees them in."""
    dispatch = event_dispatcher(config)
    for event_type, body in events:
        with entrypoint_waiter(container, HANDLERS[event_type], timeout=10):
            dispatch(event_type.producer, event_type.name, body)


def query(config, sql, *parameters):
    database = Path(config["DATA_DIR"]) / "db" / "billing.sqlite3"
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return connection.execute(sql, parameters).fetchall()


def conforms(schema, answer):
    schema.load(answer)
    return answer


def summary(titles):
    return [(t["year"], t["number"], t["status"], t["total"],
             [(line["application"], line["amount"]) for line in t["lines"]]) for t in titles]


# -- Annex 1 and drafts -------------------------------------------------------------------------


def test_shares_and_laverunes_draft_follow_the_events_of_subscriptions(
    billing, billing_rpc, suite_config
):
    with pytest.raises(NotFound):
        billing_rpc.shares(2022)
    deliver(billing, suite_config, agreement_events())

    annex = conforms(AnnexSchema(), billing_rpc.shares(2022))
    assert (annex["convention"], annex["population_vintage"], annex["total_population"]) == (
        str(CONVENTION_ID), 2023, 522_542
    )
    eadmin = annex["applications"][0]
    assert eadmin == {
        "application": "eadmin", "annual_cost": "21312.00", "metropole_share": "10656.00",
        "per_inhabitant": "0.020393", "subscribed_share": "67.34",
        "unsubscribed_share": "10588.66",
    }
    (draft,) = conforms(TitleSchema(many=True), billing_rpc.titles(LAVERUNE, 2022))
    assert summary([draft]) == [(2022, None, "draft", "150.11", [
        ("eadmin", "67.34"), ("eservices", "46.49"), ("procurement", "36.28"),
    ])]
    with pytest.raises(NotFound):
        billing_rpc.shares(2025)
    with pytest.raises(Invalid):
        billing_rpc.shares(1800)
    with pytest.raises(NotFound):
        billing_rpc.titles("99999", 2022)


def test_the_same_event_delivered_twice_changes_nothing(billing, billing_rpc, suite_config):
    deliver(billing, suite_config, agreement_events())
    montaud_subscribes = subscription_changed(MONTAUD, "eadmin", "added", date(2023, 1, 1))
    deliver(billing, suite_config, [montaud_subscribes])
    once = billing_rpc.titles(MONTAUD, None)

    deliver(billing, suite_config, [montaud_subscribes])
    assert billing_rpc.titles(MONTAUD, None) == once
    assert summary(once) == [(2023, None, "draft", "20.68", [("eadmin", "20.68")]),
                             (2024, None, "draft", "20.68", [("eadmin", "20.68")])]
    event_id = montaud_subscribes[1]["event_id"]
    assert query(suite_config, "SELECT count(*) FROM subscription_changes") == [(5,)]
    assert query(
        suite_config, "SELECT consumer FROM processed_events WHERE event_id = ?",
        uuid.UUID(event_id).hex,
    ) == [("billing.on_subscription_changed",)]


@pytest.mark.parametrize("order", ["as_published", "reversed", "shuffled"])
def test_events_arriving_in_any_order_give_the_same_titles(
    billing, billing_rpc, suite_config, order
):
    events = [
        *agreement_events(),
        subscription_changed(LAVERUNE, "eadmin", "removed", date(2024, 1, 1)),
        subscription_changed(MONTAUD, "alerting", "added", date(2023, 1, 1)),
        convention_terminated(MONTAUD, date(2024, 1, 1)),
    ]
    if order == "reversed":
        events.reverse()
    elif order == "shuffled":
        random.Random(2022).shuffle(events)
    deliver(billing, suite_config, events)

    assert summary(billing_rpc.titles(LAVERUNE, None)) == [
        (2022, None, "draft", "150.11",
         [("eadmin", "67.34"), ("eservices", "46.49"), ("procurement", "36.28")]),
        (2023, None, "draft", "150.11",
         [("eadmin", "67.34"), ("eservices", "46.49"), ("procurement", "36.28")]),
        (2024, None, "draft", "82.77", [("eservices", "46.49"), ("procurement", "36.28")]),
    ]
    assert summary(billing_rpc.titles(MONTAUD, None)) == [
        (2023, None, "draft", "29.11", [("alerting", "29.11")]),
    ]


# -- issuing, late titles -----------------------------------------------------------------------


def test_issuing_is_gap_free_and_idempotent(billing, billing_rpc, suite_config):
    deliver(billing, suite_config, [
        *agreement_events(), subscription_changed(MONTAUD, "eadmin", "added", date(2022, 1, 1)),
    ])
    first = conforms(IssuedTitlesSchema(), billing_rpc.issue_titles(2022, "run-2022", ADMIN_ID))
    assert [(t["number"], t["commune"], t["status"]) for t in first["issued"]] == [
        ("2022-000001", LAVERUNE, "issued"), ("2022-000002", MONTAUD, "issued"),
    ]
    assert billing_rpc.issue_titles(2022, "run-2022", ADMIN_ID) == first
    with pytest.raises(Conflict):
        billing_rpc.issue_titles(2023, "run-2022", ADMIN_ID)
    again = billing_rpc.issue_titles(2022, None, ADMIN_ID)
    assert (again["issued"], again["already_issued"]) == ([], 2)
    assert [t["number"] for t in billing_rpc.issue_titles(2023, None, ADMIN_ID)["issued"]] == [
        "2023-000001", "2023-000002",
    ]
    assert query(suite_config, "SELECT year, last_number FROM number_sequences ORDER BY year") \
        == [(2022, 2), (2023, 2)]
    with pytest.raises(Invalid):
        billing_rpc.issue_titles(2022, "x" * 256, ADMIN_ID)


def test_late_titles_are_listed_after_30_september(start_billing, suite_config):
    billing = start_billing(CLOCK_FROZEN_AT="2022-10-01T09:00:00+02:00")
    deliver(billing, suite_config, agreement_events())
    with ServiceRpcProxy("billing", suite_config, timeout=10) as billing_rpc:
        (draft,) = billing_rpc.late_titles(2022)
        assert (draft["commune"], draft["status"]) == (LAVERUNE, "draft")
        billing_rpc.issue_titles(2022, None, ADMIN_ID)
        (late,) = conforms(TitleSchema(many=True), billing_rpc.late_titles(2022))
        assert (late["number"], late["issued_at"]) == ("2022-000001", "2022-10-01T07:00:00+00:00")
        assert billing_rpc.late_titles(2023) == []


# -- extras and corrections ---------------------------------------------------------------------


def title_events_listener(received):
    class TitleEventsListener:
        """What a service following billing's titles sees."""

        name = "title_events_listener"

        @event_handler("billing", "title.issued")
        def issued(self, body):
            received.put(body)

        @event_handler("billing", "title.cancelled")
        def cancelled(self, body):
            received.put(body)

    return TitleEventsListener


def test_an_extra_makes_the_issued_title_need_a_correction_which_a_credit_note_makes(
    container_factory, billing, billing_rpc, suite_config
):
    received = Queue()
    container_factory(title_events_listener(received), suite_config).start()
    deliver(billing, suite_config, agreement_events())
    billing_rpc.issue_titles(2022, None, ADMIN_ID)
    with pytest.raises(Conflict):
        billing_rpc.correct_title("2022-000001", ADMIN_ID)

    extra = conforms(ExtraSchema(), billing_rpc.record_extra(LAVERUNE, {
        "year": 2022, "description": "Intégration d'un second formulaire", "quantity": "1.50",
        "unit_price": "400.00",
    }, ADMIN_ID))
    assert (extra["amount"], extra["vat_rate"]) == ("600.00", "0.20")
    assert billing_rpc.extras(LAVERUNE, 2022) == [extra]
    with pytest.raises(Invalid):
        billing_rpc.record_extra(LAVERUNE, {"year": 2022, "description": "x", "quantity": "0",
                                            "unit_price": "1.00"}, ADMIN_ID)
    (issued,) = billing_rpc.titles(LAVERUNE, 2022)
    assert issued["needs_correction"] is True

    correction = conforms(CorrectionSchema(), billing_rpc.correct_title("2022-000001", ADMIN_ID))
    credit_note, corrected = correction["credit_note"], correction["corrected_title"]
    assert (credit_note["kind"], credit_note["number"], credit_note["corrects"],
            credit_note["total"]) == ("credit_note", "2022-000002", "2022-000001", "-150.11")
    assert (corrected["number"], corrected["corrects"], corrected["total_net"],
            corrected["total_vat"], corrected["total"]) == (
        "2022-000003", "2022-000001", "750.11", "120.00", "870.11"
    )
    assert [(t["number"], t["status"], t["needs_correction"])
            for t in billing_rpc.titles(LAVERUNE, 2022)] == [
        ("2022-000001", "cancelled", False), ("2022-000002", "issued", False),
        ("2022-000003", "issued", False),
    ]
    with pytest.raises(Conflict):
        billing_rpc.correct_title("2022-000001", ADMIN_ID)

    published = [received.get(timeout=10) for _ in range(4)]
    assert [(e["type"], e["data"]["number"]) for e in published] == [
        ("title.issued", "2022-000001"), ("title.issued", "2022-000002"),
        ("title.cancelled", "2022-000001"), ("title.issued", "2022-000003"),
    ]
    assert published[2]["data"]["credit_note"] == "2022-000002"
    assert Decimal(published[1]["data"]["total"]) == Decimal("-150.11")


def test_a_campaigns_cost_from_alerting_is_an_extra_on_the_communes_draft_once(
    billing, billing_rpc, suite_config
):
    deliver(billing, suite_config, agreement_events())
    costed = {
        "cost_id": uuid.uuid4(), "campaign_id": uuid.uuid4(), "commune": LAVERUNE,
        "headline": "Crue de la Mosson", "launched_on": date(2022, 5, 9),
        "costed_on": date(2022, 5, 10), "sms_segments": 412, "voice_minutes": 35,
        "amount": Decimal("42.50"),
    }
    # Alerting's relay may publish the same costing twice (under two event ids).
    for _ in range(2):
        testing_bus.deliver(billing, suite_config, CAMPAIGN_COSTED, "on_campaign_costed", costed,
                            DECIDED_AT, LAVERUNE)

    (extra,) = conforms(ExtraSchema(many=True), billing_rpc.extras(LAVERUNE, 2022))
    assert (extra["id"], extra["amount"], extra["vat_rate"]) == (
        str(costed["cost_id"]), "42.50", "0.20")
    assert extra["description"] == (
        "Communications de la campagne d'alerte « Crue de la Mosson » du 09/05/2022 : "
        "412 segment(s) SMS, 35 minute(s) d'appel (Art. 2)")
    (draft,) = billing_rpc.titles(LAVERUNE, 2022)
    assert (draft["total_net"], draft["total_vat"], draft["total"]) == ("192.61", "8.50",
                                                                        "201.11")
    assert query(suite_config, "SELECT count(*) FROM processed_events WHERE consumer = ?",
                 "billing.on_campaign_costed") == [(2,)]


def test_an_extra_is_read_under_its_own_commune_only(billing_rpc):
    extra = billing_rpc.record_extra(LAVERUNE, {
        "year": 2022, "description": "Formulaire supplémentaire", "quantity": "1.00",
        "unit_price": "100.00",
    }, ADMIN_ID)
    assert conforms(ExtraSchema(), billing_rpc.get_extra(LAVERUNE, extra["id"])) == extra
    for insee, extra_id in [(MONTAUD, extra["id"]), (LAVERUNE, str(uuid.uuid4())),
                            (LAVERUNE, "nonsense"), (LAVERUNE, None)]:
        with pytest.raises(NotFound, match="No such extra work for this commune"):
            billing_rpc.get_extra(insee, extra_id)
    with pytest.raises(NotFound, match="No such member commune"):
        billing_rpc.get_extra("34999", extra["id"])


def test_health_answers_with_the_database(billing_rpc):
    assert billing_rpc.health() == {"service": "billing", "status": "ok", "database": "ok"}


