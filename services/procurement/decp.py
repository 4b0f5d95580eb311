"""An award as the contract's essential data (DECP, arrêtés du 22 décembre 2022; schema
139bercy/format-commande-publique 2.0): the data of the ``contract.awarded`` event, which open
data publishes."""

from services.procurement.rules import decp_contract_id

# The consultation's procedure as the DECP 2.0 schema spells it (its "procedure" enum). The
# DECP 1.x label of a negotiated procedure, "Procédure négociée avec mise en concurrence
# préalable", is no longer one of the schema's values since 2.0.
PROCEDURE_LABELS = {
    "adapted": "Procédure adaptée",
    "open": "Appel d'offres ouvert",
    "restricted": "Appel d'offres restreint",
    "negotiated": "Procédure avec négociation",
    "competitive_dialogue": "Dialogue compétitif",
}
MAX_OBJECT_LENGTH = 1000


def award_event(consultation, lot, award, buyer, published_on):
    """The ``contract.awarded`` data of ``lot`` of ``consultation``, awarded as ``award``
    says by ``buyer``; ``published_on`` is the day the essential data are published."""
    return {
        "contract_id": decp_contract_id(consultation["reference"], lot,
                                        award["notified_on"].year),
        "commune": buyer["insee"],
        "buyer_kind": buyer["kind"],
        "buyer_siret": buyer["siret"],
        "buyer_name": buyer["name"],
        "nature": award["nature"],
        "object": _contract_object(consultation, lot),
        "cpv": consultation["cpv_codes"][0],
        "procedure": PROCEDURE_LABELS[consultation["procedure"]],
        "place_code": award["place_code"],
        "place_type": award["place_type"],
        "duration_months": award["duration_months"],
        "notified_on": award["notified_on"],
        "published_on": published_on,
        "amount": award["amount"],
        "price_form": award["price_form"],
        "holders": [{"id": award["holder_siret"], "id_type": "SIRET"}],
    }


def _contract_object(consultation, lot):
    """The consultation's object, followed by the lot's number and title when the
    consultation has several lots (each lot is a contract of its own). The DECP keeps 1,000
    characters: a long object is shortened, never the lot that tells the contracts apart."""
    titles = {each["number"]: each["title"] for each in consultation["lots"]}
    if len(titles) == 1:
        return consultation["object"]
    suffix = f" — lot {lot}: {titles[lot]}"
    room = MAX_OBJECT_LENGTH - len(suffix)
    consultation_object = consultation["object"]
    if len(consultation_object) > room:
        consultation_object = consultation_object[:room - 1] + "…"
    return consultation_object + suffix
