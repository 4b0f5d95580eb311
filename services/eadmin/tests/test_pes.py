"""PES Aller and PES Acquit (services/eadmin/pes.py)."""

import base64

import pytest
from lxml import etree

from services.eadmin import pes
from services.eadmin.tests.pes_samples import BORDEREAU, BUDGET, sample_pes


def value(root, path):
    return root.find(path).get("V")


def test_a_bordereau_of_titres_becomes_a_pes_aller_with_its_header_and_pieces():
    flow = sample_pes()
    assert flow.name == "PESALR2_21340134200017_01_2022_titres_12.xml"
    assert flow.content.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    root = etree.fromstring(flow.content)
    assert root.tag == f"{{{pes.ALLER_NAMESPACE}}}PES_Aller"
    assert value(root, "Enveloppe/Parametres/NomFic") == flow.name
    assert [value(root, f"EnTetePES/{name}") for name in
            ("DteStr", "IdPost", "IdColl", "CodCol", "CodBud")] == [
        "2022-03-02", "034045", "21340134200017", "134", "01"]
    block = root.find("PES_RecetteAller/Bordereau")
    assert [value(block, f"BlocBordereau/{n}") for n in ("Exer", "IdBord", "NbrPce", "MtBordHT")
            ] == ["2022", "12", "1", "150.11"]
    piece = block.find("Piece")
    assert value(piece, "BlocPiece/InfoPce/ObjPce") == "Cantine scolaire, mars 2022"
    assert [value(line, "BlocLignePiece/InfoLignePce/MtHT")
            for line in piece.iterfind("LigneDePiece")] == ["120.50", "29.61"]
    assert root.find("PES_DepenseAller") is None


def test_the_supporting_documents_travel_in_pes_pj_under_the_id_their_piece_names():
    root = etree.fromstring(sample_pes().content)
    reference = root.find("PES_RecetteAller/Bordereau/Piece/BlocPiece/InfoPce/PJRef")
    (document,) = root.iterfind("PES_PJ/PJ")
    assert value(document, "IdUnique") == value(reference, "IdUnique")
    assert value(document, "NomPJ") == "facture-mars.pdf"
    content = document.find("Contenu/Fichier")
    assert content.get("MIMEType") == "application/pdf"
    assert base64.b64decode(content.text) == b"%PDF-1.4 facture"


def test_a_bordereau_of_mandats_goes_in_the_expense_block():
    from dataclasses import replace

    flow = pes.build_pes_aller(BUDGET, replace(BORDEREAU, kind=pes.MANDATS), BORDEREAU.issued_on)
    root = etree.fromstring(flow.content)
    assert root.find("PES_DepenseAller/EnTeteDepense/IdVer") is not None
    assert root.find("PES_RecetteAller") is None
    with pytest.raises(ValueError, match="titres or mandats"):
        pes.build_pes_aller(BUDGET, replace(BORDEREAU, kind="factures"), BORDEREAU.issued_on)


def test_the_file_name_a_pes_declares_is_read_back():
    flow = sample_pes()
    assert pes.read_file_name(flow.content) == flow.name
    assert pes.read_file_name(pes.build_acquit(flow.name)) is None


def test_an_acquit_says_ack_or_nack_with_the_accountants_reasons():
    ack = pes.parse_acquit(pes.build_acquit("PES.xml"))
    assert (ack.file_name, ack.accepted, ack.verdict, ack.errors) == ("PES.xml", True, "ACK", ())
    nack = pes.parse_acquit(pes.build_acquit("PES.xml", accepted=False,
                                             errors=["Bordereau 12 : montant incohérent"]))
    assert (nack.verdict, nack.errors) == ("NACK", ("Bordereau 12 : montant incohérent",))
    with pytest.raises(ValueError):
        pes.parse_acquit(sample_pes().content)
