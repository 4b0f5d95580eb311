"""A submission checked against its form definition: types, the rules of each kind of form,
and attachments judged by their bytes."""

from datetime import date

import pytest

from contracts.errors import Invalid
from services.eservices.catalogue import definition
from services.eservices.forms import CheckedAttachment, check_submission, content_type_of

TODAY = date(2026, 5, 12)
PDF = b"%PDF-1.7\n" + b"0" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"0" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64

BIRTH_COPY = {"copy_type": "full_copy", "relationship": "self", "family_name": "Martin",
              "given_names": "Jeanne", "act_date": "1990-04-02", "delivery": "email"}
MOVE = {"address": "12 rue de la Mairie, Lavérune", "starts_on": "2026-05-20",
        "ends_on": "2026-05-21", "length_m": "10"}
SITE = {"permit_number": "PC 034 134 24 M0012", "opening_date": "2026-05-01",
        "address": "3 chemin des Vignes, Lavérune", "applicant_name": "SCI Les Vignes"}


def _file(name, content, file_name="piece.pdf"):
    return {"name": name, "file_name": file_name, "content": content}


def _errors(form, data, attachments=(), today=TODAY):
    with pytest.raises(Invalid) as refusal:
        check_submission(form, data, list(attachments), today)
    return refusal.value.errors


def _custom(field_type, **options):
    """A commune's form of one optional field ``answer`` of ``field_type``."""
    field = {"name": "answer", "label": "Réponse", "type": field_type, "required": False,
             "choices": None, "max_length": None, "minimum": None, "maximum": None,
             "personal": False, **options}
    return {"slug": "questionnaire", "kind": "custom", "fields": [field], "attachments": []}


# -- the catalogue's forms, filled in right


@pytest.mark.parametrize("slug, data, attachments, clean", [
    ("acte-de-naissance", BIRTH_COPY, [], BIRTH_COPY),
    ("acte-de-mariage",
     {**BIRTH_COPY, "delivery": "post", "postal_address": " 12 rue de la Mairie ",
      "spouse_family_name": "Durand"},
     [_file("proof_of_link", PDF)],
     {**BIRTH_COPY, "delivery": "post", "postal_address": "12 rue de la Mairie",
      "spouse_family_name": "Durand"}),
    ("livret-de-famille",
     {"relationship": "spouse", "family_name": "Martin", "given_names": "Jeanne",
      "reason": "loss", "postal_address": "12 rue de la Mairie"},
     [_file("identity_document", JPEG, "cni.jpg")],
     {"relationship": "spouse", "family_name": "Martin", "given_names": "Jeanne",
      "reason": "loss", "postal_address": "12 rue de la Mairie"}),
    ("demande-intervention",
     {"category": "eclairage", "description": "Lampadaire éteint", "location":
      {"lat": 43.59, "lon": 3.8}},
     [_file("photo", PNG, "photo.png")],
     {"category": "eclairage", "description": "Lampadaire éteint",
      "location": {"lat": 43.59, "lon": 3.8}}),
    ("inscription-centre-vacances",
     {"camp_id": "c0ffee", "child_family_name": "Martin", "child_given_names": "Léo",
      "child_birth_date": "2016-07-01", "guardian_phone": "06 12 34 56 78"},
     [_file("vaccination_record", PDF)],
     {"camp_id": "c0ffee", "child_family_name": "Martin", "child_given_names": "Léo",
      "child_birth_date": "2016-07-01", "guardian_phone": "0612345678"}),
    ("stationnement-demenagement", {**MOVE, "length_m": 12.5, "vehicle_registration": ""},
     [], {**MOVE, "length_m": "12.5"}),
    ("declaration-ouverture-chantier", SITE, [_file("cerfa_13407", PDF)], SITE),
    ("rendez-vous", {"slot_id": "42", "subject": "Permis de construire"}, [],
     {"slot_id": "42", "subject": "Permis de construire"}),
    ("contact", {"subject": "Bruit", "message": "Travaux la nuit."}, [],
     {"subject": "Bruit", "message": "Travaux la nuit."}),
])
def test_a_right_submission_comes_back_clean(slug, data, attachments, clean):
    clean_data, files = check_submission(definition(slug), data, attachments, TODAY)
    assert clean_data == clean
    assert [(f.name, f.content) for f in files] == [
        (a["name"], a["content"]) for a in attachments]


def test_a_checked_attachment_has_the_type_of_its_bytes():
    _, files = check_submission(definition("inscription-centre-vacances"), {
        "camp_id": "c0ffee", "child_family_name": "Martin", "child_given_names": "Léo",
        "child_birth_date": "2016-07-01", "guardian_phone": "+33 6 12 34 56 78",
    }, [_file("vaccination_record", PNG, "carnet.pdf")], TODAY)
    assert files == [CheckedAttachment("vaccination_record", "carnet.pdf", "image/png", PNG)]


# -- fields


def test_unknown_and_missing_fields():
    errors = _errors(definition("contact"), {"subject": "  ", "colour": "blue"})
    assert errors == {"data.colour": ["Unknown field."],
                      "data.subject": ["Missing data for required field."],
                      "data.message": ["Missing data for required field."]}


def test_an_optional_field_left_empty_is_left_out():
    form = _custom("text")
    assert check_submission(form, {"answer": ""}, [], TODAY) == ({}, [])
    assert check_submission(form, {"answer": None}, [], TODAY) == ({}, [])


@pytest.mark.parametrize("field_type, options, value, clean", [
    ("text", {}, " Bonjour ", "Bonjour"),
    ("text", {"max_length": 5}, "abcde", "abcde"),
    ("textarea", {"max_length": 11}, "deux\nlignes", "deux\nlignes"),
    ("text", {"max_length": 5}, "abcdef", None),
    ("text", {}, 12, None),
    ("text", {}, "x" * 10000, "x" * 10000),
    ("text", {}, "x" * 10001, None),
    ("email", {}, "jeanne.martin@example.fr", "jeanne.martin@example.fr"),
    ("email", {}, "jeanne.martin@", None),
    ("phone", {}, "04 67 00 00 00", "0467000000"),
    ("phone", {}, "04.67.00.00.00", "0467000000"),
    ("phone", {}, "+33 4 67 00 00 00", "+33467000000"),
    ("phone", {}, "+44 20 7946 0000", "+442079460000"),
    ("phone", {}, "04 67 00 00 0", None),          # nine digits
    ("phone", {}, "4 67 00 00 00 0", None),        # no leading 0
    ("phone", {}, "+33 (0)4 67 00 00 00", None),
    ("phone", {}, "+1234567890123456", None),      # longer than E.164
    ("phone", {}, "04-67-00-00-00", None),
    ("date", {}, "2026-02-28", "2026-02-28"),
    ("date", {}, "2026-02-29", None),
    ("date", {}, "20260228", None),
    ("date", {}, "2026-W09-6", None),
    ("date", {}, "28/02/2026", None),
    ("integer", {"minimum": "1", "maximum": "3"}, 3, 3),
    ("integer", {"minimum": "1", "maximum": "3"}, "2", 2),
    ("integer", {"minimum": "1", "maximum": "3"}, 4, None),
    ("integer", {"minimum": "1"}, 0, None),
    ("integer", {}, 2.5, None),
    ("integer", {}, True, None),
    ("decimal", {"minimum": "5", "maximum": "40"}, "5", "5"),
    ("decimal", {"minimum": "5", "maximum": "40"}, 40, "40"),
    ("decimal", {"minimum": "5", "maximum": "40"}, "12,50", "12.50"),
    ("decimal", {"minimum": "5", "maximum": "40"}, 12.5, "12.5"),
    ("decimal", {"minimum": "5", "maximum": "40"}, "4.99", None),
    ("decimal", {"minimum": "5", "maximum": "40"}, "40.01", None),
    ("decimal", {}, "douze", None),
    ("decimal", {}, "NaN", None),
    ("decimal", {}, float("inf"), None),
    ("decimal", {}, False, None),
    ("choice", {"choices": ["oui", "non"]}, "non", "non"),
    ("choice", {"choices": ["oui", "non"]}, "Non", None),
    ("boolean", {}, False, False),
    ("boolean", {}, "true", None),
    ("address", {}, "1 rue", "1 rue"),
    ("address", {}, "rue", None),
    ("address", {}, "x" * 301, None),
    ("geolocation", {}, {"lat": 90, "lon": -180}, {"lat": 90.0, "lon": -180.0}),
    ("geolocation", {}, {"lat": 90.1, "lon": 3}, None),
    ("geolocation", {}, {"lat": 43, "lon": 180.5}, None),
    ("geolocation", {}, {"lat": "43", "lon": 3}, None),
    ("geolocation", {}, {"lat": 43, "lon": 3, "alt": 0}, None),
    ("geolocation", {}, [43, 3], None),
    ("reference", {}, "x" * 100, "x" * 100),
    ("reference", {}, "x" * 101, None),
])
def test_a_field_is_checked_by_its_type(field_type, options, value, clean):
    form = _custom(field_type, **options)
    if clean is None:
        assert list(_errors(form, {"answer": value})) == ["data.answer"]
    else:
        assert check_submission(form, {"answer": value}, [], TODAY)[0] == {"answer": clean}


# -- rules of each kind of form


@pytest.mark.parametrize("slug, data, errors", [
    ("acte-de-naissance", {**BIRTH_COPY, "delivery": "post"},
     {"data.postal_address": ["A delivery by post needs a postal address."]}),
    ("acte-de-naissance", {**BIRTH_COPY, "delivery": "post", "postal_address": "rue"},
     {"data.postal_address": ["An address is 5 to 300 characters long."]}),
    ("demande-intervention", {"category": "voirie", "description": "Nid de poule"},
     {"data.location": ["Show the place on the map or give its address."]}),
    ("demande-intervention", {"category": "voirie", "description": "Nid de poule",
                              "address": "rue"},
     {"data.address": ["An address is 5 to 300 characters long."]}),
    ("stationnement-demenagement", {**MOVE, "starts_on": "2026-05-22"},
     {"data.ends_on": ["The last day comes on or after the first."]}),
    ("stationnement-demenagement", {**MOVE, "ends_on": "2026-05-27"},
     {"data.ends_on": ["A parking for a move lasts 7 days at most."]}),
    ("stationnement-demenagement", {**MOVE, "starts_on": "2026-05-11", "ends_on": "2026-05-12"},
     {"data.starts_on": ["A parking cannot start in the past."]}),
    ("stationnement-demenagement", {**MOVE, "length_m": "41"},
     {"data.length_m": ["Must be at most 40."]}),
    ("declaration-ouverture-chantier", {**SITE, "opening_date": "2025-05-11"},
     {"data.opening_date": ["A site opened more than a year ago is not declared here."]}),
    ("declaration-ouverture-chantier", {**SITE, "permit_number": "PC-034-134"},
     {"data.permit_number": ["A permit number is 8 to 30 letters, digits and spaces, such "
                             "as PC 034 134 24 M0012."]}),
    ("declaration-ouverture-chantier", {**SITE, "permit_number": "PC 0341"},
     {"data.permit_number": ["A permit number is 8 to 30 letters, digits and spaces, such "
                             "as PC 034 134 24 M0012."]}),
])
def test_the_rules_of_a_kind_of_form(slug, data, errors):
    form = definition(slug)
    attachments = [_file(slot["name"], PDF) for slot in form["attachments"]
                   if slot["required"]]
    assert _errors(form, data, attachments) == errors


@pytest.mark.parametrize("slug, data", [
    ("demande-intervention", {"category": "voirie", "description": "Nid de poule",
                              "address": "12 rue de la Mairie"}),
    ("stationnement-demenagement", {**MOVE, "starts_on": "2026-05-12",      # today
                                    "ends_on": "2026-05-13"}),
    ("stationnement-demenagement", {**MOVE, "ends_on": "2026-05-20"}),      # one day
    ("stationnement-demenagement", {**MOVE, "ends_on": "2026-05-26"}),      # seven days
    ("declaration-ouverture-chantier", {**SITE, "opening_date": "2025-05-12"}),  # a year ago
    ("declaration-ouverture-chantier", {**SITE, "opening_date": "2026-09-01"}),
    ("declaration-ouverture-chantier", {**SITE, "permit_number": "PA03413424"}),
])
def test_the_edges_a_kind_of_form_accepts(slug, data):
    form = definition(slug)
    attachments = [_file(slot["name"], PDF) for slot in form["attachments"]
                   if slot["required"]]
    assert check_submission(form, data, attachments, TODAY)[0]


# -- attachments


@pytest.mark.parametrize("magic, content_type", [
    (PDF, "application/pdf"),
    (JPEG, "image/jpeg"),
    (PNG, "image/png"),
    (b"GIF89a", None),
    (b"", None),
    (b"  %PDF-1.7", None),
])
def test_content_type_of(magic, content_type):
    assert content_type_of(magic) == content_type


@pytest.mark.parametrize("attachments, errors", [
    ([], {"attachments.cerfa_13407": ["Missing file for required attachment."]}),
    ([_file("cerfa_13407", JPEG, "cerfa.pdf")],
     {"attachments.cerfa_13407": ["The file's content is not one of: application/pdf."]}),
    ([_file("cerfa_13407", b"MZ\x90\x00", "cerfa.pdf")],
     {"attachments.cerfa_13407": ["The file's content is not one of: application/pdf."]}),
    ([_file("cerfa_13407", PDF), _file("plan", PDF)],
     {"attachments": ["'plan' is not an attachment of this form."]}),
    ([_file("cerfa_13407", PDF), _file("cerfa_13407", PDF)],
     {"attachments": ["More than one file for 'cerfa_13407'."]}),
])
def test_attachments(attachments, errors):
    assert _errors(definition("declaration-ouverture-chantier"), SITE, attachments) == errors


def test_a_file_over_its_slot_s_size_is_refused():
    form = definition("demande-intervention")
    form["attachments"][0]["max_bytes"] = len(PNG)
    data = {"category": "voirie", "description": "Nid de poule",
            "address": "12 rue de la Mairie"}
    assert check_submission(form, data, [_file("photo", PNG)], TODAY)[1]
    assert _errors(form, data, [_file("photo", PNG + b"0")]) == {
        "attachments.photo": [f"Larger than {len(PNG)} bytes."]}


def test_every_error_of_a_submission_comes_at_once():
    errors = _errors(definition("stationnement-demenagement"),
                     {**MOVE, "starts_on": "2026-05-01", "ends_on": "2026-05-10",
                      "length_m": "2", "vehicle_registration": 7, "colour": "red"},
                     [_file("photo", PNG)])
    assert errors == {
        "data.colour": ["Unknown field."],
        "data.length_m": ["Must be at least 5."],
        "data.vehicle_registration": ["Not a valid string."],
        "data.ends_on": ["A parking for a move lasts 7 days at most."],
        "data.starts_on": ["A parking cannot start in the past."],
        "attachments": ["'photo' is not an attachment of this form."],
    }
