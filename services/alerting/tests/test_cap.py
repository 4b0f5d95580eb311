"""Campaigns as CAP 1.2 alerts, validated against the official OASIS schema (R8.3)."""

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree

from services.alerting.cap import (
    GEOCODE_INSEE,
    NAMESPACE,
    CapCampaign,
    InvalidAlert,
    cap_alert,
    cap_time,
    validate_cap,
)

PARIS_SUMMER = timezone(timedelta(hours=2))
NS = {"cap": NAMESPACE}
FLOOD = CapCampaign(
    identifier="34172-2026-000042",
    sender="telealerte@montpellier3m.fr",
    sent=datetime(2026, 5, 12, 14, 30, 5, 123456, tzinfo=PARIS_SUMMER),
    status="Actual",
    categories=("Met", "Safety"),
    event="Crue du Lez",
    urgency="Immediate",
    severity="Severe",
    certainty="Likely",
    headline="Crue du Lez : évacuez les berges",
    description="Le Lez monte de 40 cm par heure au pont Juvénal.",
    instruction="Quittez les berges, rejoignez l'étage, ne prenez pas votre voiture.",
    area_desc="Montpellier et Lattes",
    insee_codes=("34172", "34129"),
    sender_name="Ville de Montpellier",
)


def parsed(xml):
    return etree.fromstring(xml)


def text(tree, path):
    return tree.findtext(path, namespaces=NS)


@pytest.mark.parametrize("status", ["Actual", "Exercise", "Test"])
def test_a_valid_alert_for_each_status(status):
    xml = cap_alert(dataclasses.replace(FLOOD, status=status))
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    validate_cap(xml)  # does not raise
    tree = parsed(xml)
    assert tree.tag == f"{{{NAMESPACE}}}alert"
    assert [child.tag.split("}")[1] for child in tree] == [
        "identifier", "sender", "sent", "status", "msgType", "scope", "info"]
    assert text(tree, "cap:status") == status
    assert text(tree, "cap:identifier") == "34172-2026-000042"
    assert text(tree, "cap:msgType") == "Alert"
    assert text(tree, "cap:scope") == "Public"
    info = tree.find("cap:info", NS)
    assert [child.tag.split("}")[1] for child in info] == [
        "language", "category", "category", "event", "urgency", "severity", "certainty",
        "senderName", "headline", "description", "instruction", "area"]
    assert text(info, "cap:language") == "fr-FR"
    assert text(info, "cap:headline") == "Crue du Lez : évacuez les berges"


def test_a_mapping_is_taken_too():
    xml = cap_alert({**dataclasses.asdict(FLOOD), "status": "Exercise"})
    assert text(parsed(xml), "cap:status") == "Exercise"
    with pytest.raises(TypeError):
        cap_alert({**dataclasses.asdict(FLOOD), "urgence": "Immediate"})


def test_the_xsd_refuses_a_wrong_urgency():
    # Nothing before the schema checks the urgency: the refusal is the XSD's own.
    with pytest.raises(InvalidAlert) as refused:
        cap_alert(dataclasses.replace(FLOOD, urgency="Urgent"))
    [error] = refused.value.errors
    assert "urgency" in error
    assert "'Urgent' is not an element of the set" in error


def test_the_xsd_is_the_judge_of_a_document_from_elsewhere():
    xml = cap_alert(FLOOD)
    validate_cap(xml)
    for mutated, expected in [
        (xml.replace(b"<certainty>Likely<", b"<certainty>Probable<"), "certainty"),
        (xml.replace(b"<category>Met<", b"<category>Weather<"), "category"),
        (xml.replace(b"<event>Crue du Lez</event>", b""), "event"),
        (xml.replace(b"+02:00</sent>", b"Z</sent>"), "sent"),
        (xml.replace(b"14:30:05+02:00", b"14:30:05.123+02:00"), "sent"),
    ]:
        with pytest.raises(InvalidAlert, match=expected):
            validate_cap(mutated)
    with pytest.raises(InvalidAlert, match="not XML"):
        validate_cap(b"<alert")


@pytest.mark.parametrize("moment, expected", [
    (datetime(2026, 5, 12, 14, 30, 5, 999999, tzinfo=PARIS_SUMMER), "2026-05-12T14:30:05+02:00"),
    (datetime(2026, 1, 12, 9, 0, tzinfo=timezone(timedelta(hours=1))),
     "2026-01-12T09:00:00+01:00"),
    (datetime(2026, 1, 12, 8, 0, tzinfo=UTC), "2026-01-12T08:00:00-00:00"),  # never "Z"
    (datetime(2026, 1, 12, 3, 0, tzinfo=timezone(timedelta(hours=-5))),
     "2026-01-12T03:00:00-05:00"),
])
def test_the_time_format(moment, expected):
    assert cap_time(moment) == expected


def test_sent_is_written_to_the_second_with_its_offset():
    tree = parsed(cap_alert(FLOOD))
    assert text(tree, "cap:sent") == "2026-05-12T14:30:05+02:00"
    utc = parsed(cap_alert(dataclasses.replace(FLOOD, sent=datetime(2026, 5, 12, 12, 30,
                                                                    tzinfo=UTC))))
    assert text(utc, "cap:sent") == "2026-05-12T12:30:00-00:00"


def test_a_time_without_offset_is_refused():
    with pytest.raises(ValueError, match="offset"):
        cap_time(datetime(2026, 5, 12, 14, 30))
    with pytest.raises(InvalidAlert, match="sent must be an aware datetime"):
        cap_alert(dataclasses.replace(FLOOD, sent=datetime(2026, 5, 12, 14, 30)))


def test_the_area_names_each_commune_by_its_insee_code():
    tree = parsed(cap_alert(dataclasses.replace(FLOOD, insee_codes=("34172", "2A004", "97411"))))
    area = tree.find("cap:info/cap:area", NS)
    assert text(area, "cap:areaDesc") == "Montpellier et Lattes"
    assert [(text(geocode, "cap:valueName"), text(geocode, "cap:value"))
            for geocode in area.findall("cap:geocode", NS)] == [
        (GEOCODE_INSEE, "34172"), (GEOCODE_INSEE, "2A004"), (GEOCODE_INSEE, "97411")]


@pytest.mark.parametrize("code", ["3417", "341720", "34 172", "2C004", "ABCDE", ""])
def test_an_insee_code_has_five_characters(code):
    with pytest.raises(InvalidAlert, match="INSEE code"):
        cap_alert(dataclasses.replace(FLOOD, insee_codes=(code,)))


def test_an_alert_covers_a_commune_at_least():
    with pytest.raises(InvalidAlert, match="at least one commune"):
        cap_alert(dataclasses.replace(FLOOD, insee_codes=()))


def test_an_update_or_cancel_names_what_it_follows():
    for msg_type in ("Update", "Cancel"):
        with pytest.raises(InvalidAlert, match="references"):
            cap_alert(dataclasses.replace(FLOOD, msg_type=msg_type))
    first = (FLOOD.sender, FLOOD.identifier, FLOOD.sent)
    tree = parsed(cap_alert(dataclasses.replace(
        FLOOD, identifier="34172-2026-000043", msg_type="Cancel", references=(first,),
        note="Fin de l'alerte.",
    )))
    assert text(tree, "cap:msgType") == "Cancel"
    assert text(tree, "cap:references") == (
        "telealerte@montpellier3m.fr,34172-2026-000042,2026-05-12T14:30:05+02:00")
    assert text(tree, "cap:note") == "Fin de l'alerte."


def test_a_restricted_alert_says_for_whom():
    with pytest.raises(InvalidAlert, match="restriction"):
        cap_alert(dataclasses.replace(FLOOD, scope="Restricted"))
    tree = parsed(cap_alert(dataclasses.replace(FLOOD, scope="Restricted",
                                                restriction="Cellule de crise communale")))
    assert text(tree, "cap:restriction") == "Cellule de crise communale"


@pytest.mark.parametrize("changes, reason", [
    ({"identifier": "34172 2026"}, "identifier"),
    ({"identifier": "a,b"}, "identifier"),
    ({"identifier": ""}, "identifier"),
    ({"sender": "mairie<34172>"}, "sender"),
    ({"status": "Draft"}, "status 'Draft'"),
    ({"status": "System"}, "status 'System'"),
    ({"msg_type": "Ack"}, "msgType 'Ack'"),
    ({"scope": "Private"}, "scope 'Private'"),
    ({"categories": ()}, "at least one category"),
])
def test_what_the_xsd_cannot_see(changes, reason):
    with pytest.raises(InvalidAlert, match=reason):
        cap_alert(dataclasses.replace(FLOOD, **changes))


def test_every_reason_at_once():
    with pytest.raises(InvalidAlert) as refused:
        cap_alert(dataclasses.replace(FLOOD, identifier="", status="Draft", insee_codes=("x",)))
    assert len(refused.value.errors) == 3


def test_optional_elements_are_left_out():
    tree = parsed(cap_alert(dataclasses.replace(
        FLOOD, description=None, instruction=None, sender_name=None,
        expires=datetime(2026, 5, 12, 20, 0, tzinfo=PARIS_SUMMER))))
    info = tree.find("cap:info", NS)
    assert [child.tag.split("}")[1] for child in info] == [
        "language", "category", "category", "event", "urgency", "severity", "certainty",
        "expires", "headline", "area"]
    assert text(info, "cap:expires") == "2026-05-12T20:00:00+02:00"
