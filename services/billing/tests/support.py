"""The reference data of the 2022–2024 convention (copied from ../shared/data), as billing's
rules see it: vintage-2023 populations of the 31 communes and the annual costs."""

import csv
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from servicekit import tables
from services.billing import ledger, rules

DATA = Path(__file__).parent / "data"
LAVERUNE, MONTPELLIER, MONTAUD = "34134", "34172", "34164"
CONVENTION_ID = uuid.UUID("8a4e4d2c-5d51-4e7b-9a8e-3c2f7c1b2a10")
REGISTERED_AT = datetime(2021, 12, 14, 10, 0, tzinfo=UTC)


def communes():
    with (DATA / "communes-3m.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def populations():
    return {row["insee_code"]: int(row["population"]) for row in communes()}


def convention_document():
    return json.loads((DATA / "convention-2022-2024.json").read_text(encoding="utf-8"))


def costs():
    return {
        a["code"]: None if a["annual_cost"] is None else Decimal(a["annual_cost"])
        for a in convention_document()["applications"]
    }


def convention(**changes):
    terms = {
        "id": CONVENTION_ID,
        "period_start": date(2022, 1, 1),
        "period_end": date(2024, 12, 31),
        "population_vintage": 2023,
        "members": frozenset(populations()),
        "costs": costs(),
    }
    return rules.Convention(**{**terms, **changes})


def convention_registered(without=()):
    """What ``convention.registered`` carries for the 2022–2024 convention; ``without`` leaves
    applications out, to be added later by an amendment."""
    document = convention_document()
    return {
        "convention_id": CONVENTION_ID,
        "title": document["title"],
        "period_start": date(2022, 1, 1),
        "period_end": date(2024, 12, 31),
        "population_vintage": 2023,
        "members": sorted(populations()),
        "applications": [
            {"application": code, "annual_cost": cost}
            for code, cost in costs().items() if code not in without
        ],
    }


# -- facts as billing's event handlers record them, fed straight to the ledger


def events(session, name=None):
    rows = session.execute(select(tables.outbox.c.envelope).order_by(tables.outbox.c.created_at))
    return [e for (e,) in rows if name is None or e["type"] == name]


def fact(kind, data, occurred_at=REGISTERED_AT):
    return (kind, data, occurred_at, uuid.uuid4())


def population_facts(vintage=2023, occurred_at=REGISTERED_AT):
    return [fact("population", {"commune": insee, "vintage": vintage, "population": population},
                 occurred_at)
            for insee, population in populations().items()]


def convention_fact(without=()):
    return fact("convention", convention_registered(without))


def change_fact(insee, application, change, effective_from, occurred_at=REGISTERED_AT):
    return fact("change", {
        "commune": insee, "application": application, "change": change,
        "effective_from": effective_from, "convention_id": CONVENTION_ID, "request_id": None,
    }, occurred_at)


def termination_fact(insee, effective_on):
    return fact("termination", {"commune": insee, "convention_id": CONVENTION_ID,
                                "effective_on": effective_on, "termination_id": uuid.uuid4()})


def amendment_fact(application, cost, signed_on):
    return fact("amendment", {"convention_id": CONVENTION_ID, "amendment_id": uuid.uuid4(),
                              "application": application, "annual_cost": cost,
                              "signed_on": signed_on})


def agreement_facts(without=()):
    """What subscriptions announces when the 2022–2024 convention is registered."""
    return [
        *population_facts(),
        convention_fact(without),
        *[change_fact(LAVERUNE, application, "added", date(2022, 1, 1))
          for application in ("eadmin", "eservices", "procurement", "opendata")],
    ]


def feed(session, facts):
    for kind, data, occurred_at, event_id in facts:
        if kind == "population":
            ledger.record_population(session, data, occurred_at)
        elif kind == "convention":
            ledger.record_convention(session, data)
        elif kind == "amendment":
            ledger.record_amendment(session, data)
        elif kind == "change":
            ledger.record_subscription_change(session, event_id, data, occurred_at)
        else:
            ledger.record_termination(session, data)
        session.flush()
