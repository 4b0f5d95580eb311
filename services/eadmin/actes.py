"""@ctes, the Ministry of the Interior's protocol for the legality control: the archive a
transmission platform (S2LOW) takes for an act, and the prefecture's messages back.

An act travels as ``SLO-EACT--SIREN--YYYYMMDD-N.tar.gz`` (SLO: S2LOW's operator trigram), a
gzipped tar holding the envelope ``EACT--SIREN--YYYYMMDD-N.xml`` (root ``EnveloppeCLMISILL``:
the sender's IDCL, its referent, the return addresses, the forms sent), the act's message
``DPT-SIREN-DATE-NUMBER-NATURE-1-1_0.xml`` (root ``Acte``: date, number, nature, subject,
classification, files) and the files, named after the message with their typology first
(``99_DE-034-…-1-1_1.pdf``). Every XML is in the namespace
``http://www.interieur.gouv.fr/ACTES#v1.1-20040216`` and encoded ISO-8859-1. Elements, names and
encoding follow S2LOW's generators (libriciel/s2low ›
public.ssl/modules/actes/class/ActesEnvelope.class.php, ActesTransactionXML.class.php); the
@ctes XSD (actesv1_1.xsd) is not in this repository, so nothing here is checked against it.

The prefecture's messages (``parse_message``) are read by their root element; their element
and attribute names (``ARActe`` with ``IDActe`` and ``DateReception``, ``CourrierSimple``,
``DemandePieceComplementaire``, ``LettreObservations``, ``DefereTA``, ``Annulation``,
``ARAnnulation``) are @ctes v1.1's as S2LOW-era code reads them, unverified against the XSD;
``build_message`` writes the same, for the local prefecture (``prefecture_sandbox``).
"""

import gzip
import io
import re
import tarfile
from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from servicekit.clock import LEGAL_TIME_ZONE
from services.eadmin.acts import NATURE_NUMBERS

NAMESPACE = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
INSEE_NAMESPACE = "http://xml.insee.fr/schema"
_NSMAP = {"actes": NAMESPACE, "insee": INSEE_NAMESPACE}
ENCODING = "ISO-8859-1"
# S2LOW's trigram: the archive's name starts with its transmission operator's.
OPERATOR = "SLO"
APPLICATION = "EACT"

# The typology S2LOW gives the act's own file when none is chosen (ActesTransaction:
# $correspondance_nature_type); the act's CodeNatureActe is ``acts.NATURE_NUMBERS``.
DOCUMENT_TYPES = {"DE": "99_DE", "AR": "99_AR", "AI": "99_AI", "CC": "99_DC", "BF": "99_BU",
                  "AU": "99_AU"}
# An annex of no stated typology: S2LOW's default for attachments.
ANNEX_TYPE = "99_AU"
# A commune in the IDCL's Nature (S2LOW's authority_type_id; unverified against @ctes' list).
COMMUNE_NATURE = "1"
# The 31 communes of the Metropole are all in the arrondissement of Montpellier (INSEE COG,
# arrondissement 343: department 34, arrondissement 3).
MONTPELLIER_ARRONDISSEMENT = "3"
# The roles of an act's files in the e-administration registry.
ACT_ROLE = "act"

# The message a commune sends with an act (1-1: transmission) and its file names' shape.
TRANSMISSION = "1-1"
MESSAGE_NAME = re.compile(
    r"^(?P<dpt>\d{3}|02[AB])-(?P<siren>\d{9})-(?P<date>\d{8})-(?P<number>[A-Z0-9_]{1,15})"
    r"-(?P<nature>DE|AR|AI|CC|BF|AU)-(?P<code>\d-\d)_0\.xml$")
ARCHIVE_NAME = re.compile(r"^[A-Z]{3}-(?P<envelope>EACT--\d{9}--\d{8}-\d+)\.tar\.gz$")

# The prefecture's messages: their @ctes code, root element and meaning.
MESSAGES = {
    "1-2": ("ARActe", "Accusé de réception"),
    "1-3": ("AnomalieActe", "Anomalie"),
    "2-1": ("CourrierSimple", "Courrier simple"),
    "3-1": ("DemandePieceComplementaire", "Demande de pièces complémentaires"),
    "4-1": ("LettreObservations", "Lettre d'observations"),
    "5-1": ("DefereTA", "Déféré au tribunal administratif"),
    "6-1": ("Annulation", "Annulation"),
    "6-2": ("ARAnnulation", "Accusé de réception d'annulation"),
}
_CODE_OF_ROOT = {root: code for code, (root, _) in MESSAGES.items()}
# Where each message says when and why (the first present is taken).
_DATE_ATTRIBUTES = ("DateReception", "DateCourrier", "DateDepot", "Date")
_TEXT_ELEMENTS = ("Motif", "Description", "NatureIllegalite", "Cause", "Objet")


@dataclass(frozen=True)
class Contact:
    """The envelope's referent: who at the commune answers the prefecture's questions."""

    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Transmission:
    """An act's @ctes archive, ready to post, and the names it carries."""

    archive_bytes: bytes
    archive_name: str
    identifier: str
    envelope_name: str
    message_name: str
    file_names: tuple


@dataclass(frozen=True)
class Message:
    """A prefecture message about an act: its @ctes code (``1-2`` AR, ``2-1``, ``3-1``…), the
    act it is about, its date, what it says, and its XML as received."""

    type: str
    act_identifier: str
    date: date | None
    text: str | None
    xml: bytes

    @property
    def label(self):
        return MESSAGES[self.type][1]

    def as_record(self):
        """What the registry keeps (JSON): everything but the raw XML's bytes, as text."""
        return {"type": self.type, "label": self.label, "act_identifier": self.act_identifier,
                "date": self.date.isoformat() if self.date else None, "text": self.text,
                "xml": self.xml.decode(ENCODING)}


def department_of(insee_code):
    """The three-character department @ctes writes: ``034`` for Hérault, ``02A`` for Corse-du-
    Sud, ``974`` for La Réunion."""
    return insee_code[:3] if insee_code.startswith("97") else f"0{insee_code[:2]}"


def act_identifier(department, siren, decided_on, number, nature):
    """``DPT-SIREN-DATE-NUMBER-NATURE``, the act's identifier at the prefecture, as its stamp
    shows it (``034-213401340-20220301-2022_12-DE``)."""
    return f"{department}-{siren}-{decided_on:%Y%m%d}-{number}-{nature}"


def build_transmission(act, commune, files, serial=1, sent_on=None, contact=None,
                       return_addresses=(), arrondissement=MONTPELLIER_ARRONDISSEMENT,
                       classification_on=None):
    """The @ctes archive of ``act`` (number, nature, subject, classification, decided_on) for
    ``commune`` (insee_code, name, siren). ``files``: ``(file, content)`` pairs whose ``file``
    has a ``role`` (``act`` for the act itself, else an annex) and a ``file_name``. ``serial``
    numbers the commune's envelopes of ``sent_on`` (today); ``classification_on`` is the date of
    the prefecture's classification the code comes from, when known."""
    if act.nature not in NATURE_NUMBERS:
        raise ValueError(f"unknown @ctes nature {act.nature!r}")
    sent_on = sent_on or datetime.now(LEGAL_TIME_ZONE).date()
    department = department_of(commune.insee_code)
    identifier = act_identifier(department, commune.siren, act.decided_on, act.number,
                                act.nature)
    base = f"{identifier}-{TRANSMISSION}"
    documents = sorted(files, key=lambda pair: pair[0].role != ACT_ROLE)  # the act first
    if not documents or documents[0][0].role != ACT_ROLE:
        raise ValueError("an act is transmitted with its own document")
    named = []
    for position, (file, content) in enumerate(documents, start=1):
        typology = DOCUMENT_TYPES[act.nature] if file.role == ACT_ROLE else ANNEX_TYPE
        named.append((f"{typology}-{base}_{position}{_extension(file.file_name)}", content))
    message_name = f"{base}_0.xml"
    envelope_name = f"{APPLICATION}--{commune.siren}--{sent_on:%Y%m%d}-{serial}.xml"
    contact = contact or Contact(name=commune.name)
    envelope = envelope_xml(commune.siren, department, arrondissement, contact,
                            return_addresses or ([contact.email] if contact.email else []),
                            [message_name])
    message = act_xml(act, [name for name, _ in named], classification_on)
    members = [(envelope_name, envelope), (message_name, message), *named]
    return Transmission(
        archive_bytes=_tar_gz(members, sent_on),
        archive_name=f"{OPERATOR}-{envelope_name.removesuffix('.xml')}.tar.gz",
        identifier=identifier,
        envelope_name=envelope_name,
        message_name=message_name,
        file_names=tuple(name for name, _ in named),
    )


def envelope_xml(siren, department, arrondissement, contact, return_addresses, forms):
    root = _element("EnveloppeCLMISILL", nsmap=_NSMAP)
    sender = _child(root, "Emetteur")
    _child(sender, "IDCL", attributes={
        f"{{{INSEE_NAMESPACE}}}SIREN": siren, _name("Departement"): department,
        _name("Arrondissement"): arrondissement, _name("Nature"): COMMUNE_NATURE,
    })
    referent = _child(sender, "Referent")
    _child(referent, "Nom", contact.name)
    if contact.phone:
        _child(referent, "Telephone", contact.phone)
    if contact.email:
        _child(referent, "Email", contact.email)
    if return_addresses:
        addresses = _child(root, "AdressesRetour")
        for address in dict.fromkeys(return_addresses):
            _child(addresses, "Email", address)
    sent = _child(root, "FormulairesEnvoyes")
    for form in forms:
        _child(_child(sent, "Formulaire"), "NomFichier", form)
    return _serialise(root)


def act_xml(act, file_names, classification_on=None):
    """The ``Acte`` message: ``file_names`` are the act's document, then its annexes."""
    root = _element("Acte", nsmap=_NSMAP, attributes={
        _name("Date"): act.decided_on.isoformat(),
        _name("NumeroInterne"): act.number,
        _name("CodeNatureActe"): str(NATURE_NUMBERS[act.nature]),
    })
    for level, code in enumerate(act.classification.split("."), start=1):
        _child(root, f"CodeMatiere{level}", attributes={_name("CodeMatiere"): code})
    _child(root, "Objet", act.subject)
    if classification_on:
        _child(root, "ClassificationDateVersion", classification_on.isoformat())
    _child(_child(root, "Document"), "NomFichier", file_names[0])
    annexes = _child(root, "Annexes", attributes={_name("Nombre"): str(len(file_names) - 1)})
    for name in file_names[1:]:
        _child(_child(annexes, "Annexe"), "NomFichier", name)
    return _serialise(root)


def build_message(code, act_identifier, on, text=None):
    """A prefecture message (``code`` in ``MESSAGES``) about an act, as ``parse_message`` reads
    it; the AR's date is its ``DateReception``, a letter's its ``DateCourrier``."""
    root_name, _ = MESSAGES[code]
    date_attribute = "DateReception" if code in ("1-2", "6-2") else "DateCourrier"
    root = _element(root_name, nsmap=_NSMAP, attributes={
        _name("IDActe"): act_identifier, _name(date_attribute): on.isoformat()})
    if text:
        _child(root, "Motif", text)
    return _serialise(root)


def parse_message(xml):
    """The ``Message`` a prefecture's XML says; ``ValueError`` if it is not one."""
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise ValueError(f"not XML: {error}") from None
    qualified = etree.QName(root)
    if qualified.namespace != NAMESPACE or qualified.localname not in _CODE_OF_ROOT:
        raise ValueError(f"not an @ctes message: {root.tag}")
    on = next((root.get(_name(a)) for a in _DATE_ATTRIBUTES if root.get(_name(a))), None)
    text = next((found.text.strip() for found in
                 (root.find(f"actes:{name}", _NSMAP) for name in _TEXT_ELEMENTS)
                 if found is not None and found.text and found.text.strip()), None)
    return Message(
        type=_CODE_OF_ROOT[qualified.localname],
        act_identifier=root.get(_name("IDActe")) or "",
        date=date.fromisoformat(on[:10]) if on else None,
        text=text,
        xml=xml,
    )


def _extension(file_name):
    suffix = file_name.rpartition(".")[2].lower() if "." in file_name else ""
    return f".{suffix}" if suffix.isalnum() else ".pdf"


def _name(local):
    return f"{{{NAMESPACE}}}{local}"


def _element(local, nsmap=None, attributes=None):
    return etree.Element(_name(local), attrib=attributes or {}, nsmap=nsmap)


def _child(parent, local, text=None, attributes=None):
    child = etree.SubElement(parent, _name(local), attrib=attributes or {})
    child.text = text
    return child


def _serialise(root):
    # Characters beyond Latin-1 (€, œ) become character references: still the same text.
    return etree.tostring(root, xml_declaration=True, encoding=ENCODING, pretty_print=True)


def _tar_gz(members, sent_on):
    """A gzipped tar of ``(name, content)``: the same bytes for the same act on the same day,
    so that a second build of it is recognisably the same archive."""
    moment = int(datetime.combine(sent_on, datetime.min.time(), LEGAL_TIME_ZONE).timestamp())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), moment, 0o644
            archive.addfile(info, io.BytesIO(content))
    return gzip.compress(buffer.getvalue(), mtime=moment)
