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


# -- the partners of the platform (Art. 2): each commune, its CCAS and the Metropole

METROPOLE = "metropole"
METROPOLE_NAME = "Montpellier Méditerranée Métropole"
METROPOLE_SIREN = "243400017"


def _of(name):
    """French "de" before a commune's name: "de Lavérune", "du Crès", "d'Assas"."""
    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    if name[0] in "AEIOUYÂÉÈÊÎÔH":
        return "d'" + name
    return "de " + name


def partner_ids(insee):
    """A commune's two partners of the platform: itself and its CCAS."""
    return {"commune": f"commune-{insee}", "ccas": f"ccas-{insee}"}


def partners():
    """Every partner of the shared platform: each member commune and its CCAS, and the
    Metropole — the partners the open data and procurement portals give a page each (Art. 2)."""
    yield {"id": METROPOLE, "kind": METROPOLE, "insee": None, "name": METROPOLE_NAME,
           "siren": METROPOLE_SIREN}
    for commune in MEMBER_COMMUNES.values():
        ids = partner_ids(commune.insee_code)
        yield {"id": ids["commune"], "kind": "commune", "insee": commune.insee_code,
               "name": commune.name, "siren": commune.siren}
        yield {"id": ids["ccas"], "kind": "ccas", "insee": commune.insee_code,
               "name": f"CCAS {_of(commune.name)}", "siren": None}
