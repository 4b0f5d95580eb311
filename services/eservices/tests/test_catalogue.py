"""The catalogue of the agreement's ten tele-services (Art. 2), as the contract reads it."""

import pytest

from contracts.eservices import RELATIONSHIPS, FormDefinitionSchema
from services.eservices.catalogue import CATALOGUE, STANDARD_TRANSITIONS, definition

SLUGS = {
    "acte-de-naissance", "acte-de-mariage", "acte-de-deces", "livret-de-famille",
    "demande-intervention", "inscription-centre-vacances", "stationnement-demenagement",
    "declaration-ouverture-chantier", "rendez-vous", "contact",
}


def test_the_agreement_lists_ten_tele_services():
    assert len(CATALOGUE) == 10
    assert {form["slug"] for form in CATALOGUE} == SLUGS


@pytest.mark.parametrize("form", CATALOGUE, ids=lambda form: form["slug"])
def test_every_definition_loads_with_the_contract(form):
    loaded = FormDefinitionSchema().load(form)
    assert loaded["version"] == 1
    assert loaded["commune"] is None


@pytest.mark.parametrize("form", CATALOGUE, ids=lambda form: form["slug"])
def test_every_form_follows_the_standard_workflow(form):
    assert form["transitions"] == list(STANDARD_TRANSITIONS)


def test_the_standard_workflow_closes_from_every_open_status():
    moves = {(t["from"], t["to"]) for t in STANDARD_TRANSITIONS}
    assert len(moves) == 10
    assert ("new", "done") not in moves  # an agent takes a request before closing it
    assert {source for source, target in moves if target == "cancelled"} == {
        "new", "in_progress", "waiting_for_citizen"}


@pytest.mark.parametrize("slug, kind, required, personal", [
    ("acte-de-naissance", "civil_status_copy",
     {"copy_type", "relationship", "family_name", "given_names", "act_date", "delivery"},
     {"family_name", "given_names", "postal_address"}),
    ("acte-de-mariage", "civil_status_copy",
     {"copy_type", "relationship", "family_name", "given_names", "act_date", "delivery"},
     {"family_name", "given_names", "postal_address", "spouse_family_name"}),
    ("livret-de-famille", "civil_status_copy",
     {"relationship", "family_name", "given_names", "reason", "postal_address"},
     {"family_name", "given_names", "postal_address"}),
    ("demande-intervention", "intervention", {"category", "description"}, set()),
    ("inscription-centre-vacances", "holiday_camp",
     {"camp_id", "child_family_name", "child_given_names", "child_birth_date",
      "guardian_phone"},
     {"child_family_name", "child_given_names", "child_birth_date", "guardian_phone"}),
    ("stationnement-demenagement", "move_parking",
     {"address", "starts_on", "ends_on", "length_m"}, {"vehicle_registration"}),
    ("declaration-ouverture-chantier", "building_site",
     {"permit_number", "opening_date", "address", "applicant_name"}, {"applicant_name"}),
    ("rendez-vous", "appointment", {"slot_id", "subject"}, {"phone"}),
    ("contact", "contact", {"subject", "message"}, set()),
])
def test_the_fields_each_form_needs(slug, kind, required, personal):
    form = definition(slug)
    assert form["kind"] == kind
    assert {f["name"] for f in form["fields"] if f["required"]} == required
    assert {f["name"] for f in form["fields"] if f["personal"]} == personal


def test_a_copy_of_an_act_asks_who_the_citizen_is_to_the_person():
    fields = {f["name"]: f for f in definition("acte-de-deces")["fields"]}
    assert fields["relationship"]["choices"] == list(RELATIONSHIPS)
    assert fields["delivery"]["choices"] == ["email", "post"]
    assert definition("acte-de-deces")["retention_days"] == 365


@pytest.mark.parametrize("slug, slot, required, content_types", [
    ("acte-de-naissance", "proof_of_link", False,
     ["application/pdf", "image/jpeg", "image/png"]),
    ("livret-de-famille", "identity_document", True,
     ["application/pdf", "image/jpeg", "image/png"]),
    ("demande-intervention", "photo", False, ["image/jpeg", "image/png"]),
    ("inscription-centre-vacances", "vaccination_record", True,
     ["application/pdf", "image/jpeg", "image/png"]),
    ("declaration-ouverture-chantier", "cerfa_13407", True, ["application/pdf"]),
])
def test_the_attachments_each_form_takes(slug, slot, required, content_types):
    (attachment,) = definition(slug)["attachments"]
    assert (attachment["name"], attachment["required"], attachment["content_types"]) == (
        slot, required, content_types)


def test_a_definition_is_a_copy_of_the_catalogue():
    form = definition("contact")
    form["fields"].clear()
    assert definition("contact")["fields"]


def test_a_form_outside_the_catalogue_is_not_found():
    with pytest.raises(KeyError):
        definition("permis-de-chasse")
