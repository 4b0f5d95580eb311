"""The @ctes archive of an act and the prefecture's messages (services/eadmin/actes.py)."""

import io
import tarfile
from datetime import date
from types import SimpleNamespace

import pytest
from lxml import etree

from services.eadmin import actes
from services.eadmin.tests.actes_samples import LAVERUNE, PDF, sample_act, sample_files

NS = {"actes": actes.NAMESPACE, "insee": actes.INSEE_NAMESPACE}
SENT_ON = date(2022, 3, 4)
IDENTIFIER = "034-213401342-20220301-2022_12-DE"


def members(transmission):
    with tarfile.open(fileobj=io.BytesIO(transmission.archive_bytes), mode="r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()}


@pytest.fixture
def transmission():
    return actes.build_transmission(sample_act(), LAVERUNE, sample_files(annexes=2),
                                    serial=7, sent_on=SENT_ON,
                                    contact=actes.Contact("Mairie de Lavérune", "0467000000",
                                                          "mairie@laverune.fr"))


@pytest.mark.parametrize("insee, department", [
    ("34134", "034"), ("2A004", "02A"), ("97411", "974"), ("75056", "075")])
def test_the_department_is_written_on_three_characters(insee, department):
    assert actes.department_of(insee) == department


def test_the_act_identifier_is_dpt_siren_date_number_nature(transmission):
    assert transmission.identifier == IDENTIFIER


def test_the_archive_and_its_envelope_follow_the_at_ctes_names(transmission):
    assert transmission.envelope_name == "EACT--213401342--20220304-7.xml"
    assert transmission.archive_name == "SLO-EACT--213401342--20220304-7.tar.gz"
    assert transmission.message_name == f"{IDENTIFIER}-1-1_0.xml"
    assert transmission.file_names == (
        f"99_DE-{IDENTIFIER}-1-1_1.pdf", f"99_AU-{IDENTIFIER}-1-1_2.pdf",
        f"99_AU-{IDENTIFIER}-1-1_3.pdf")
    inside = members(transmission)
    assert list(inside) == [transmission.envelope_name, transmission.message_name,
                            *transmission.file_names]
    assert inside[transmission.file_names[0]] == PDF


def test_the_envelope_names_the_commune_its_referent_and_its_forms(transmission):
    raw = members(transmission)[transmission.envelope_name]
    assert raw.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    root = etree.fromstring(raw)
    assert root.tag == f"{{{actes.NAMESPACE}}}EnveloppeCLMISILL"
    idcl = root.find("actes:Emetteur/actes:IDCL", NS)
    assert idcl.get(f"{{{actes.INSEE_NAMESPACE}}}SIREN") == "213401342"
    assert idcl.get(f"{{{actes.NAMESPACE}}}Departement") == "034"
    assert idcl.get(f"{{{actes.NAMESPACE}}}Arrondissement") == "3"
    assert root.findtext("actes:Emetteur/actes:Referent/actes:Nom", namespaces=NS) == \
        "Mairie de Lavérune"
    assert root.findtext("actes:AdressesRetour/actes:Email", namespaces=NS) == \
        "mairie@laverune.fr"
    assert [e.text for e in root.iterfind(
        "actes:FormulairesEnvoyes/actes:Formulaire/actes:NomFichier", NS)] == [
        transmission.message_name]


def test_the_act_message_says_date_number_nature_classification_subject_and_files(
        transmission):
    raw = members(transmission)[transmission.message_name]
    # ISO-8859-1 bytes for "à", a character reference for "€", which Latin-1 lacks.
    assert "à compter".encode("latin-1") in raw and b"&#8364;" in raw
    root = etree.fromstring(raw)
    attribute = lambda name: root.get(f"{{{actes.NAMESPACE}}}{name}")  # noqa: E731
    assert (attribute("Date"), attribute("NumeroInterne"), attribute("CodeNatureActe")) == (
        "2022-03-01", "2022_12", "1")
    assert [root.find(f"actes:CodeMatiere{n}", NS).get(f"{{{actes.NAMESPACE}}}CodeMatiere")
            for n in (1, 2, 3)] == ["7", "1", "2"]
    assert root.find("actes:CodeMatiere4", NS) is None
    assert root.findtext("actes:Objet", namespaces=NS).endswith("3,50 €")
    assert root.findtext("actes:Document/actes:NomFichier", namespaces=NS) == \
        transmission.file_names[0]
    annexes = root.find("actes:Annexes", NS)
    assert annexes.get(f"{{{actes.NAMESPACE}}}Nombre") == "2"
    assert [e.text for e in annexes.iterfind("actes:Annexe/actes:NomFichier", NS)] == list(
        transmission.file_names[1:])


def test_the_same_act_on_the_same_day_gives_the_same_archive(transmission):
    again = actes.build_transmission(sample_act(), LAVERUNE, sample_files(annexes=2), serial=7,
                                     sent_on=SENT_ON, contact=actes.Contact(
                                         "Mairie de Lavérune", "0467000000",
                                         "mairie@laverune.fr"))
    assert again.archive_bytes == transmission.archive_bytes


def test_an_act_without_its_document_or_of_an_unknown_nature_is_not_built():
    annex_only = [(SimpleNamespace(role="annex", file_name="a.pdf"), PDF)]
    with pytest.raises(ValueError, match="its own document"):
        actes.build_transmission(sample_act(), LAVERUNE, annex_only, sent_on=SENT_ON)
    with pytest.raises(ValueError, match="nature"):
        actes.build_transmission(sample_act(nature="XX"), LAVERUNE, sample_files(),
                                 sent_on=SENT_ON)


@pytest.mark.parametrize("code", sorted(actes.MESSAGES))
def test_every_prefecture_message_reads_back_as_written(code):
    xml = actes.build_message(code, IDENTIFIER, date(2022, 3, 2), text="Pièce manquante")
    message = actes.parse_message(xml)
    assert (message.type, message.act_identifier, message.date, message.text) == (
        code, IDENTIFIER, date(2022, 3, 2), "Pièce manquante")
    assert message.as_record()["label"] == actes.MESSAGES[code][1]


def test_the_ar_is_dated_by_its_date_of_reception():
    xml = (f'<actes:ARActe xmlns:actes="{actes.NAMESPACE}" actes:IDActe="{IDENTIFIER}" '
           'actes:DateReception="2022-03-02"/>').encode()
    message = actes.parse_message(xml)
    assert (message.type, message.label, message.date, message.text) == (
        "1-2", "Accusé de réception", date(2022, 3, 2), None)


@pytest.mark.parametrize("xml", [b"not xml", b"<ARActe/>",
                                 f'<actes:Enveloppe xmlns:actes="{actes.NAMESPACE}"/>'.encode()])
def test_what_is_not_a_prefecture_message_is_refused(xml):
    with pytest.raises(ValueError):
        actes.parse_message(xml)
