"""The online services through the real broker and a real SMTP server: subscriptions' and
identity's events published as their relays publish them, and the service called over RPC as
the gateway calls it. Each test runs on a vhost and a data folder of its own."""

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook

from contracts.errors import Conflict, Forbidden, Invalid, NotFound
from contracts.events import ACCOUNT_DELETED
from contracts.personal_data import EservicesExportSchema
from servicekit.testing_bus import deliver, subscribe
from services.eservices.service import EservicesService

pytestmark = pytest.mark.broker

LAVERUNE, GRABELS = "34134", "34116"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # a Friday
ADMIN, AGENT = "admin-id", "agent-id"
ADA = {"account_id": str(uuid.UUID(int=21)), "name": "Ada Lovelace",
       "email": "ada.lovelace@example.org"}
BOB = {"account_id": str(uuid.UUID(int=22)), "name": "Bob Martin",
       "email": "bob.martin@example.org"}
BRANDING = {"name": "Mairie de Lavérune", "logo_url": None, "primary_colour": "#005a9c",
            "secondary_colour": "#f2a900",
            "contact": {"address": "Place de la mairie, 34880 Lavérune",
                        "email": "mairie@laverune.fr", "phone": "04 67 47 00 00",
                        "opening_hours": "du lundi au vendredi, 8 h 30 – 12 h"}}
CONTACT = {"form": "contact", "data": {"subject": "Horaires", "message": "Bonjour"}}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def eservices(container_factory, suite_config, smtp_server):
    container = container_factory(EservicesService, {
        **suite_config, **smtp_server.mail_config(), "CLOCK_FROZEN_AT": NOW.isoformat(),
        "POSTBOX_POLL_INTERVAL": 0.2})
    container.start()
    return container


@pytest.fixture
def rpc(suite_config, eservices):
    with ServiceRpcProxy("eservices", suite_config, timeout=10) as proxy:
        yield proxy


@pytest.fixture
def laverune(eservices, suite_config, rpc):
    """Lavérune subscribes, has its branding, and offers the whole catalogue."""
    subscribe(eservices, suite_config, LAVERUNE, "eservices", NOW)
    rpc.set_branding(LAVERUNE, BRANDING, ADMIN)
    for form in rpc.catalogue():
        rpc.activate_form(LAVERUNE, form["slug"], AGENT)
    return LAVERUNE


def file(content, name="photo.png", slot="photo"):
    return {"name": slot, "file_name": name, "content": base64.b64encode(content).decode()}


def birth_copy(copy_type, relationship):
    return {"form": "acte-de-naissance", "data": {
        "copy_type": copy_type, "relationship": relationship, "family_name": "Lovelace",
        "given_names": "Ada", "act_date": "1990-12-10", "delivery": "email"}}


# -- the catalogue and the commune's set-up


def test_the_catalogue_holds_the_ten_tele_services_of_the_agreement(rpc):
    assert {form["slug"] for form in rpc.catalogue()} == {
        "acte-de-naissance", "acte-de-mariage", "acte-de-deces", "livret-de-famille",
        "demande-intervention", "inscription-centre-vacances", "stationnement-demenagement",
        "declaration-ouverture-chantier", "rendez-vous", "contact"}


def test_a_commune_that_does_not_subscribe_is_refused_and_offers_nothing(rpc):
    with pytest.raises(Forbidden, match="does not subscribe"):
        rpc.set_branding(GRABELS, BRANDING, ADMIN)
    assert rpc.commune_forms(GRABELS) == []


def test_a_form_is_offered_only_once_the_branding_names_who_answers(eservices, suite_config,
                                                                    rpc):
    subscribe(eservices, suite_config, LAVERUNE, "eservices", NOW)
    with pytest.raises(Conflict, match="branding"):
        rpc.activate_form(LAVERUNE, "contact", AGENT)

    rpc.set_branding(LAVERUNE, BRANDING, ADMIN)
    rpc.activate_form(LAVERUNE, "contact", AGENT)

    assert [f["slug"] for f in rpc.commune_forms(LAVERUNE)] == ["contact"]
    assert len(rpc.commune_forms(LAVERUNE, include_inactive=True)) == 10
    rpc.activate_form(LAVERUNE, "contact", AGENT, active=False)
    assert rpc.commune_forms(LAVERUNE) == []


def test_the_first_custom_form_is_free_the_second_needs_a_price(laverune, rpc):
    form = {"slug": "pret-de-salle", "title": "Prêt de salle", "description": "Réserver.",
            "handling_service": "Vie associative", "retention_days": 365,
            "fields": [{"name": "date_souhaitee", "label": "Date", "type": "date",
                        "required": True, "minimum": "1"}]}
    first = rpc.create_custom_form(LAVERUNE, form, ADMIN)
    assert (first["integration_number"], first["billable"]) == (1, False)

    second = {**form, "slug": "pret-de-materiel", "title": "Prêt de matériel"}
    with pytest.raises(Invalid) as refused:
        rpc.create_custom_form(LAVERUNE, second, ADMIN)
    assert "integration_price" in refused.value.errors
    billed = rpc.create_custom_form(LAVERUNE, {**second, "integration_price": "450.00"}, ADMIN)
    assert (billed["integration_number"], billed["billable"],
            billed["integration_price"]) == (2, True, "450.00")
    with pytest.raises(Conflict):
        rpc.create_custom_form(LAVERUNE, {**second, "integration_price": "450.00"}, ADMIN)
    assert {f["slug"] for f in rpc.commune_forms(LAVERUNE)} >= {"pret-de-salle",
                                                                 "pret-de-materiel"}


# -- submission


def test_a_submission_gets_a_reference_and_an_acknowledgement_with_the_legal_mentions(
        laverune, rpc, smtp_server):
    request = rpc.submit_request(LAVERUNE, CONTACT, ADA)

    assert request["reference"] == "34134-2026-000001"
    assert (request["status"], request["acknowledge_by"]) == ("new", "2026-12-11")
    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == (ADA["email"],)
    assert mail.message["Reply-To"] == "mairie@laverune.fr"
    assert "Accusé d'enregistrement" in mail.message["Subject"]
    for mention in ("27/11/2026 à 10:00", "34134-2026-000001", "Place de la mairie",
                    "mairie@laverune.fr", "04 67 47 00 00", "Mairie de Lavérune"):
        assert mention in mail.text


def test_an_invalid_submission_names_its_fields_and_leaves_nothing(laverune, rpc,
                                                                   smtp_server):
    with pytest.raises(Invalid) as refused:
        rpc.submit_request(LAVERUNE, {"form": "demande-intervention", "data": {
            "category": "nid-de-poule", "colour": "red"},
            "attachments": [file(b"MZ not an image")]}, ADA)

    assert {"data.category", "data.description", "data.colour",
            "attachments.photo"} <= set(refused.value.errors)
    assert rpc.citizen_requests(ADA["account_id"]) == []
    assert rpc.commune_requests(LAVERUNE, {})["counts"] == {}
    assert smtp_server.messages == []


def test_a_full_birth_copy_is_refused_to_an_unrelated_requester_not_an_extract(laverune, rpc):
    with pytest.raises(Invalid) as refused:
        rpc.submit_request(LAVERUNE, birth_copy("full_copy", "other"), BOB)
    assert "data.copy_type" in refused.value.errors

    extract = rpc.submit_request(LAVERUNE, birth_copy("extract_without_filiation", "other"),
                                 BOB)
    own = rpc.submit_request(LAVERUNE, birth_copy("full_copy", "self"), ADA)
    assert (extract["reference"], own["reference"]) == ("34134-2026-000001",
                                                        "34134-2026-000002")


def test_the_same_idempotency_key_gives_the_same_request(laverune, rpc):
    first = rpc.submit_request(LAVERUNE, CONTACT, ADA, idempotency_key="k-1")
    again = rpc.submit_request(LAVERUNE, CONTACT, ADA, idempotency_key="k-1")
    assert first["id"] == again["id"]
    assert len(rpc.citizen_requests(ADA["account_id"])) == 1


def test_a_form_the_commune_does_not_offer_is_not_found(laverune, rpc):
    rpc.activate_form(LAVERUNE, "contact", AGENT, active=False)
    with pytest.raises(NotFound):
        rpc.submit_request(LAVERUNE, CONTACT, ADA)


# -- appointments, camps, parking


def test_a_slot_is_booked_once_and_freed_by_a_cancellation(laverune, rpc):
    agenda = rpc.create_agenda(LAVERUNE, {"name": "M. le Maire", "kind": "elected_official"})
    slot, _ = rpc.open_slots(LAVERUNE, agenda["id"], {
        "starts_at": (NOW + timedelta(days=3)).isoformat(), "minutes": 30, "count": 2})
    booking = {"form": "rendez-vous", "data": {"slot_id": slot["id"], "subject": "Voirie"}}

    mine = rpc.submit_request(LAVERUNE, booking, ADA)
    with pytest.raises(Conflict, match="booked"):
        rpc.submit_request(LAVERUNE, booking, BOB)

    assert rpc.citizen_requests(BOB["account_id"]) == []
    assert [s["booked"] for s in rpc.slots(LAVERUNE, agenda["id"], {})] == [True, False]
    rpc.cancel_request(ADA["account_id"], mine["id"])
    assert rpc.slots(LAVERUNE, agenda["id"], {"available": True})[0]["id"] == slot["id"]
    assert rpc.submit_request(LAVERUNE, booking, BOB)["status"] == "new"


def test_a_full_camp_puts_the_next_child_on_the_waiting_list_which_moves_up(laverune, rpc,
                                                                            smtp_server):
    camp = rpc.create_camp(LAVERUNE, {"name": "Séjour neige", "starts_on": "2027-02-15",
                                      "ends_on": "2027-02-20", "places": 1})

    def registration(child):
        return {"form": "inscription-centre-vacances", "data": {
            "camp_id": camp["id"], "child_family_name": "Lovelace",
            "child_given_names": child, "child_birth_date": "2016-05-01",
            "guardian_phone": "06 12 34 56 78"},
            "attachments": [file(b"%PDF-1.4 carnet", "carnet.pdf", "vaccination_record")]}

    placed = rpc.submit_request(LAVERUNE, registration("Anne"), ADA)
    waiting = rpc.submit_request(LAVERUNE, registration("Byron"), BOB)

    assert (placed["waiting_list_position"], waiting["waiting_list_position"]) == (None, 1)
    assert rpc.camps(LAVERUNE) == [{**camp, "places_taken": 1, "waiting_list": 1}]
    rpc.cancel_request(ADA["account_id"], placed["id"])
    promoted = rpc.citizen_request(BOB["account_id"], waiting["id"])
    assert promoted["waiting_list_position"] is None
    mails = smtp_server.wait_for(3)
    assert any("Une place s'est libérée" in m.message["Subject"] for m in mails)


def test_overlapping_move_parkings_on_the_same_spot_are_flagged_on_both(laverune, rpc):
    def parking(address, starts_on, ends_on):
        return {"form": "stationnement-demenagement", "data": {
            "address": address, "starts_on": starts_on, "ends_on": ends_on, "length_m": "12"}}

    first = rpc.submit_request(LAVERUNE, parking("3 rue de la Mairie", "2026-12-05",
                                                 "2026-12-06"), ADA)
    second = rpc.submit_request(LAVERUNE, parking("3, Rue de la mairie", "2026-12-06",
                                                  "2026-12-07"), BOB)
    elsewhere = rpc.submit_request(LAVERUNE, parking("5 avenue de Montpellier",
                                                     "2026-12-06", "2026-12-06"), BOB)

    assert second["flags"] == [f"overlaps {first['reference']}"]
    assert rpc.commune_request(LAVERUNE, first["id"])["flags"] == [
        f"overlaps {second['reference']}"]
    assert elsewhere["flags"] == []
    flagged = rpc.commune_requests(LAVERUNE, {"flagged": True})["items"]
    assert {r["id"] for r in flagged} == {first["id"], second["id"]}


# -- processing


def test_the_workflow_with_its_messages_e_mails_and_time_in_each_status(laverune, rpc,
                                                                        smtp_server):
    request = rpc.submit_request(LAVERUNE, CONTACT, ADA)
    with pytest.raises(Conflict):
        rpc.move_request(LAVERUNE, request["id"], {"to": "done"}, AGENT)

    rpc.move_request(LAVERUNE, request["id"], {"to": "in_progress"}, AGENT)
    rpc.move_request(LAVERUNE, request["id"],
                     {"to": "waiting_for_citizen", "message": "Quel service ?"}, AGENT)
    rpc.citizen_message(ADA["account_id"], request["id"], {"text": "L'urbanisme."})
    done = rpc.move_request(LAVERUNE, request["id"], {"to": "done"}, AGENT)

    assert [h["status"] for h in done["history"]] == [
        "new", "in_progress", "waiting_for_citizen", "in_progress", "done"]
    assert done["receipt_acknowledged_at"] is not None
    assert set(done["seconds_in_status"]) == {"new", "in_progress", "waiting_for_citizen",
                                              "done"}
    assert [(m["author"], m["text"]) for m in done["messages"]] == [
        ("agent", "Quel service ?"), ("citizen", "L'urbanisme.")]
    subjects = [m.message["Subject"] for m in smtp_server.wait_for(5)]
    assert any("Accusé de réception" in s for s in subjects)
    assert any("en attente d'un complément" in s for s in subjects)
    assert any(s.endswith(": traitée") for s in subjects)
    with pytest.raises(Conflict):
        rpc.citizen_message(ADA["account_id"], request["id"], {"text": "Merci"})


def test_a_commune_sees_only_its_requests_with_counts_by_status(eservices, suite_config,
                                                                laverune, rpc):
    subscribe(eservices, suite_config, GRABELS, "eservices", NOW)
    rpc.set_branding(GRABELS, {**BRANDING, "name": "Mairie de Grabels"}, ADMIN)
    rpc.activate_form(GRABELS, "contact", AGENT)
    here = rpc.submit_request(LAVERUNE, CONTACT, ADA)
    rpc.submit_request(LAVERUNE, CONTACT, BOB)
    there = rpc.submit_request(GRABELS, CONTACT, ADA)
    rpc.move_request(LAVERUNE, here["id"], {"to": "in_progress"}, AGENT)

    page = rpc.commune_requests(LAVERUNE, {"status": "new"})
    assert page["counts"] == {"new": 1, "in_progress": 1}
    assert len(page["items"]) == 1
    with pytest.raises(NotFound):
        rpc.commune_request(LAVERUNE, there["id"])
    assert {r["commune"] for r in rpc.citizen_requests(ADA["account_id"])} == {LAVERUNE,
                                                                                GRABELS}
    with pytest.raises(NotFound):
        rpc.citizen_request(BOB["account_id"], here["id"])


def test_pages_follow_their_cursor(laverune, rpc):
    for _ in range(3):
        rpc.submit_request(LAVERUNE, CONTACT, ADA)
    first = rpc.commune_requests(LAVERUNE, {"limit": 2})
    rest = rpc.commune_requests(LAVERUNE, {"limit": 2, "cursor": first["next_cursor"]})
    assert len(first["items"]) == 2 and len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    with pytest.raises(Invalid):
        rpc.commune_requests(LAVERUNE, {"cursor": "not-ours"})


def test_the_receipt_is_acknowledged_by_the_tenth_working_day(eservices, laverune, rpc,
                                                              smtp_server):
    request = rpc.submit_request(LAVERUNE, CONTACT, ADA)
    smtp_server.wait_for(1)
    clock = next(d for d in eservices.dependencies if d.attr_name == "clock").clock

    clock.set(datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
    with entrypoint_hook(eservices, "keep_legal_delays") as keep:
        keep()
    assert rpc.citizen_request(ADA["account_id"], request["id"])[
        "receipt_acknowledged_at"] is None

    clock.set(datetime(2026, 12, 11, 9, 0, tzinfo=UTC))
    with entrypoint_hook(eservices, "keep_legal_delays") as keep:
        keep()
    assert rpc.citizen_request(ADA["account_id"], request["id"])[
        "receipt_acknowledged_at"] is not None
    assert "Accusé de réception" in smtp_server.wait_for(2)[1].message["Subject"]


# -- personal data


def test_a_deleted_account_leaves_its_requests_anonymised_for_the_commune(eservices,
                                                                          suite_config,
                                                                          laverune, rpc):
    request = rpc.submit_request(LAVERUNE, {"form": "demande-intervention", "data": {
        "category": "voirie", "description": "Nid-de-poule", "address": "3 rue de la Mairie"},
        "attachments": [file(PNG)]}, ADA)
    registered = rpc.submit_request(LAVERUNE, birth_copy("full_copy", "self"), ADA)

    deliver(eservices, suite_config, ACCOUNT_DELETED, "on_account_deleted",
            {"account_id": ADA["account_id"], "role": "citizen"}, NOW)

    assert rpc.citizen_requests(ADA["account_id"]) == []
    # Their acknowledgements went with them.
    assert rpc.export_personal_data({"account_id": ADA["account_id"], "email": ADA["email"]}) == {
        "requests": [], "mails": []}
    kept = rpc.commune_request(LAVERUNE, request["id"])
    assert (kept["requester"], kept["anonymised"]) == (None, True)
    assert kept["data"]["description"] == "Nid-de-poule"
    assert kept["attachments"][0]["size"] == len(PNG)
    copy = rpc.commune_request(LAVERUNE, registered["id"])
    assert "family_name" not in copy["data"] and copy["data"]["copy_type"] == "full_copy"


def test_a_citizen_exports_every_request_they_made_and_the_mails_kept_to_them(laverune, rpc):
    request = rpc.submit_request(LAVERUNE, CONTACT, ADA)
    rpc.submit_request(LAVERUNE, CONTACT, BOB)

    exported = rpc.export_personal_data({"account_id": ADA["account_id"], "email": ADA["email"]})

    assert EservicesExportSchema().validate(exported) == {}

    assert [(r["id"], r["requester"]["email"]) for r in exported["requests"]] == [
        (request["id"], ADA["email"])]
    # The accusé d'enregistrement of the request, and nothing sent to Bob.
    (mail,) = exported["mails"]
    assert request["reference"] in mail["subject"] + mail["body"]
