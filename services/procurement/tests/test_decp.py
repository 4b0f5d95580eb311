"""An award as the contract's essential data (DECP 2.0): the ``contract.awarded`` event's data,
which its own schema loads."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from contracts.events import CONTRACT_AWARDED, ContractAwardedSchema
from contracts.procurement import PROCEDURES
from servicekit.outbox import make_envelope
from services.procurement.decp import PROCEDURE_LABELS, award_event

LAVERUNE = {"kind": "commune", "insee": "34134", "siret": "21340134200018",
            "name": "Commune de Lavérune"}
METROPOLE = {"kind": "metropole", "insee": None, "siret": "24340001700006",
             "name": "Montpellier Méditerranée Métropole"}
AWARD = {
    "holder_siret": "44306184100047",
    "amount": Decimal("48250.00"),
    "nature": "Marché",
    "price_form": "Révisable",
    "duration_months": 24,
    "notified_on": date(2026, 9, 14),
    "place_code": "34134",
    "place_type": "Code commune",
}
PUBLISHED_ON = date(2026, 9, 21)


def _consultation(lots=({"number": 1, "title": "Lot unique"},), procedure="adapted",
                  object_="Réfection de la toiture de l'école Jules-Ferry"):
    return {"reference": "2026-MAPA-014", "object": object_, "procedure": procedure,
            "cpv_codes": ["45261210-9", "45261410-1"], "lots": list(lots)}


SEVERAL_LOTS = ({"number": 1, "title": "Couverture"}, {"number": 2, "title": "Zinguerie"},
                {"number": 3, "title": "Désamiantage"})


def test_a_single_lot_award():
    data = award_event(_consultation(), 1, AWARD, LAVERUNE, PUBLISHED_ON)
    assert ContractAwardedSchema().load(data) == data
    assert data == {
        "contract_id": "20262026MAPA0141",
        "commune": "34134",
        "buyer_kind": "commune",
        "buyer_siret": "21340134200018",
        "buyer_name": "Commune de Lavérune",
        "nature": "Marché",
        "object": "Réfection de la toiture de l'école Jules-Ferry",
        "cpv": "45261210-9",
        "procedure": "Procédure adaptée",
        "place_code": "34134",
        "place_type": "Code commune",
        "duration_months": 24,
        "notified_on": date(2026, 9, 14),
        "published_on": date(2026, 9, 21),
        "amount": Decimal("48250.00"),
        "price_form": "Révisable",
        "holders": [{"id": "44306184100047", "id_type": "SIRET"}],
    }


@pytest.mark.parametrize("lot, title", [(1, "Couverture"), (2, "Zinguerie"),
                                        (3, "Désamiantage")])
def test_each_lot_of_several_is_a_contract_of_its_own(lot, title):
    data = award_event(_consultation(SEVERAL_LOTS), lot, AWARD, LAVERUNE, PUBLISHED_ON)
    ContractAwardedSchema().load(data)
    assert data["object"] == f"Réfection de la toiture de l'école Jules-Ferry — lot {lot}: {title}"
    assert data["contract_id"] == f"20262026MAPA014{lot}"


def test_the_lots_of_one_consultation_have_distinct_numbers():
    ids = {award_event(_consultation(SEVERAL_LOTS), lot["number"], AWARD, LAVERUNE,
                       PUBLISHED_ON)["contract_id"] for lot in SEVERAL_LOTS}
    assert len(ids) == len(SEVERAL_LOTS)


def test_a_long_object_is_shortened_but_keeps_its_lot():
    consultation = _consultation(SEVERAL_LOTS, object_="Travaux " * 125)   # 1,000 characters
    data = award_event(consultation, 3, AWARD, LAVERUNE, PUBLISHED_ON)
    ContractAwardedSchema().load(data)
    assert len(data["object"]) == 1000
    assert data["object"].endswith("… — lot 3: Désamiantage")


def test_an_object_that_fits_with_its_lot_is_whole():
    suffix = " — lot 2: Zinguerie"
    consultation = _consultation(SEVERAL_LOTS, object_="x" * (1000 - len(suffix)))
    data = award_event(consultation, 2, AWARD, LAVERUNE, PUBLISHED_ON)
    assert data["object"] == "x" * (1000 - len(suffix)) + suffix


@pytest.mark.parametrize("procedure, label", [
    ("adapted", "Procédure adaptée"),
    ("open", "Appel d'offres ouvert"),
    ("restricted", "Appel d'offres restreint"),
    ("negotiated", "Procédure avec négociation"),
    ("competitive_dialogue", "Dialogue compétitif"),
])
def test_each_procedure_has_its_decp_label(procedure, label):
    data = award_event(_consultation(procedure=procedure), 1, AWARD, LAVERUNE, PUBLISHED_ON)
    ContractAwardedSchema().load(data)
    assert data["procedure"] == label


def test_every_procedure_of_a_consultation_has_a_label():
    assert set(PROCEDURE_LABELS) == set(PROCEDURES)


@pytest.mark.parametrize("buyer, commune", [
    (LAVERUNE, "34134"),
    ({**LAVERUNE, "kind": "ccas", "name": "CCAS de Lavérune", "siret": "26340134100019"},
     "34134"),
    (METROPOLE, None),
])
def test_the_buyer(buyer, commune):
    data = award_event(_consultation(), 1, AWARD, buyer, PUBLISHED_ON)
    ContractAwardedSchema().load(data)
    assert (data["commune"], data["buyer_kind"], data["buyer_siret"], data["buyer_name"]) == (
        commune, buyer["kind"], buyer["siret"], buyer["name"])


def test_the_contract_is_numbered_in_its_notification_year():
    award = {**AWARD, "notified_on": date(2027, 1, 5)}
    data = award_event(_consultation(), 1, award, LAVERUNE, date(2027, 1, 8))
    assert data["contract_id"] == "20272026MAPA0141"


def test_the_outbox_takes_it_as_it_is():
    """What the service hands to ``outbox.add``: dates and the amount as Python values."""
    data = award_event(_consultation(SEVERAL_LOTS), 2, AWARD, METROPOLE, PUBLISHED_ON)
    envelope = make_envelope(CONTRACT_AWARDED, data,
                             occurred_at=datetime(2026, 9, 21, 8, 0, tzinfo=UTC))
    assert envelope["data"]["amount"] == "48250.00"
    assert envelope["data"]["notified_on"] == "2026-09-14"
