"""The 31 member communes of Montpellier Méditerranée Métropole (public reference data).

Populations and conventions belong to the subscriptions service; this module only says who
the members are, so that every service can reject an unknown INSEE code the same way."""

import csv
from dataclasses import dataclass
from importlib import resources

INSEE_CODE_PATTERN = r"^(?:\d{5}|2[AB]\d{3})$"


@dataclass(frozen=True)
class Commune:
    insee_code: str
    name: str
    siren: str


def _load_members():
    with resources.files("contracts").joinpath("data/communes.csv").open(encoding="utf-8") as f:
        return {
            row["insee_code"]: Commune(row["insee_code"], row["name"], row["siren"])
            for row in csv.DictReader(f)
        }


MEMBER_COMMUNES = _load_members()


def is_member(insee_code):
    return insee_code in MEMBER_COMMUNES
