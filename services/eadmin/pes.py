"""PES V2 (DGFiP Hélios): a bordereau of titres or mandats sent to the public accountant as a
PES Aller, and the accountant's PES Acquit (ACK or NACK) back.

The DGFiP's XSD is not in this repository: ``build_pes_aller`` writes the documented shape of
a PES Aller (PES_V2 Rev0, as S2LOW ships it: libriciel/s2low › xsd/helios/PES_V2/Rev0/
PES_Aller.xsd), root ``PES_Aller`` in ``http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller``
with unqualified children, each value in a ``V`` attribute: ``Enveloppe/Parametres`` (version,
file type, ``NomFic``), ``EnTetePES`` (``DteStr``, ``IdPost``, ``IdColl``, ``CodCol``,
``CodBud``, ``LibelleColBud``), ``PES_RecetteAller`` (titres) or ``PES_DepenseAller`` (mandats)
with one ``Bordereau`` (``BlocBordereau``, then each ``Piece`` with ``InfoPce`` and its
``PJRef`` and ``LigneDePiece``), and ``PES_PJ`` carrying the supporting documents in base64.
It is the minimum an accountant's reader needs, not a validated flow; the ordonnateur's XAdES
signature (``PESSignatureGroup``) is not written here.

The PES Acquit's reading (``parse_acquit``) takes ``EtatAck`` 1 as accepted, anything else as
refused with its ``LibelleAnoAck``s (unverified against PES_Ack.xsd / PES_Nack.xsd).
"""

import base64
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lxml import etree

ALLER_NAMESPACE = "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller"
ACQUIT_NAMESPACE = "http://www.minefi.gouv.fr/cp/helios/pes/Rev0/aller"
ENCODING = "ISO-8859-1"
PES_VERSION = "2"
TITRES, MANDATS = "titres", "mandats"
# Per kind of bordereau: its block, and its header's.
_BLOCKS = {TITRES: ("PES_RecetteAller", "EnTeteRecette"),
           MANDATS: ("PES_DepenseAller", "EnTeteDepense")}
ACCEPTED = "1"
ACK, NACK = "ACK", "NACK"


@dataclass(frozen=True)
class Budget:
    """The budget the bordereau belongs to, as the DGFiP's adhesion form names it."""

    id_coll: str  # the ordonnateur's SIRET
    cod_col: str  # collectivity code given by the DGFiP
    cod_bud: str  # budget code (01: main budget)
    id_post: str  # the public accountant's post (trésorerie)
    label: str


@dataclass(frozen=True)
class Attachment:
    """A supporting document (PJ) of a piece."""

    file_name: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class Line:
    account: str  # the M14/M57 nature account (7062, 6064…)
    amount: Decimal  # excluding tax
    party: str  # the debtor of a titre, the creditor of a mandat


@dataclass(frozen=True)
class Piece:
    number: int
    subject: str
    lines: tuple
    attachments: tuple = ()


@dataclass(frozen=True)
class Bordereau:
    kind: str  # TITRES or MANDATS
    year: int
    number: int
    issued_on: date
    pieces: tuple = field(default_factory=tuple)

    @property
    def total(self):
        return sum((line.amount for piece in self.pieces for line in piece.lines), Decimal(0))


@dataclass(frozen=True)
class PesFile:
    name: str
    content: bytes


@dataclass(frozen=True)
class Acquit:
    """The accountant's answer to a PES Aller: ACK (every domain accepted) or NACK, and why."""

    file_name: str | None
    accepted: bool
    errors: tuple

    @property
    def verdict(self):
        return ACK if self.accepted else NACK


def file_name(budget, bordereau):
    """``NomFic``: the ordonnateur's, unique per flow; only characters S2LOW keeps."""
    name = (f"PESALR2_{budget.id_coll}_{budget.cod_bud}_{bordereau.year}_{bordereau.kind}"
            f"_{bordereau.number}.xml")
    return re.sub(r"[^A-Za-z0-9._\- ]", "_", name)


def build_pes_aller(budget, bordereau, created_on):
    """The PES Aller of one bordereau, its pieces and their supporting documents."""
    if bordereau.kind not in _BLOCKS:
        raise ValueError(f"a bordereau of {TITRES} or {MANDATS}, not {bordereau.kind!r}")
    name = file_name(budget, bordereau)
    root = etree.Element(f"{{{ALLER_NAMESPACE}}}PES_Aller", nsmap={"n": ALLER_NAMESPACE})
    parameters = _node(_node(root, "Enveloppe"), "Parametres")
    _value(parameters, "Version", PES_VERSION)
    _value(parameters, "TypFic", "PESALR2")
    _value(parameters, "NomFic", name)
    header = _node(root, "EnTetePES")
    _value(header, "DteStr", created_on.isoformat())
    _value(header, "IdPost", budget.id_post)
    _value(header, "IdColl", budget.id_coll)
    _value(header, "CodCol", budget.cod_col)
    _value(header, "CodBud", budget.cod_bud)
    _value(header, "LibelleColBud", budget.label)
    block_name, header_name = _BLOCKS[bordereau.kind]
    block = _node(root, block_name)
    _value(_node(block, header_name), "IdVer", PES_VERSION)
    listed = _node(block, "Bordereau")
    summary = _node(listed, "BlocBordereau")
    _value(summary, "Exer", str(bordereau.year))
    _value(summary, "IdBord", str(bordereau.number))
    _value(summary, "DteBordEm", bordereau.issued_on.isoformat())
    _value(summary, "NbrPce", str(len(bordereau.pieces)))
    _value(summary, "MtBordHT", _amount(bordereau.total))
    attachments = []
    for piece in bordereau.pieces:
        info = _node(_node(_node(listed, "Piece"), "BlocPiece"), "InfoPce")
        _value(info, "IdPce", str(piece.number))
        _value(info, "ObjPce", piece.subject)
        for attachment in piece.attachments:
            unique_id = _attachment_id(bordereau, piece, len(attachments))
            reference = _node(info, "PJRef")
            _value(reference, "IdUnique", unique_id)
            _value(reference, "NomPJ", attachment.file_name)
            attachments.append((unique_id, attachment))
        piece_node = info.getparent().getparent()
        for number, line in enumerate(piece.lines, start=1):
            detail = _node(piece_node, "LigneDePiece")
            info_line = _node(_node(detail, "BlocLignePiece"), "InfoLignePce")
            _value(info_line, "IdLigne", str(number))
            _value(info_line, "Nature", line.account)
            _value(info_line, "MtHT", _amount(line.amount))
            _value(_node(_node(detail, "Tiers"), "InfoTiers"), "Nom", line.party)
    if attachments:
        documents = _node(root, "PES_PJ")
        _value(_node(documents, "EnTetePES_PJ"), "IdVer", "1")
        for unique_id, attachment in attachments:
            document = _node(documents, "PJ")
            content = _node(_node(document, "Contenu"), "Fichier",
                            base64.b64encode(attachment.content).decode("ascii"))
            content.set("MIMEType", attachment.mime_type)
            _value(document, "IdUnique", unique_id)
            _value(document, "NomPJ", attachment.file_name)
    return PesFile(name, _serialise(root))


def read_file_name(content):
    """The ``NomFic`` a PES Aller declares, or None if it is not one."""
    root = _parse(content)
    if root.tag != f"{{{ALLER_NAMESPACE}}}PES_Aller":
        return None
    found = root.find("Enveloppe/Parametres/NomFic")
    return found.get("V") if found is not None else None


def build_acquit(file_name, accepted=True, errors=()):
    """A PES Acquit for ``file_name``: the local prefecture's answer (``prefecture_sandbox``)."""
    root = etree.Element(f"{{{ACQUIT_NAMESPACE}}}PES_Acquit", nsmap={"n": ACQUIT_NAMESPACE})
    parameters = _node(_node(root, "Enveloppe"), "Parametres")
    _value(parameters, "Version", PES_VERSION)
    _value(parameters, "NomFic", file_name)
    acquit = _node(root, "ACQUIT")
    element = _node(acquit, "ElementACQUIT")
    _value(element, "EtatAck", ACCEPTED if accepted else "2")
    for number, error in enumerate(errors, start=1):
        anomaly = _node(_node(element, "DetailPiece"), "Erreur")
        _value(anomaly, "NumAnoAck", str(number))
        _value(anomaly, "LibelleAnoAck", error)
    return _serialise(root)


def parse_acquit(content):
    """The ``Acquit`` a PES Acquit says; ``ValueError`` if it is not one."""
    root = _parse(content)
    if etree.QName(root).localname != "PES_Acquit":
        raise ValueError(f"not a PES Acquit: {root.tag}")
    states = [found.get("V") for found in root.iter("EtatAck")]
    named = root.find("Enveloppe/Parametres/NomFic")
    return Acquit(
        file_name=named.get("V") if named is not None else None,
        accepted=bool(states) and all(state == ACCEPTED for state in states),
        errors=tuple(found.get("V") for found in root.iter("LibelleAnoAck")),
    )


def _parse(content):
    try:
        return etree.fromstring(content, etree.XMLParser(resolve_entities=False,
                                                         no_network=True, huge_tree=True))
    except etree.XMLSyntaxError as error:
        raise ValueError(f"not XML: {error}") from None


def _attachment_id(bordereau, piece, index):
    return f"{bordereau.year}-{bordereau.kind}-{bordereau.number}-{piece.number}-{index + 1}"


def _node(parent, name, text=None):
    child = etree.SubElement(parent, name)
    child.text = text
    return child


def _value(parent, name, value):
    """PES writes every value in a ``V`` attribute."""
    return etree.SubElement(parent, name, V=value)


def _amount(amount):
    return f"{Decimal(amount):.2f}"


def _serialise(root):
    return etree.tostring(root, xml_declaration=True, encoding=ENCODING)
