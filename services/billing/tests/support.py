"""The reference data of the 2022–2024 convention (copied from ../shared/data), as billing's
rules see it: vintage-2023 populations of the 31 communes and the annual costs."""

import csv
import json
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

from services.billing import rules

DATA = Path(__file__).parent / "data"
LAVERUNE, MONTPELLIER, MONTAUD = "34134", "34172", "34164"
CONVENTION_ID = uuid.UUID("8a4e4d2c-5d51-4e7b-9a8e-3c2f7c1b2a10")


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
