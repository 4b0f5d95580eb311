"""Titles and credit notes as EN 16931 CII e-invoices: what each field says, and the official
XSD of the Factur-X EN 16931 profile checking every document that leaves."""

from datetime import date
from decimal import Decimal

import pytest
from facturx import xml_check_xsd
from lxml import etree

from services.billing import einvoice, rules

D = Decimal
NS = einvoice.NAMESPACES
# Stands for the configured METROPOLE_SIRET: the Metropole's own is not in the reference data.
SELLER_SIRET = "24340001700006"
LAVERUNE = einvoice.Party("Lavérune", "213401342", "21340134200018")
SHARES = (
    rules.Line("eadmin", "Administration électronique : participation 2022 (Art. 4)", D(1),
               D("67.34"), D("67.34"), D("0.00"), "O"),
    rules.Line("eservices", "Services en ligne : participation 2022 (Art. 4)", D(1),
               D("46.49"), D("46.49"), D("0.00"), "O"),
    rules.Line("procurement", "Achats publics : participation 2022 (Art. 4)", D(1),
               D("36.28"), D("36.28"), D("0.00"), "O"),
)
EXTRA = rules.Line(None, "Formulaire supplémentaire", D("2.00"), D("333.33"), D("666.66"),
                   D("0.20"), "S")


def document(lines=SHARES, kind="title", buyer=LAVERUNE, **changes):
    net, vat, total = rules.totals(lines)
    terms = dict(
        number="2022-000001", kind=kind, issue_date=date(2022, 3, 1),
        due_date=date(2022, 3, 31) if kind == "title" else None,
        seller=einvoice.seller(SELLER_SIRET), buyer=buyer,
        buyer_reference="SERVICE-FINANCES", purchase_order="EJ-2022-0042",
        preceding_number=None, preceding_date=None, lines=lines,
        total_net=net, total_vat=vat, total=total,
        notes=(einvoice.APPEAL_MENTION,) if kind == "title" else (),
    )
    return einvoice.InvoiceDocument(**{**terms, **changes})


def rendered(invoice):
    xml = einvoice.render_cii(invoice)
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")
    return etree.fromstring(xml)


def texts(tree, path):
    return tree.xpath(path + "/text()", namespaces=NS)


def test_laverunes_2022_title_says_who_bills_whom_what_and_until_when():
    tree = rendered(document())
    header = "rsm:ExchangedDocument"
    agreement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
    settlement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
    totals = f"{settlement}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    expected = {
        "rsm:ExchangedDocumentContext/*/ram:ID": ["urn:cen.eu:en16931:2017"],
        f"{header}/ram:ID": ["2022-000001"],
        f"{header}/ram:TypeCode": ["380"],
        f"{header}/ram:IssueDateTime/udt:DateTimeString": ["20220301"],
        f"{agreement}/ram:BuyerReference": ["SERVICE-FINANCES"],
        f"{agreement}/ram:SellerTradeParty/ram:GlobalID[@schemeID='0009']": [SELLER_SIRET],
        f"{agreement}/ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID":
            ["243400017"],
        f"{agreement}/ram:BuyerTradeParty/ram:GlobalID[@schemeID='0009']": ["21340134200018"],
        f"{agreement}/ram:BuyerTradeParty/ram:Name": ["Lavérune"],
        f"{agreement}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID": ["EJ-2022-0042"],
        f"{settlement}/ram:InvoiceCurrencyCode": ["EUR"],
        f"{settlement}/ram:ApplicableTradeTax/ram:CategoryCode": ["O"],
        f"{settlement}/ram:ApplicableTradeTax/ram:ExemptionReasonCode": ["VATEX-EU-O"],
        f"{settlement}/ram:ApplicableTradeTax/ram:BasisAmount": ["150.11"],
        f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString":
            ["20220331"],
        f"{totals}/ram:LineTotalAmount": ["150.11"],
        f"{totals}/ram:TaxTotalAmount": ["0.00"],
        f"{totals}/ram:GrandTotalAmount": ["150.11"],
        f"{totals}/ram:DuePayableAmount": ["150.11"],
        "//ram:IncludedSupplyChainTradeLineItem//ram:LineTotalAmount":
            ["67.34", "46.49", "36.28"],
    }
    for path, values in expected.items():
        assert texts(tree, path) == values, path
    (note,) = texts(tree, f"{header}/ram:IncludedNote/ram:Content")
    assert "L. 1617-5" in note and "deux mois" in note and "8 jours francs" in note


def test_an_extra_carries_vat_at_20_percent_in_its_own_breakdown():
    tree = rendered(document(SHARES + (EXTRA,)))
    taxes = tree.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax",
                       namespaces=NS)
    breakdown = [(texts(t, "ram:CategoryCode"), texts(t, "ram:BasisAmount"),
                  texts(t, "ram:CalculatedAmount"), texts(t, "ram:RateApplicablePercent"))
                 for t in taxes]
    assert breakdown == [(["O"], ["150.11"], ["0.00"], []),
                         (["S"], ["666.66"], ["133.33"], ["20.00"])]
    assert texts(tree, "//ram:GrandTotalAmount") == ["950.10"]
    assert texts(tree, "//ram:BilledQuantity") == ["1.00", "1.00", "1.00", "2.00"]


def test_a_credit_note_states_positive_amounts_and_the_title_it_cancels():
    cancelling = rules.credit_note_lines(SHARES)
    tree = rendered(document(cancelling, kind="credit_note", number="2022-000032",
                             preceding_number="2022-000001", preceding_date=date(2022, 3, 1),
                             total_net=D("-150.11"), total_vat=D("-0.00"),
                             total=D("-150.11")))
    assert texts(tree, "//rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    assert texts(tree, "//ram:GrandTotalAmount") == ["150.11"]
    assert texts(tree, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == ["2022-000001"]
    assert texts(tree, "//ram:InvoiceReferencedDocument//qdt:DateTimeString") == ["20220301"]
    assert texts(tree, "//ram:DueDateDateTime") == []
    assert texts(tree, "//ram:SpecifiedTradePaymentTerms/ram:Description") == [
        "Avoir annulant le titre n° 2022-000001 du 01/03/2022."]
    assert texts(tree, "//rsm:ExchangedDocument/ram:IncludedNote/ram:Content") == []


def test_optional_references_are_left_out_when_the_commune_requires_none():
    tree = rendered(document(buyer_reference=None, purchase_order=None))
    assert texts(tree, "//ram:BuyerReference") == []
    assert tree.xpath("//ram:BuyerOrderReferencedDocument", namespaces=NS) == []


def test_the_seller_is_the_metropole_by_its_siren_and_by_its_siret_once_configured():
    party = "rsm:SupplyChainTradeTransaction/*/ram:SellerTradeParty"
    for siret, global_ids in ((None, []), (SELLER_SIRET, [SELLER_SIRET])):
        tree = rendered(document(seller=einvoice.seller(siret)))
        assert texts(tree, f"{party}/ram:GlobalID[@schemeID='0009']") == global_ids
        assert texts(tree, f"{party}/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") \
            == ["243400017"]
        assert texts(tree, f"{party}/ram:PostalTradeAddress/*") == [
            "34961", "50 place Zeus", "CS 39556", "Montpellier Cedex 2", "FR"]


def test_each_line_names_its_application_and_only_an_extra_has_a_vat_rate():
    tree = rendered(document(SHARES + (EXTRA,)))
    items = tree.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    fields = (".//ram:LineID", ".//ram:SellerAssignedID", ".//ram:ChargeAmount",
              ".//ram:CategoryCode", ".//ram:RateApplicablePercent")
    assert [
        tuple(texts(item, path) for path in fields)
        + (item.xpath(".//ram:BilledQuantity/@unitCode", namespaces=NS),)
        for item in items
    ] == [
        (["1"], ["eadmin"], ["67.34"], ["O"], [], ["C62"]),
        (["2"], ["eservices"], ["46.49"], ["O"], [], ["C62"]),
        (["3"], ["procurement"], ["36.28"], ["O"], [], ["C62"]),
        (["4"], [], ["333.33"], ["S"], ["20.00"], ["C62"]),
    ]
    assert texts(items[3], ".//ram:Name") == ["Formulaire supplémentaire"]


def test_a_credit_note_cancelling_a_title_with_an_extra_states_its_vat_positive():
    lines = SHARES + (EXTRA,)
    net, vat, total = rules.totals(lines)
    tree = rendered(document(rules.credit_note_lines(lines), kind="credit_note",
                             preceding_number="2022-000001", preceding_date=date(2022, 3, 1),
                             total_net=-net, total_vat=-vat, total=-total))
    settlement = "//ram:ApplicableHeaderTradeSettlement"
    assert texts(tree, f"{settlement}/ram:ApplicableTradeTax/ram:BasisAmount") == [
        "150.11", "666.66"]
    assert texts(tree, f"{settlement}/ram:ApplicableTradeTax/ram:CalculatedAmount") == [
        "0.00", "133.33"]
    assert texts(tree, "//ram:TaxTotalAmount") == ["133.33"]
    assert texts(tree, "//ram:DuePayableAmount") == ["950.10"]
    assert texts(tree, "//ram:NetPriceProductTradePrice/ram:ChargeAmount")[3] == "333.33"


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"buyer": einvoice.Party("Lavérune", "213401342", None)}, "buyer SIRET (BT-46)"),
        ({"total_net": D("150.10")},
         "total net (BT-106, BR-CO-10) is 150.10, its lines make 150.11"),
        ({"total_vat": D("0.01")}, "total VAT (BT-110, BR-CO-14) is 0.01, its lines make 0.00"),
        ({"total": D("150.12")}, "total (BT-112, BR-CO-15) is 150.12, its lines make 150.11"),
        ({"lines": ()}, "at least one line (BR-16)"),
        ({"kind": "credit_note"}, "the title it cancels and its date (BT-25, BT-26)"),
        ({"kind": "receipt"}, "neither a title nor a credit note"),
    ],
)
def test_a_document_unfit_to_send_is_refused_with_the_reason(changes, error):
    with pytest.raises(einvoice.InvalidInvoice) as refused:
        einvoice.render_cii(document(**changes))
    assert any(error in message for message in refused.value.errors), refused.value.errors


def test_a_credit_note_must_cancel_what_its_title_billed():
    # Lines as the title states them, positive: the ledger negates a credit note's lines.
    with pytest.raises(einvoice.InvalidInvoice, match="line 1: amount 67.34 has the wrong sign"):
        einvoice.render_cii(document(kind="credit_note", preceding_number="2022-000001",
                                     preceding_date=date(2022, 3, 1)))


def test_file_names_say_what_the_document_is():
    assert [einvoice.file_name(document(kind=kind)) for kind in ("title", "credit_note")] == [
        "titre-2022-000001.xml", "avoir-2022-000001.xml"]


@pytest.mark.parametrize(
    "xml, error",
    [
        (b"<not-closed>", "not XML"),
        (b"<Invoice/>", "No matching global declaration"),
        (einvoice.render_cii(document()).replace(b"<ram:TypeCode>380</ram:TypeCode>", b""),
         "IssueDateTime"),
    ],
)
def test_what_does_not_pass_the_schema_is_refused_with_each_error(xml, error):
    with pytest.raises(einvoice.InvalidInvoice) as refused:
        einvoice.validate_cii(xml)
    assert any(error in message for message in refused.value.errors), refused.value.errors
