"""What Chorus Pro reads from a CII D16B invoice once it passed the XSD: the number, the parties
and the amounts an invoice shows in ``rechercher/fournisseur``."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

NAMESPACES = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
# UNTDID 1001: a commercial invoice, a credit note.
KINDS = {"380": "FACTURE", "381": "AVOIR"}
SIRET_SCHEME = "0009"
SIREN_SCHEME = "0002"

_DOCUMENT = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument"
_TRANSACTION = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
_AGREEMENT = _TRANSACTION + "/ram:ApplicableHeaderTradeAgreement"
_SETTLEMENT = _TRANSACTION + "/ram:ApplicableHeaderTradeSettlement"
_TOTALS = _SETTLEMENT + "/ram:SpecifiedTradeSettlementHeaderMonetarySummation"


@dataclass(frozen=True)
class Party:
    name: str | None
    siret: str | None
    siren: str | None

    @property
    def code(self):
        return self.siret or self.siren


@dataclass(frozen=True)
class InvoiceData:
    number: str | None
    kind: str
    issued_on: date | None
    supplier: Party
    recipient: Party
    service_code: str | None
    engagement: str | None
    preceding_number: str | None
    currency: str | None
    total_net: Decimal | None
    total_vat: Decimal | None
    total: Decimal | None
    due: Decimal | None


def read(root):
    """``root``: the parsed ``rsm:CrossIndustryInvoice`` element."""

    def text(path):
        found = root.xpath(path + "/text()", namespaces=NAMESPACES)
        return found[0].strip() if found and found[0].strip() else None

    def amount(name):
        value = text(f"{_TOTALS}/ram:{name}")
        try:
            return Decimal(value) if value is not None else None
        except InvalidOperation:
            return None

    def party(role):
        base = f"{_AGREEMENT}/ram:{role}TradeParty"
        legal = f"{base}/ram:SpecifiedLegalOrganization"
        return Party(
            name=text(f"{base}/ram:Name"),
            siret=(text(f"{base}/ram:GlobalID[@schemeID='{SIRET_SCHEME}']")
                   or text(f"{base}/ram:ID[@schemeID='{SIRET_SCHEME}']")
                   or text(f"{legal}/ram:ID[@schemeID='{SIRET_SCHEME}']")),
            siren=text(f"{legal}/ram:ID[@schemeID='{SIREN_SCHEME}']"),
        )

    issued = text(f"{_DOCUMENT}/ram:IssueDateTime/udt:DateTimeString")
    try:
        issued_on = datetime.strptime(issued, "%Y%m%d").date() if issued else None
    except ValueError:
        issued_on = None
    return InvoiceData(
        number=text(f"{_DOCUMENT}/ram:ID"),
        kind=KINDS.get(text(f"{_DOCUMENT}/ram:TypeCode"), "FACTURE"),
        issued_on=issued_on,
        supplier=party("Seller"),
        recipient=party("Buyer"),
        service_code=text(f"{_AGREEMENT}/ram:BuyerReference"),
        engagement=text(f"{_AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"),
        preceding_number=text(f"{_SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID"),
        currency=text(f"{_SETTLEMENT}/ram:InvoiceCurrencyCode"),
        total_net=amount("TaxBasisTotalAmount"),
        total_vat=amount("TaxTotalAmount"),
        total=amount("GrandTotalAmount"),
        due=amount("DuePayableAmount"),
    )
