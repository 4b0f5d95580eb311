"""What the local prefecture checks in an @ctes archive before taking it, as S2LOW does on
import (libriciel/s2low › ActesEnvelope.class.php: ``importArchiveFile``, ``processXMLEnvelope``):
a gzipped tar named ``OPR-EACT--SIREN--DATE-N.tar.gz`` (OPR: the operator's three-letter code,
SLO for ours) holding its envelope ``EACT--….xml``,
well-formed, rooted ``EnveloppeCLMISILL`` in the @ctes namespace, whose forms are there and
are ``Acte`` messages named ``DPT-SIREN-DATE-NUMBER-NATURE-1-1_0.xml`` for the envelope's SIREN,
with every file they name in the archive."""

import io
import tarfile
from dataclasses import dataclass

from lxml import etree

from services.eadmin.actes import ARCHIVE_NAME, MESSAGE_NAME, NAMESPACE, TRANSMISSION

_NS = {"actes": NAMESPACE, "insee": "http://xml.insee.fr/schema"}
MAX_ARCHIVE_BYTES = 150 * 1024 * 1024


@dataclass(frozen=True)
class Checked:
    """An archive's acts (their identifiers), or why it is refused."""

    identifiers: tuple = ()
    problem: str | None = None


def check_archive(name, content):
    if len(content) > MAX_ARCHIVE_BYTES:
        return Checked(problem=f"La taille de l'archive est trop élevée, {len(content)} octets")
    matched = ARCHIVE_NAME.match(name or "")
    if not matched:
        return Checked(problem=f"Nom d'archive non conforme : {name}")
    try:
        members = _members(content)
    except (tarfile.TarError, EOFError, OSError):
        return Checked(problem="Mauvais format de l'archive (.tar.gz requis).")
    envelope_name = f"{matched['envelope']}.xml"
    if envelope_name not in members:
        return Checked(problem="Impossible de trouver le fichier XML enveloppe correspondant "
                               "à l'archive.")
    envelope = _parse(members[envelope_name])
    if envelope is None or envelope.tag != f"{{{NAMESPACE}}}EnveloppeCLMISILL":
        return Checked(problem="Erreur lors de l'importation du fichier XML de l'enveloppe.")
    idcl = envelope.find("actes:Emetteur/actes:IDCL", _NS)
    siren = idcl.get(f"{{{_NS['insee']}}}SIREN") if idcl is not None else None
    if not siren or f"--{siren}--" not in envelope_name:
        return Checked(problem="Le numéro de SIREN contenu dans l'enveloppe ne correspond pas "
                               "à celui de l'archive.")
    forms = [found.text for found in envelope.iterfind(
        "actes:FormulairesEnvoyes/actes:Formulaire/actes:NomFichier", _NS)]
    if not forms:
        return Checked(problem="Pas de message dans l'enveloppe.")
    identifiers = []
    for form in forms:
        problem = _check_form(form, siren, members)
        if problem:
            return Checked(problem=problem)
        named = MESSAGE_NAME.match(form)
        identifiers.append("-".join(named[key] for key in
                                    ("dpt", "siren", "date", "number", "nature")))
    return Checked(identifiers=tuple(identifiers))


def _check_form(form, siren, members):
    named = MESSAGE_NAME.match(form or "")
    if not named or named["code"] != TRANSMISSION or named["siren"] != siren:
        return f"Nom de fichier de message non conforme : {form}"
    if form not in members:
        return f"Fichier {form} absent de l'archive"
    message = _parse(members[form])
    if message is None or message.tag != f"{{{NAMESPACE}}}Acte":
        return f"{form} n'est pas un message Acte @ctes"
    files = [found.text for found in message.iterfind(".//actes:NomFichier", _NS)]
    if not files:
        return f"{form} ne nomme aucun document"
    base = form.removesuffix("_0.xml")
    for file in files:
        if file not in members:
            return f"Fichier {file} absent de l'archive"
        # The typology comes first (99_DE-…), then the message's name and the file's rank.
        if file.partition("-")[2].rpartition("_")[0] != base:
            return f"Nom de fichier non conforme : {file}"
    return None


def _members(content):
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
        return {member.name: archive.extractfile(member).read()
                for member in archive.getmembers() if member.isfile()}


def _parse(content):
    try:
        return etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
