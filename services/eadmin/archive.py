"""The electronic archive of acknowledged acts (rule R4): their files kept by SHA-256 fingerprint
and checked byte for byte, how long each kind is kept, the approval any destruction needs, and a
SEDA 2.1 transfer package for the archives' own electronic archiving system (SAE).

Acts, annexes and the prefecture's acknowledgement are public archives (Code du patrimoine
L211-4). Their retention follows the instructions of the Archives de France for communes:
DAF/DPACI/RES/2009/018 (acts and deliberations) and DAF/DPACI/RES/2008/008 (the ordonnateur's
accounting pieces). None of them is destroyed without the visa of the director of the archives
départementales (L212-2, R212-14): the approval is recorded with the destruction.

Pure module; the files live in a ``servicekit.files.FileStore``, the entries in the service.
"""

import mimetypes
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from io import BytesIO

from lxml import etree
from lxml.builder import ElementMaker

from contracts.errors import Conflict
from services.eadmin.acts import NATURES

# -- retention (R4) -----------------------------------------------------------------------------

KEEP, DESTROY = "Keep", "Destroy"  # SEDA's FinalAction: the archivists' C and D
ACCOUNTING = "accounting"

# Durée d'utilité administrative in years, then the final sort, by @ctes nature (and for the
# ordonnateur's accounting pieces sent through Hélios).
APPRAISAL = {
    # DAF/DPACI/RES/2009/018: the registers of délibérations and of the mayor's arrêtés
    # (réglementaires and individuels alike): 1 year, then kept permanently.
    "DE": (1, KEEP),
    "AR": (1, KEEP),
    "AI": (1, KEEP),
    # Same instruction: contracts, conventions and other pieces annexed to a délibération are
    # kept with it. A CC act is transmitted because the council decided it.
    "CC": (1, KEEP),
    # Budgets and comptes administratifs are council deliberations too: kept permanently (the
    # 10 years of R4 are the accounting pieces', below).
    "BF": (1, KEEP),
    # "Autre" says nothing of what the act is: nothing is destroyed on a guess, and an
    # archivist may still sort it out with the archives départementales' visa.
    "AU": (1, KEEP),
    # DAF/DPACI/RES/2008/008: titres, mandats, their bordereaux-journaux and invoices held by
    # the ordonnateur: 10 years, then destroyed.
    ACCOUNTING: (10, DESTROY),
}
# Years before destruction may be considered; None: kept permanently.
RETENTION = {kind: years if action == DESTROY else None
             for kind, (years, action) in APPRAISAL.items()}


def destroy_after(kind, archived_on):
    """The last day ``kind`` must be kept when archived on ``archived_on``, or None when it is
    kept permanently; destruction may be considered from the next day, once the whole
    durée d'utilité administrative has run (DAF/DPACI/RES/2009/018, 2008/008)."""
    years = RETENTION[kind]
    if years is None:
        return None
    return _anniversary(archived_on, years) - timedelta(days=1)


@dataclass(frozen=True)
class DestructionApproval:
    """The visa of the director of the archives départementales on the bordereau
    d'élimination (Code du patrimoine R212-14): who recorded it, the visa's reference and
    date. The service stores it with the destroyed entry as the certificate of destruction."""

    recorded_by: str
    visa_reference: str
    visa_on: date


def may_destroy(kind, archived_on, today, approval):
    """Refuse (``Conflict``) the destruction of an archived ``kind`` unless it is not kept
    permanently, its retention has run by ``today``, and a visa of the archives départementales
    given after that retention and not in the future is recorded (L212-2, R212-14)."""
    keep_until = destroy_after(kind, archived_on)
    if keep_until is None:
        raise Conflict(f"{_kind_label(kind)} is kept permanently; it is never destroyed.")
    if today <= keep_until:
        raise Conflict(f"{_kind_label(kind)} is kept until {keep_until:%d/%m/%Y}.")
    if approval is None or not approval.recorded_by.strip() or not approval.visa_reference.strip():
        raise Conflict("No destruction without the visa of the archives départementales: "
                       "record who gives it and its reference.")
    if approval.visa_on > today:
        raise Conflict(f"The visa is dated {approval.visa_on:%d/%m/%Y}, after today.")
    # A visa signed while the document was still within its retention cannot have covered it.
    if approval.visa_on <= keep_until:
        raise Conflict(f"The visa of {approval.visa_on:%d/%m/%Y} predates the end of the "
                       f"retention ({keep_until:%d/%m/%Y}).")


def _anniversary(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        # 29 February in a common year: 1 March, the later reading, so that nothing is
        # destroyed a day early.
        return date(day.year + years, 3, 1)


def _kind_label(kind):
    return "Accounting piece" if kind == ACCOUNTING else NATURES[kind]


# -- SEDA 2.1 transfer -------------------------------------------------------------------------

SEDA_NAMESPACE = "fr:gouv:culture:archivesdefrance:seda:v2.1"
SEDA = ElementMaker(namespace=SEDA_NAMESPACE, nsmap={None: SEDA_NAMESPACE})
CONTENT_DIR = "content"
MANIFEST_NAME = "manifest.xml"


@dataclass(frozen=True)
class ArchivedAct:
    """What a transfer says of an archived act. ``identifier`` is its @ctes identifier
    (``DPT-SIREN-DATE-NUMBER-NATURE``); the commune, by its SIREN, produced and transfers it;
    ``archival_agency`` identifies the archives service that receives it (e.g. the archives
    départementales' code)."""

    identifier: str
    nature: str
    number: str
    subject: str
    decided_on: date
    acknowledged_on: date
    archived_on: date
    commune_name: str
    commune_siren: str
    archival_agency: str


def seda_manifest(entry, files, at=None):
    """The SEDA 2.1 ``ArchiveTransfer`` message for ``entry`` (an ``ArchivedAct``) and its
    ``files``: mappings with ``role`` (``act`` or an annex), ``file_name``, ``sha256`` and
    ``size``, as the archive entry lists them. ``at``: the message's time, now by default.

    One ArchiveUnit for the act (title, @ctes identifier, the AR in its custodial history, the
    decision date), one child per file pointing at its BinaryDataObject; the appraisal rule of
    its kind (R4) as the package's management metadata. Elements follow the schema's order.
    """
    at = at or datetime.now(UTC)
    objects, units = [], []
    for position, file in enumerate(files, start=1):
        object_id = f"BDO{position}"
        objects.append(SEDA.BinaryDataObject(
            SEDA.DataObjectVersion("BinaryMaster_1"),
            SEDA.Uri(_package_path(position, file["file_name"])),
            SEDA.MessageDigest(file["sha256"], algorithm="SHA-256"),
            SEDA.Size(str(file["size"])),
            SEDA.FormatIdentification(SEDA.MimeType(_mime_type(file["file_name"]))),
            SEDA.FileInfo(SEDA.Filename(file["file_name"])),
            id=object_id,
        ))
        title = NATURES[entry.nature] if file["role"] == "act" else f"Annexe {file['file_name']}"
        units.append(SEDA.ArchiveUnit(
            SEDA.Content(SEDA.DescriptionLevel("Item"), SEDA.Title(title)),
            SEDA.DataObjectReference(SEDA.DataObjectReferenceId(object_id)),
            id=f"AU{position}",
        ))
    dua_years, final_action = APPRAISAL[entry.nature]
    act = SEDA.ArchiveUnit(
        SEDA.Content(
            SEDA.DescriptionLevel("File"),
            SEDA.Title(entry.subject),
            SEDA.OriginatingAgencyArchiveUnitIdentifier(entry.identifier),
            SEDA.Description(f"{NATURES[entry.nature]} n° {entry.number} "
                             f"du {entry.decided_on:%d/%m/%Y}"),
            SEDA.CustodialHistory(
                SEDA.CustodialHistoryItem(
                    f"Transmis au représentant de l'État (contrôle de légalité, @ctes), "
                    f"accusé de réception du {entry.acknowledged_on:%d/%m/%Y}.",
                    when=entry.acknowledged_on.isoformat()),
                SEDA.CustodialHistoryItem(
                    f"Archivé par {entry.commune_name} le {entry.archived_on:%d/%m/%Y}.",
                    when=entry.archived_on.isoformat()),
            ),
            SEDA.DocumentType(NATURES[entry.nature]),
            SEDA.OriginatingAgency(SEDA.Identifier(entry.commune_siren)),
            SEDA.StartDate(f"{entry.decided_on.isoformat()}T00:00:00"),
        ),
        *units,
        id="AU0",
    )
    message = SEDA.ArchiveTransfer(
        SEDA.Date(at.isoformat(timespec="seconds")),
        SEDA.MessageIdentifier(entry.identifier),
        # The one code list the schema requires: the digest algorithms' (SHA-256 here).
        SEDA.CodeListVersions(
            SEDA.MessageDigestAlgorithmCodeListVersion("MessageDigestAlgorithmCodeListVersion0")),
        SEDA.DataObjectPackage(
            *objects,
            SEDA.DescriptiveMetadata(act),
            SEDA.ManagementMetadata(
                SEDA.OriginatingAgencyIdentifier(entry.commune_siren),
                SEDA.SubmissionAgencyIdentifier(entry.commune_siren),
                SEDA.AppraisalRule(
                    # Rule identifiers name the duration; the SAE maps them to its referential.
                    SEDA.Rule(f"APP-{dua_years}Y"),
                    SEDA.StartDate(entry.archived_on.isoformat()),
                    SEDA.FinalAction(final_action),
                ),
            ),
        ),
        SEDA.ArchivalAgency(SEDA.Identifier(entry.archival_agency)),
        SEDA.TransferringAgency(SEDA.Identifier(entry.commune_siren)),
    )
    return etree.tostring(message, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def export_package(entry, files, store, at=None):
    """A zip for the SAE: ``manifest.xml`` (``seda_manifest``) and each file under
    ``content/``, read from ``store``, which refuses an altered file (``AlteredFile``) rather
    than export content its manifest's digest would contradict."""
    at = at or datetime.now(UTC)
    stamp = at.timetuple()[:6]  # zip members carry the package's time, not the export host's
    output = BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(zipfile.ZipInfo(MANIFEST_NAME, stamp), seda_manifest(entry, files, at),
                         zipfile.ZIP_DEFLATED)
        for position, file in enumerate(files, start=1):
            package.writestr(zipfile.ZipInfo(_package_path(position, file["file_name"]), stamp),
                             store.get(file["sha256"]), zipfile.ZIP_DEFLATED)
    return output.getvalue()


def _package_path(position, file_name):
    # Uploaded names may repeat or carry separators: the position keeps members apart and
    # only a safe alphabet reaches the zip; FileInfo/Filename keeps the original name.
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", file_name).lstrip(".") or "file"
    return f"{CONTENT_DIR}/{position:02d}_{safe}"


def _mime_type(file_name):
    return mimetypes.guess_type(file_name)[0] or "application/octet-stream"
