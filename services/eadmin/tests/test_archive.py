"""Rule R4: the archive's fingerprints and integrity, retention by kind (DAF/DPACI/RES/2009/018,
2008/008), destruction only with the archives départementales' visa (Code du patrimoine L212-2,
R212-14), and the SEDA 2.1 transfer package."""

import zipfile
from datetime import UTC, date, datetime
from io import BytesIO

import pytest
from lxml import etree

from contracts.errors import Conflict
from servicekit.files import AlteredFile, FileStore, fingerprint
from services.eadmin.archive import (
    ACCOUNTING,
    RETENTION,
    ArchivedAct,
    DestructionApproval,
    destroy_after,
    export_package,
    may_destroy,
    seda_manifest,
)

NS = {"s": "fr:gouv:culture:archivesdefrance:seda:v2.1"}
ARCHIVED_ON = date(2024, 3, 1)
AT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
ACT_PDF, ANNEX_PDF = b"%PDF-1.7 the act, signed", b"%PDF-1.7 an annex"
ENTRY = ArchivedAct(
    identifier="034-213401722-20240212-2024_12-DE",
    nature="DE",
    number="2024_12",
    subject="Tarifs de la médiathèque",
    decided_on=date(2024, 2, 12),
    acknowledged_on=date(2024, 2, 14),
    archived_on=ARCHIVED_ON,
    commune_name="Grabels",
    commune_siren="213401722",
    archival_agency="FRAD034",
)


def _files(act=ACT_PDF, annex=ANNEX_PDF):
    return [
        {"role": "act", "file_name": "deliberation.pdf", "sha256": fingerprint(act),
         "size": len(act)},
        {"role": "annex", "file_name": "grille tarifaire.pdf", "sha256": fingerprint(annex),
         "size": len(annex)},
    ]


def _visa(visa_on):
    return DestructionApproval("Marie Durand, archiviste", "AD34-ELIM-2034-017", visa_on)


# -- retention --------------------------------------------------------------------------------


def test_acts_are_kept_permanently_and_accounting_pieces_ten_years():
    assert RETENTION == {"DE": None, "AR": None, "AI": None, "CC": None, "BF": None,
                         "AU": None, ACCOUNTING: 10}


@pytest.mark.parametrize(
    "kind, archived_on, keep_until",
    [
        ("DE", ARCHIVED_ON, None),
        ("AR", ARCHIVED_ON, None),
        ("AI", ARCHIVED_ON, None),
        ("BF", ARCHIVED_ON, None),
        (ACCOUNTING, date(2024, 3, 1), date(2034, 2, 28)),
        (ACCOUNTING, date(2024, 1, 1), date(2033, 12, 31)),
        (ACCOUNTING, date(2024, 12, 31), date(2034, 12, 30)),
        # 29 February: its anniversary in a common year is taken as 1 March.
        (ACCOUNTING, date(2024, 2, 29), date(2034, 2, 28)),
        (ACCOUNTING, date(2028, 2, 29), date(2038, 2, 28)),
    ],
)
def test_the_last_day_of_retention(kind, archived_on, keep_until):
    assert destroy_after(kind, archived_on) == keep_until


@pytest.mark.parametrize(
    "today, allowed",
    [
        (date(2034, 2, 27), False),  # 9 years 363 days
        (date(2034, 2, 28), False),  # 9 years 364 days: the last day of retention
        (date(2034, 3, 1), True),  # 10 years
        (date(2034, 3, 2), True),
        (date(2050, 1, 1), True),
    ],
)
def test_accounting_pieces_may_be_destroyed_from_ten_full_years(today, allowed):
    approval = _visa(date(2034, 3, 1))
    if allowed:
        may_destroy(ACCOUNTING, ARCHIVED_ON, today, approval)
    else:
        with pytest.raises(Conflict, match="kept until 28/02/2034"):
            may_destroy(ACCOUNTING, ARCHIVED_ON, today, approval)


@pytest.mark.parametrize("kind", ["DE", "AR", "AI", "CC", "BF", "AU"])
def test_acts_are_never_destroyed_even_with_a_visa(kind):
    with pytest.raises(Conflict, match="permanently"):
        may_destroy(kind, ARCHIVED_ON, date(2100, 1, 1), _visa(date(2099, 1, 1)))


@pytest.mark.parametrize(
    "approval, message",
    [
        (None, "visa of the archives départementales"),
        (DestructionApproval("", "AD34-ELIM-2034-017", date(2034, 3, 1)), "visa"),
        (DestructionApproval("Marie Durand", "  ", date(2034, 3, 1)), "visa"),
        (DestructionApproval("Marie Durand", "AD34-1", date(2034, 3, 3)), "after today"),
        (DestructionApproval("Marie Durand", "AD34-1", date(2034, 2, 28)), "predates the end"),
    ],
)
def test_past_retention_destruction_still_needs_a_recorded_visa(approval, message):
    with pytest.raises(Conflict, match=message):
        may_destroy(ACCOUNTING, ARCHIVED_ON, date(2034, 3, 2), approval)


# -- SEDA 2.1 manifest and export package ------------------------------------------------------


def _manifest(entry=ENTRY, files=None):
    return etree.fromstring(seda_manifest(entry, files or _files(), at=AT))


def _text(tree, path):
    return tree.findtext(path, namespaces=NS)


def test_the_manifest_is_a_seda_2_1_archive_transfer_in_schema_order():
    tree = _manifest()
    assert tree.tag == "{fr:gouv:culture:archivesdefrance:seda:v2.1}ArchiveTransfer"
    assert [etree.QName(child).localname for child in tree] == [
        "Date", "MessageIdentifier", "CodeListVersions", "DataObjectPackage",
        "ArchivalAgency", "TransferringAgency"]
    assert _text(tree, "s:Date") == "2024-03-01T09:30:00+00:00"
    assert _text(tree, "s:MessageIdentifier") == ENTRY.identifier
    assert _text(tree, "s:ArchivalAgency/s:Identifier") == "FRAD034"
    assert _text(tree, "s:TransferringAgency/s:Identifier") == "213401722"
    package = tree.find("s:DataObjectPackage", NS)
    assert [etree.QName(child).localname for child in package] == [
        "BinaryDataObject", "BinaryDataObject", "DescriptiveMetadata", "ManagementMetadata"]


def test_each_file_is_a_binary_data_object_with_its_sha256_and_size():
    objects = _manifest().findall("s:DataObjectPackage/s:BinaryDataObject", NS)
    assert [o.get("id") for o in objects] == ["BDO1", "BDO2"]
    act, annex = objects
    assert [etree.QName(child).localname for child in act] == [
        "DataObjectVersion", "Uri", "MessageDigest", "Size", "FormatIdentification", "FileInfo"]
    assert _text(act, "s:Uri") == "content/01_deliberation.pdf"
    assert _text(annex, "s:Uri") == "content/02_grille_tarifaire.pdf"
    assert act.find("s:MessageDigest", NS).get("algorithm") == "SHA-256"
    assert _text(act, "s:MessageDigest") == fingerprint(ACT_PDF)
    assert _text(act, "s:Size") == str(len(ACT_PDF))
    assert _text(act, "s:FormatIdentification/s:MimeType") == "application/pdf"
    assert _text(annex, "s:FileInfo/s:Filename") == "grille tarifaire.pdf"


def test_the_act_is_described_with_its_acknowledgement_and_files():
    unit = _manifest().find("s:DataObjectPackage/s:DescriptiveMetadata/s:ArchiveUnit", NS)
    content = unit.find("s:Content", NS)
    assert _text(content, "s:Title") == "Tarifs de la médiathèque"
    assert _text(content, "s:OriginatingAgencyArchiveUnitIdentifier") == ENTRY.identifier
    assert _text(content, "s:Description") == "Délibération n° 2024_12 du 12/02/2024"
    history = content.findall("s:CustodialHistory/s:CustodialHistoryItem", NS)
    assert history[0].get("when") == "2024-02-14"
    assert "accusé de réception du 14/02/2024" in history[0].text
    assert _text(content, "s:OriginatingAgency/s:Identifier") == "213401722"
    assert _text(content, "s:StartDate") == "2024-02-12T00:00:00"
    children = unit.findall("s:ArchiveUnit", NS)
    assert [_text(c, "s:Content/s:Title") for c in children] == [
        "Délibération", "Annexe grille tarifaire.pdf"]
    assert [_text(c, "s:DataObjectReference/s:DataObjectReferenceId") for c in children] == [
        "BDO1", "BDO2"]


@pytest.mark.parametrize(
    "nature, final_action",
    [("DE", "Keep"), ("AR", "Keep"), ("AI", "Keep"), ("CC", "Keep"), ("BF", "Keep"),
     ("AU", "Keep")],
)
def test_the_appraisal_rule_follows_the_nature(nature, final_action):
    entry = ArchivedAct(**{**vars(ENTRY), "nature": nature})
    rule = _manifest(entry).find("s:DataObjectPackage/s:ManagementMetadata/s:AppraisalRule", NS)
    assert _text(rule, "s:Rule") == "APP-1Y"  # DUA 1 year, then kept (2009/018)
    assert _text(rule, "s:StartDate") == "2024-03-01"
    assert _text(rule, "s:FinalAction") == final_action


def test_the_export_package_holds_the_manifest_and_every_file(tmp_path):
    store = FileStore(tmp_path)
    store.put(ACT_PDF)
    store.put(ANNEX_PDF)
    package = zipfile.ZipFile(BytesIO(export_package(ENTRY, _files(), store, at=AT)))
    assert package.namelist() == [
        "manifest.xml", "content/01_deliberation.pdf", "content/02_grille_tarifaire.pdf"]
    manifest = etree.fromstring(package.read("manifest.xml"))
    for data_object in manifest.findall("s:DataObjectPackage/s:BinaryDataObject", NS):
        content = package.read(_text(data_object, "s:Uri"))
        assert fingerprint(content) == _text(data_object, "s:MessageDigest")
        assert len(content) == int(_text(data_object, "s:Size"))
    assert package.getinfo("manifest.xml").date_time == (2024, 3, 1, 9, 30, 0)


def test_an_altered_file_is_not_exported(tmp_path):
    store = FileStore(tmp_path)
    store.put(ANNEX_PDF)
    sha256 = store.put(ACT_PDF)
    (tmp_path / sha256[:2] / sha256[2:]).write_bytes(ACT_PDF.replace(b"act", b"ACT"))
    with pytest.raises(AlteredFile):
        export_package(ENTRY, _files(), store, at=AT)
