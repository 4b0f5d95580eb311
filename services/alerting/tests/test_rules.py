"""TéléAlerte's rules: 15 alert accounts per commune (Art. 2), E.164 phones, SMS encodings and
segments, templates, voluntary registration (R8.2), one message per recipient and channel,
the CSV import of recipients and a campaign's cost."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.alerting.rules import (
    MAX_ALERT_ACCOUNTS,
    ImportPlan,
    account_refusal,
    channels_for,
    communication_cost,
    e164,
    may_alert,
    missing_variables,
    personalised,
    placeholders,
    plan_import,
    receipt_applies,
    render,
    retries_after,
    sms_encoding,
    sms_length,
    sms_preview,
    sms_segments,
    voice_minutes,
)


@pytest.mark.parametrize("existing, refused", [
    (0, False), (1, False), (14, False), (15, True), (16, True),
])
def test_at_most_15_alert_accounts(existing, refused):
    assert MAX_ALERT_ACCOUNTS == 15
    refusal = account_refusal(existing)
    assert (refusal is not None) is refused
    assert refusal is None or "at most 15 alert accounts (Art. 2)" in refusal


def test_a_negative_account_count_is_a_bug():
    with pytest.raises(ValueError):
        account_refusal(-1)


# -- phones -------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    ("06 12 34 56 78", "+33612345678"),
    ("0612345678", "+33612345678"),
    ("06.12.34.56.78", "+33612345678"),
    ("+33 6 12 34 56 78", "+33612345678"),
    ("+33612345678", "+33612345678"),
    ("0033 6 12 34 56 78", "+33612345678"),
    (" 04 67 34 70 00 ", "+33467347000"),
    ("+262 262 12 34 56", "+262262123456"),  # La Réunion, written internationally
    ("+1 202 555 0123", "+12025550123"),
])
def test_phones_are_stored_as_e164(raw, expected):
    assert e164(raw) == expected


@pytest.mark.parametrize("raw, reason", [
    ("", "is not a phone number"),
    (None, "is not a phone number"),
    ("mairie", "is not a phone number"),
    ("06 12", "not a possible phone number"),
    ("06 12 34 56 78 90", "not a possible phone number"),
    ("+33 0 12 34 56 78", "not a valid phone number"),
    ("+44 7700 900123", "not a valid phone number"),
])
def test_phones_refused_with_their_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        e164(raw)


def test_a_national_number_of_another_region():
    assert e164("020 7946 0958", region="GB") == "+442079460958"


# -- SMS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, encoding, length", [
    ("", "GSM-7", 0),
    ("Alerte crue", "GSM-7", 11),
    ("Évacuez: é è à ù Ç", "GSM-7", 18),
    ("Coût 10€", "UCS-2", 8),  # û is not GSM-7
    ("Cout 10€", "GSM-7", 9),  # € is an extension character: 2 septets
    ("{[~]}|^\\", "GSM-7", 16),
    ("fenêtre", "UCS-2", 7),
    ("garçon", "UCS-2", 6),  # lowercase ç is not in the GSM alphabet...
    ("GARÇON", "GSM-7", 6),  # ... capital Ç is
    ("île", "UCS-2", 3),
    ("tôt", "UCS-2", 3),
    ("pâte", "UCS-2", 4),
    ("Crue 🌊", "UCS-2", 7),  # an emoji is two UTF-16 code units
    ("a\nb", "GSM-7", 3),
])
def test_encoding_and_length(text, encoding, length):
    assert sms_encoding(text) == encoding
    assert sms_length(text) == length


@pytest.mark.parametrize("text, segments", [
    ("", 0),
    ("a", 1),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("€" * 80, 1),  # 160 septets
    ("€" * 81, 2),  # 162 septets
    ("a" * 159 + "€", 2),  # 161 septets
    # 152 septets then an escape pair: the pair goes whole to the second part
    ("a" * 152 + "€" + "a" * 152, 3),
    ("a" * 151 + "€" + "a" * 151, 2),  # 306 septets, the pair ends the first part
    ("ê" * 70, 1),
    ("ê" * 71, 2),
    ("ê" * 134, 2),
    ("ê" * 135, 3),
    ("🌊" * 35, 1),  # 70 code units
    ("🌊" * 36, 2),
    ("ê" + "🌊" * 34, 1),  # 69 code units
    ("ê" + "🌊" * 35, 2),  # 71
    # 134 code units (ceil(134/67) = 2), but the surrogate pair cannot be split
    ("ê" * 66 + "🌊" + "ê" * 66, 3),
])
def test_segments(text, segments):
    assert sms_segments(text) == segments


def test_the_preview_shown_before_sending():
    assert sms_preview("Crue du Lez : évacuez les berges.") == {
        "encoding": "GSM-7", "length": 33, "segments": 1}
    assert sms_preview("Rejoignez l'étage supérieur, fenêtres fermées. " * 4) == {
        "encoding": "UCS-2", "length": 188, "segments": 3}


# -- templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("template, variables, expected", [
    ("Bonjour {{ prenom }}", {"prenom": "Anne"}, "Bonjour Anne"),
    ("{{prenom}} {{  nom  }}", {"prenom": "Anne", "nom": "Roux"}, "Anne Roux"),
    ("{{ a }}{{ a }}", {"a": "x"}, "xx"),
    ("Sans variable", {"inutile": 1}, "Sans variable"),
    ("Zone {{ zone }}", {"zone": 3}, "Zone 3"),
    ("Zone {{ zone }}", {"zone": None}, "Zone "),
    ("{ simple } et {{ x }}", {"x": "y"}, "{ simple } et y"),
    # a value is never expanded again
    ("{{ a }}", {"a": "{{ b }}", "b": "no"}, "{{ b }}"),
])
def test_render(template, variables, expected):
    assert render(template, variables) == expected


def test_unknown_placeholders_are_named():
    with pytest.raises(ValueError, match="unknown placeholders: commune, prenom"):
        render("{{ prenom }} à {{ commune }} ({{ nom }})", {"nom": "Roux"})


@pytest.mark.parametrize("template", [
    "{{ user.name }}", "{{ 1 }}", "{{ }}", "{{ a + b }}", "{{ __import__('os') }}",
])
def test_only_plain_names_are_placeholders(template):
    with pytest.raises(ValueError, match="plain name"):
        placeholders(template)
    with pytest.raises(ValueError, match="plain name"):
        render(template, {"user": "x", "a": 1, "b": 2})


def test_placeholders():
    assert placeholders("{{ a }} {{b}} {{ a }}") == {"a", "b"}
    assert placeholders("rien") == set()


# -- recipients ---------------------------------------------------------------------------------

WITHDRAWN = datetime(2026, 5, 1, tzinfo=UTC)


def contact(id, kind="resident", consent=True, method="formulaire en ligne", withdrawn=None,
            phone="+33612345678", email="x@example.fr"):
    return {"id": id, "kind": kind, "consent": consent, "consent_method": method,
            "consent_withdrawn_at": withdrawn, "phone": phone, "email": email}


@pytest.mark.parametrize("person, alerted", [
    (contact(1), True),
    (contact(1, consent=None), False),
    (contact(1, consent=False), False),
    (contact(1, method=None), False),  # a consent without how it was given is not recorded
    (contact(1, withdrawn=WITHDRAWN), False),  # unsubscribed
    (contact(1, kind="staff", consent=None), True),
    (contact(1, kind="service", consent=False), True),
    (contact(1, kind="staff", withdrawn=WITHDRAWN), True),
])
def test_who_may_be_alerted(person, alerted):
    assert may_alert(person) is alerted


@pytest.mark.parametrize("person, channels, expected", [
    (contact("anne"), ["sms", "email", "voice"], ["sms", "email", "voice"]),
    (contact("paul", email=None), ["sms", "email", "voice"], ["sms", "voice"]),
    (contact("ines", phone=None), ["sms", "email", "voice"], ["email"]),
    (contact("ines", phone=None), ["voice"], []),
    (contact("refus", consent=False), ["sms", "email"], []),
    (contact("agent", kind="staff", consent=None), ["email", "sms"], ["email", "sms"]),
    (contact("anne"), [], []),
])
def test_the_channels_a_recipient_gets(person, channels, expected):
    assert channels_for(person, channels) == expected


def test_an_unknown_channel_is_a_bug():
    with pytest.raises(ValueError, match="fax"):
        channels_for(contact("anne"), ["fax"])


@pytest.mark.parametrize("current, reported, applies", [
    ("queued", "sent", True),
    ("sent", "delivered", True),
    ("delivered", "sent", False),  # a "dispatched" report after the delivery
    ("delivered", "delivered", False),  # the same receipt twice
    ("delivered", "failed", False),
    ("failed", "delivered", True),  # back in reach after all
    ("sent", "failed", True),
    ("delivered", "acknowledged", True),
    ("sent", "acknowledged", True),
    ("acknowledged", "delivered", False),
])
def test_a_receipt_never_moves_a_delivery_back(current, reported, applies):
    assert receipt_applies(current, reported) is applies


@pytest.mark.parametrize("permanent, attempts, retried", [
    (False, 1, True), (False, 2, True), (False, 3, False), (True, 1, False),
])
def test_temporary_failures_are_tried_three_times(permanent, attempts, retried):
    assert retries_after(permanent, attempts) is retried


def test_a_campaign_personalises_each_message():
    assert personalised("{{ commune }} : {{ name }}, {{ lieu }}", "Lavérune", "Anne",
                        {"lieu": "Mosson", "commune": "ignored"}) == "Lavérune : Anne, Mosson"
    assert missing_variables(["{{ commune }} {{ lieu }}", None, "{{ name }} {{ heure }}"],
                             {"lieu": "x"}) == ["heure"]


# -- CSV import ---------------------------------------------------------------------------------

HEADER = ("external_id,name,phone,email,address,language,groups,consent,consent_method,kind,"
          "action\n")


def rows(text):
    return list(csv.DictReader(io.StringIO(HEADER + text)))


def test_an_import_inserts_updates_and_deletes_in_one_go():
    plan = plan_import(rows(
        "A1,Anne Roux,06 12 34 56 78,anne@example.fr,1 rue Haute,,quartier; ecoles,yes,"
        "formulaire papier,,\n"
        "A2,Paul Vidal,0033 4 67 34 70 00,,,en,,no,,resident,\n"
        "A3,,,,,,,,,,delete\n"
        "S1,Astreinte,+33 6 98 76 54 32,,,,cellule,,,staff,upsert\n"
    ), existing_external_ids={"A2", "A3", "OLD"})
    assert plan.rejected == []
    assert plan.inserts == [
        {"external_id": "A1", "name": "Anne Roux", "phone": "+33612345678",
         "email": "anne@example.fr", "address": "1 rue Haute", "language": "fr",
         "groups": ["quartier", "ecoles"], "consent": True, "consent_method": "formulaire papier",
         "kind": "resident"},
        {"external_id": "S1", "name": "Astreinte", "phone": "+33698765432", "email": None,
         "address": None, "language": "fr", "groups": ["cellule"], "consent": None,
         "consent_method": None, "kind": "staff"},
    ]
    assert plan.updates == [
        {"external_id": "A2", "name": "Paul Vidal", "phone": "+33467347000", "email": None,
         "address": None, "language": "en", "groups": [], "consent": False,
         "consent_method": None, "kind": "resident"},
    ]
    assert plan.deletes == ["A3"]  # OLD, absent from the file, is kept


@pytest.mark.parametrize("line, column, reason", [
    (",Anne,0612345678,,,,,,,,", "external_id", "external_id is missing"),
    ("A1,,0612345678,,,,,,,,", "name", "name is missing"),
    ("A1,Anne,06 12,,,,,,,,", "phone", "not a possible phone number"),
    ("A1,Anne,mairie,,,,,,,,", "phone", "not a phone number"),
    ("A1,Anne,+33 0 12 34 56 78,,,,,,,,", "phone", "not a valid phone number"),
    ("A1,Anne,,anne.example.fr,,,,,,,", "email", "not an e-mail address"),
    ("A1,Anne,,anne@example,,,,,,,", "email", "not an e-mail address"),
    ("A1,Anne,,anne @example.fr,,,,,,,", "email", "not an e-mail address"),
    ("A1,Anne,,,1 rue Haute,,,,,,", "phone", "neither phone nor e-mail"),
    ("A1,Anne,0612345678,,,,,peut-être,,,", "consent", "neither yes, no nor empty"),
    ("A1,Anne,0612345678,,,,,yes,,,", "consent_method", "how it was given"),
    ("A1,Anne,0612345678,,,,,,,elu,", "kind", "none of resident, staff, service"),
    ("Z9,,,,,,,,,,delete", "external_id", "no contact has external_id 'Z9' to delete"),
])
def test_a_bad_row_is_rejected_with_its_reason(line, column, reason):
    plan = plan_import(rows(line + "\nB1,Bruno,0612345678,,,,,,,,\n"), existing_external_ids=())
    assert [entry["row"] for entry in plan.rejected] == [2]
    assert plan.rejected[0]["column"] == column
    assert reason in plan.rejected[0]["reason"]
    # the rest proceeds
    assert [c["external_id"] for c in plan.inserts] == ["B1"]


def test_every_problem_of_a_row_is_reported():
    plan = plan_import(rows("A1,,06 12,anne@,,,,yes,,\n"), existing_external_ids=())
    assert [(e["row"], e["column"]) for e in plan.rejected] == [
        (2, "name"), (2, "phone"), (2, "email"), (2, "consent_method")]
    assert plan.inserts == plan.updates == plan.deletes == []


def test_a_duplicated_external_id_rejects_each_of_its_rows():
    plan = plan_import(rows(
        "A1,Anne,0612345678,,,,,,,,\n"
        "B1,Bruno,0612345679,,,,,,,,\n"
        "A1,Anne Roux,0612345678,,,,,,,,\n"
        "A1,,,,,,,,,,delete\n"
    ), existing_external_ids={"A1"})
    assert [(e["row"], e["column"]) for e in plan.rejected] == [
        (2, "external_id"), (4, "external_id"), (5, "external_id")]
    assert "several rows (2, 4, 5)" in plan.rejected[0]["reason"]
    assert [c["external_id"] for c in plan.inserts] == ["B1"]
    assert plan.updates == plan.deletes == []


def test_cells_are_trimmed_and_case_is_forgiven():
    plan = plan_import([{"External_ID ": " A1 ", "name": " Anne ", "phone": "0612345678",
                         "consent": "OUI", "consent_method": "guichet", "kind": "Resident",
                         "action": "", None: ["extra cell"]}], existing_external_ids=())
    assert plan.rejected == []
    [anne] = plan.inserts
    assert (anne["external_id"], anne["name"], anne["consent"], anne["kind"]) == (
        "A1", "Anne", True, "resident")


def test_an_empty_file_changes_nothing():
    assert plan_import([], existing_external_ids={"A1"}) == ImportPlan()


def test_a_person_erased_at_their_request_is_not_brought_back_only_deleted():
    plan = plan_import(rows(
        "A1,Anne Roux,06 12 34 56 78,,,,,yes,formulaire papier,,\n"
        "A2,,,,,,,,,,delete\n"
        "A3,Paul Vidal,06 12 34 56 79,,,,,yes,formulaire papier,,\n"
    ), existing_external_ids={"A1", "A2", "A3"}, erased_external_ids={"A1", "A2"})
    assert [(r["row"], r["column"]) for r in plan.rejected] == [(2, "external_id")]
    assert "erased at their request" in plan.rejected[0]["reason"]
    assert plan.deletes == ["A2"]
    assert [row["external_id"] for row in plan.updates] == ["A3"]


# -- costs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("calls, minutes", [
    ([], 0), ([0], 0), ([1], 1), ([60], 1), ([61], 2), ([59, 60, 61, 0, 180], 7),
])
def test_voice_is_billed_per_started_minute_per_call(calls, minutes):
    assert voice_minutes(calls) == minutes


@pytest.mark.parametrize("segments, calls, segment_price, minute_price, expected", [
    (0, [], "0.045", "0.12", Decimal("0.00")),
    (1000, [], "0.045", "0.12", Decimal("45.00")),
    (1, [], "0.045", "0.12", Decimal("0.05")),  # 0.045 rounds half up
    (3, [], "0.045", "0.12", Decimal("0.14")),  # 0.135
    (0, [61, 30], "0.045", "0.12", Decimal("0.36")),  # 2 + 1 minutes
    (2500, [45] * 400, Decimal("0.0375"), Decimal("0.085"), Decimal("127.75")),
])
def test_campaign_cost(segments, calls, segment_price, minute_price, expected):
    cost = communication_cost(segments, voice_minutes(calls), segment_price, minute_price)
    assert cost == expected
    assert cost.as_tuple().exponent == -2


@pytest.mark.parametrize("args, error", [
    ((1, 0, 0.045, "0.12"), TypeError),
    ((-1, 0, "0.045", "0.12"), ValueError),
    ((0, -1, "0.045", "0.12"), ValueError),
])
def test_campaign_cost_refuses(args, error):
    with pytest.raises(error):
        communication_cost(*args)
