"""The ``chorus_sandbox`` pytest fixture (a plugin the root conftest registers): a sandbox on a
free port of this machine, in a thread of the test process, fresh for each test.

    def test_deposit(chorus_sandbox):
        client = ChorusProClient(chorus_sandbox.settings())
        ...
        chorus_sandbox.fail("deposer/flux", "timeout", after_store=True)
        chorus_sandbox.set_status("2022-000001", "MISE_A_DISPOSITION", at="2022-03-01T10:00:00")
        assert [i["numeroFacture"] for i in chorus_sandbox.invoices()] == ["2022-000001"]

A service test gives ``chorus_sandbox.billing_config()`` to the services it starts. Time does
not move the test sandbox's invoices (``set_status`` does), and a ``timeout`` fault holds a call
3 s, longer than the clients' timeout; override ``chorus_sandbox_options`` to change either.
"""

from string import Template

import pytest

from servicekit.sandbox_testing import ControlClient, serving

TEST_CREDENTIALS = {
    "CHORUS_CLIENT_ID": "test-piste-application",
    "CHORUS_CLIENT_SECRET": "test-client-secret-3f9a",
    "CHORUS_LOGIN": "TECH_1_test@cpro.fr",
    "CHORUS_PASSWORD": "test-technical-password-77c1",
}


LAVERUNE_SIRET = "21340134000017"


def sample_cii(number="2022-000001", type_code="380", buyer_siret=LAVERUNE_SIRET, valid=True,
               preceding=None):
    """A CII D16B invoice of 150.11 € from the Metropole to Lavérune that passes the EN 16931
    schema; without ``buyer_siret`` it lacks what Chorus Pro routes on, and ``valid=False``
    breaks the schema (no TypeCode). A credit note (``type_code="381"``) names the
    ``preceding`` invoice."""
    return _SAMPLE.substitute(
        number=number,
        preceding=(f"      <ram:InvoiceReferencedDocument><ram:IssuerAssignedID>{preceding}"
                   "</ram:IssuerAssignedID></ram:InvoiceReferencedDocument>\n"
                   if preceding else ""),
        type_code=f"<ram:TypeCode>{type_code}</ram:TypeCode>" if valid else "",
        seller=_party("Seller", "Montpellier Méditerranée Métropole", "243400017",
                      "24340001700006"),
        buyer=_party("Buyer", "Commune de Lavérune", "213401340", buyer_siret),
    ).encode("utf-8")


def _party(role, name, siren, siret):
    global_id = f'<ram:GlobalID schemeID="0009">{siret}</ram:GlobalID>' if siret else ""
    return f"""      <ram:{role}TradeParty>
        {global_id}<ram:Name>{name}</ram:Name>
        <ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{siren}</ram:ID>
        </ram:SpecifiedLegalOrganization>
        <ram:PostalTradeAddress><ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress>
      </ram:{role}TradeParty>
"""


class RunningSandbox(ControlClient):
    def __init__(self, url, credentials, app):
        super().__init__(url, app)
        self.api_url = url
        self.token_url = url + "/api/oauth/token"
        self.client_id = credentials["CHORUS_CLIENT_ID"]
        self.client_secret = credentials["CHORUS_CLIENT_SECRET"]
        self.login = credentials["CHORUS_LOGIN"]
        self.password = credentials["CHORUS_PASSWORD"]

    def billing_config(self, **extra):
        """The ``CHORUS_*`` keys of a suite config that points billing at this sandbox, with
        short waits: 1 s for an answer, 10 ms of backoff."""
        return {
            "CHORUS_API_URL": self.api_url,
            "CHORUS_TOKEN_URL": self.token_url,
            "CHORUS_CLIENT_ID": self.client_id,
            "CHORUS_CLIENT_SECRET": self.client_secret,
            "CHORUS_LOGIN": self.login,
            "CHORUS_PASSWORD": self.password,
            "CHORUS_TIMEOUT": 1.0,
            "CHORUS_ATTEMPTS": 3,
            "CHORUS_BACKOFF": 0.01,
            **extra,
        }

    def settings(self, **overrides):
        """``ChorusSettings`` of a client of this sandbox, as ``billing_config``."""
        from dataclasses import replace

        from services.billing.chorus import ChorusSettings

        return replace(ChorusSettings.from_config(self.billing_config()), **overrides)

    # -- control ---------------------------------------------------------------------------

    def fail(self, operation, fault, times=1, after_store=False, seconds=None, reason=None):
        """The next ``times`` calls of ``operation`` (``deposer/flux``, ``token``…) fail with
        ``fault``: ``500``, ``timeout`` (no answer for ``seconds``), ``reject`` (a refusal
        saying ``reason``) or ``401``. ``after_store``: the call is done first, then fails."""
        return self._control("POST", "/faults", json={
            "operation": operation, "fault": fault, "times": times,
            "after_store": after_store, "seconds": seconds, "reason": reason,
        })["fault"]

    def set_status(self, number, statut, at=None, motif=None):
        """Moves the invoice ``number`` to ``statut`` (at ``at``, an ISO date or datetime, or
        now); time no longer moves it afterwards."""
        body = {"statut": statut, "at": at.isoformat() if hasattr(at, "isoformat") else at,
                "motif": motif}
        return self._control("POST", f"/invoices/{number}/status", json=body)["invoice"]

    def state(self):
        """Invoices, flows, deposits per number, refused duplicates, tokens issued, calls."""
        return self._control("GET", "/invoices")

    def invoices(self):
        return self.state()["invoices"]

    def expire_tokens(self):
        return self._control("POST", "/tokens/expire")["expired"]


@pytest.fixture
def chorus_sandbox_options():
    """How the test sandbox behaves: invoices move only when told (``step_seconds`` None), a
    ``timeout`` fault holds the call 3 s."""
    return {"step_seconds": None, "fault_seconds": 3.0, "token_lifetime": 3600}


@pytest.fixture
def chorus_sandbox(chorus_sandbox_options):
    from chorus_sandbox.server import make_app

    app = make_app(TEST_CREDENTIALS, **chorus_sandbox_options)
    with serving(app, lambda url: RunningSandbox(url, TEST_CREDENTIALS, app)) as running:
        yield running


_SAMPLE = Template("""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice
    xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
    xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
    xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
    xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocumentContext>
    <ram:GuidelineSpecifiedDocumentContextParameter>
      <ram:ID>urn:cen.eu:en16931:2017</ram:ID>
    </ram:GuidelineSpecifiedDocumentContextParameter>
  </rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument>
    <ram:ID>$number</ram:ID>
    $type_code
    <ram:IssueDateTime>
      <udt:DateTimeString format="102">20220301</udt:DateTimeString>
    </ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument>
        <ram:LineID>1</ram:LineID>
      </ram:AssociatedDocumentLineDocument>
      <ram:SpecifiedTradeProduct>
        <ram:Name>Administration électronique</ram:Name>
      </ram:SpecifiedTradeProduct>
      <ram:SpecifiedLineTradeAgreement>
        <ram:NetPriceProductTradePrice>
          <ram:ChargeAmount>150.11</ram:ChargeAmount>
        </ram:NetPriceProductTradePrice>
      </ram:SpecifiedLineTradeAgreement>
      <ram:SpecifiedLineTradeDelivery>
        <ram:BilledQuantity unitCode="C62">1</ram:BilledQuantity>
      </ram:SpecifiedLineTradeDelivery>
      <ram:SpecifiedLineTradeSettlement>
        <ram:ApplicableTradeTax>
          <ram:TypeCode>VAT</ram:TypeCode>
          <ram:CategoryCode>O</ram:CategoryCode>
        </ram:ApplicableTradeTax>
        <ram:SpecifiedTradeSettlementLineMonetarySummation>
          <ram:LineTotalAmount>150.11</ram:LineTotalAmount>
        </ram:SpecifiedTradeSettlementLineMonetarySummation>
      </ram:SpecifiedLineTradeSettlement>
    </ram:IncludedSupplyChainTradeLineItem>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:BuyerReference>SERVICE-FINANCES</ram:BuyerReference>
$seller$buyer      <ram:BuyerOrderReferencedDocument>
        <ram:IssuerAssignedID>EJ-2022-42</ram:IssuerAssignedID>
      </ram:BuyerOrderReferencedDocument>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeDelivery/>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      <ram:ApplicableTradeTax>
        <ram:CalculatedAmount>0.00</ram:CalculatedAmount>
        <ram:TypeCode>VAT</ram:TypeCode>
        <ram:ExemptionReason>Hors champ de la TVA</ram:ExemptionReason>
        <ram:BasisAmount>150.11</ram:BasisAmount>
        <ram:CategoryCode>O</ram:CategoryCode>
        <ram:ExemptionReasonCode>VATEX-EU-O</ram:ExemptionReasonCode>
      </ram:ApplicableTradeTax>
      <ram:SpecifiedTradePaymentTerms>
        <ram:DueDateDateTime>
          <udt:DateTimeString format="102">20220331</udt:DateTimeString>
        </ram:DueDateDateTime>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:LineTotalAmount>150.11</ram:LineTotalAmount>
        <ram:TaxBasisTotalAmount>150.11</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">0.00</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>150.11</ram:GrandTotalAmount>
        <ram:DuePayableAmount>150.11</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
$preceding    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
""")
