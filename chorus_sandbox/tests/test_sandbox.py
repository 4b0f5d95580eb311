"""The sandbox application through werkzeug's test client, on a clock the tests move: what it
refuses, what it stores, how its invoices move, and its faults and control API."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.test import Client

from chorus_sandbox import app as sandbox
from chorus_sandbox.server import Credentials
from chorus_sandbox.testing import TEST_CREDENTIALS, sample_cii

ACCOUNT = base64.b64encode(
    f"{TEST_CREDENTIALS['CHORUS_LOGIN']}:{TEST_CREDENTIALS['CHORUS_PASSWORD']}".encode()).decode()
STARTED = datetime(2022, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = STARTED

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


class Caller:
    """A Chorus Pro client as the sandbox expects one: a token, the technical account, JSON."""

    def __init__(self, application):
        self.http = Client(application)
        self.token = self.fetch_token().json["access_token"]

    def fetch_token(self, secret=TEST_CREDENTIALS["CHORUS_CLIENT_SECRET"], **form):
        return self.http.post("/api/oauth/token", data={
            "grant_type": "client_credentials", "client_id": TEST_CREDENTIALS["CHORUS_CLIENT_ID"],
            "client_secret": secret, "scope": "openid", **form})

    def call(self, path, body, token=None, account=ACCOUNT, **options):
        headers = {"Authorization": f"Bearer {token or self.token}", "cpro-account": account}
        options.setdefault("json", body)
        return self.http.post(path, headers=headers, **options)

    def deposit(self, content=None, number="2022-000001", **fields):
        return self.call("/cpro/factures/v1/deposer/flux", {
            "fichierFlux": base64.b64encode(sample_cii(number) if content is None else content)
            .decode(), "nomFichier": f"titre-{number}.xml", "syntaxeFlux": "IN_DP_E1_CII_16B",
            "avecSignature": False, **fields})

    def search(self, **body):
        return self.call("/cpro/factures/v1/rechercher/fournisseur", body).json

    def history(self, invoice_id):
        return self.call("/cpro/factures/v1/consulter/historique", {"idFacture": invoice_id})

    def report(self, flow, detailed=True):
        route = "consulterCRDetaille" if detailed else "consulterCR"
        return self.call(f"/cpro/transverses/v1/{route}",
                         {"numeroFluxDepot": flow, "syntaxeFlux": "IN_DP_E1_CII_16B"}).json

    def control(self, method, path, **options):
        return self.http.open(f"/_sandbox{path}", method=method, **options)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def application(clock):
    credentials = Credentials(*TEST_CREDENTIALS.values())
    return sandbox.ChorusSandbox(credentials, step_seconds=2, token_lifetime=600,
                                 fault_seconds=0.05, now=clock)


@pytest.fixture
def caller(application):
    return Caller(application)


def statuses(caller, invoice_id):
    entries = caller.history(invoice_id).json["historiquesDesStatuts"]["histoStatut"]
    return [(e["histoStatutCode"], e["histoStatutDatePassage"]) for e in entries]


# -- PISTE's token, the caller's credentials ------------------------------------------------


def test_a_token_is_issued_for_the_client_credentials_alone(caller):
    granted = caller.fetch_token()
    assert granted.status_code == 200
    assert (granted.json["token_type"], granted.json["expires_in"]) == ("Bearer", 600)
    assert caller.fetch_token(secret="guess").status_code == 401
    assert caller.fetch_token(secret="guess").json["error"] == "invalid_client"
    assert caller.fetch_token(grant_type="password").json["error"] == "unsupported_grant_type"
    basic = caller.http.post("/api/oauth/token", data={"grant_type": "client_credentials"},
                             auth=(TEST_CREDENTIALS["CHORUS_CLIENT_ID"],
                                   TEST_CREDENTIALS["CHORUS_CLIENT_SECRET"]))
    assert basic.status_code == 200


def test_a_call_needs_a_live_token_the_technical_account_and_a_json_object(caller, clock):
    assert caller.search()["codeRetour"] == 0
    unknown = caller.call("/cpro/factures/v1/rechercher/fournisseur", {}, token="forged")
    assert unknown.status_code == 401 and "invalid_token" in unknown.headers["WWW-Authenticate"]
    wrong_account = base64.b64encode(b"TECH_1_test@cpro.fr:guess").decode()
    refused = caller.call("/cpro/factures/v1/rechercher/fournisseur", {}, account=wrong_account)
    assert (refused.status_code, refused.json["codeRetour"]) == (403, sandbox.BAD_ACCOUNT)
    as_form = caller.call("/cpro/factures/v1/rechercher/fournisseur", None, data="x=1",
                          content_type="application/x-www-form-urlencoded")
    assert as_form.status_code == 415
    not_object = caller.call("/cpro/factures/v1/rechercher/fournisseur", [1, 2])
    assert (not_object.status_code, not_object.json["codeRetour"]) == (400, sandbox.BAD_REQUEST)

    clock.advance(seconds=601)
    assert caller.call("/cpro/factures/v1/rechercher/fournisseur", {}).status_code == 401


# -- deposits -------------------------------------------------------------------------------


def test_a_valid_flow_is_integrated_and_its_invoice_searchable_at_once(caller):
    deposited = caller.deposit()
    assert deposited.status_code == 200
    answer = deposited.json
    assert (answer["codeRetour"], answer["syntaxeFlux"]) == (0, "IN_DP_E1_CII_16B")
    assert answer["numeroFluxDepot"].startswith("CPP220301")
    assert answer["dateDepot"] == "2022-03-01T10:00:00.000+01:00"

    (invoice,) = caller.search(numeroFacture="2022-000001")["listeFactures"]
    assert invoice["numeroFluxDepot"] == answer["numeroFluxDepot"]
    assert (invoice["statut"], invoice["typeFacture"], invoice["dateDepot"]) == (
        "DEPOSEE", "FACTURE", "2022-03-01")
    assert (invoice["codeFournisseur"], invoice["codeDestinataire"]) == (
        "24340001700006", "21340134000017")
    assert (invoice["codeServiceExecutant"], invoice["numeroBonCommande"]) == (
        "SERVICE-FINANCES", "EJ-2022-42")
    assert (invoice["montantHT"], invoice["montantTTC"], invoice["devise"]) == (
        150.11, 150.11, "EUR")
    report = caller.report(answer["numeroFluxDepot"], detailed=False)
    assert (report["etatCourantFlux"], report["nomFichierFlux"]) == (
        "IN_INTEGRE", "titre-2022-000001.xml")


def test_a_file_failing_the_xsd_is_taken_then_its_flow_rejected_with_the_errors(caller):
    answer = caller.deposit(sample_cii(valid=False)).json
    assert answer["codeRetour"] == 0
    report = caller.report(answer["numeroFluxDepot"])
    assert report["etatCourantDepotFlux"] == "IN_REJETE"
    (error, *_) = report["listeErreurTechnique"]
    assert error["natureErreur"] == "XSD" and error["libelleErreur"]
    assert caller.report(answer["numeroFluxDepot"], detailed=False)["etatCourantFlux"] == (
        "IN_REJETE")
    assert caller.search()["listeFactures"] == []


def test_a_flow_without_the_recipients_siret_or_well_formed_xml_is_rejected(caller):
    unaddressed = caller.deposit(sample_cii(buyer_siret=None)).json["numeroFluxDepot"]
    (error,) = caller.report(unaddressed)["listeErreurDP"]
    assert error["numeroDP"] == "2022-000001" and "SIRET" in error["libelleErreurDP"]
    garbled = caller.deposit(b"<rsm:CrossIndustryInvoice").json["numeroFluxDepot"]
    (error,) = caller.report(garbled)["listeErreurTechnique"]
    assert error["libelleErreur"].startswith("XML mal formé")
    assert caller.search()["listeFactures"] == []


@pytest.mark.parametrize("fields, code, words", [
    ({"nomFichier": ""}, sandbox.BAD_REQUEST, "nomFichier"),
    ({"fichierFlux": "not base64!"}, sandbox.BAD_REQUEST, "base64"),
    ({"syntaxeFlux": "IN_DP_E2_CII_FACTURX"}, sandbox.UNSUPPORTED, "IN_DP_E1_CII_16B"),
    ({"syntaxeFlux": "PDF"}, sandbox.UNSUPPORTED, "inconnue"),
    ({"avecSignature": "non"}, sandbox.BAD_REQUEST, "avecSignature"),
])
def test_a_malformed_deposit_is_refused_at_once(caller, fields, code, words):
    refused = caller.deposit(**fields)
    assert (refused.status_code, refused.json["codeRetour"]) == (400, code)
    assert words in refused.json["libelle"]
    assert caller.control("GET", "/invoices").json["flows"] == []


def test_a_file_over_10_mb_is_refused_as_chorus_pro_does(caller, monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_FILE_BYTES", 100)
    refused = caller.deposit()
    assert refused.json == {"codeRetour": sandbox.TOO_LARGE,
                            "libelle": "GDP_MSG_11.022 : le fichier dépasse 10 Mo"}


def test_a_number_already_deposited_is_refused_and_counted(caller):
    caller.deposit()
    again = caller.deposit()
    assert (again.status_code, again.json["codeRetour"]) == (400, sandbox.DUPLICATE)
    assert "déjà déposée" in again.json["libelle"]
    state = caller.control("GET", "/invoices").json
    assert (state["deposits"], state["duplicates"]) == ({"2022-000001": 2}, {"2022-000001": 1})
    assert [i["deposits"] for i in state["invoices"]] == [2]


def test_searches_filter_and_page_as_chorus_pro_does(caller):
    flows = [caller.deposit(number=f"2022-00000{n}").json["numeroFluxDepot"] for n in (1, 2, 3)]
    page = caller.search(rechercheFactureParFournisseur={"nbResultatsParPage": 2,
                                                         "pageResultatDemandee": 2})
    assert page["parametresRetour"] == {"pageCourante": 2, "pages": 2, "nbResultatsParPage": 2,
                                        "total": 3}
    assert [i["numeroFacture"] for i in page["listeFactures"]] == ["2022-000001"]
    (by_flow,) = caller.search(numeroFluxDepot=flows[1])["listeFactures"]
    assert by_flow["numeroFacture"] == "2022-000002"
    assert caller.search(typeFacture="AVOIR")["listeFactures"] == []
    assert len(caller.search(statutCourant=["DEPOSEE"])["listeFactures"]) == 3


def test_unknown_invoices_and_flows_are_refused(caller):
    unknown = caller.history(4242)
    assert (unknown.status_code, unknown.json["codeRetour"]) == (400, sandbox.UNKNOWN)
    assert caller.history("4242").json["codeRetour"] == sandbox.BAD_REQUEST
    assert caller.report("CPP000")["codeRetour"] == sandbox.UNKNOWN


# -- statuses -------------------------------------------------------------------------------


def test_an_invoice_moves_one_status_every_step_and_the_history_lists_the_latest_first(
        caller, clock):
    caller.deposit()
    (invoice,) = caller.search()["listeFactures"]
    invoice_id = invoice["identifiantFactureCPP"]
    clock.advance(seconds=1.9)
    assert caller.search()["listeFactures"][0]["statut"] == "DEPOSEE"
    clock.advance(seconds=0.1)
    assert caller.search()["listeFactures"][0]["statut"] == "EN_COURS_ACHEMINEMENT"
    clock.advance(minutes=5)
    assert statuses(caller, invoice_id) == [
        ("MISE_A_DISPOSITION", "2022-03-01T10:00:04.000+01:00"),
        ("EN_COURS_ACHEMINEMENT", "2022-03-01T10:00:02.000+01:00"),
        ("DEPOSEE", "2022-03-01T10:00:00.000+01:00"),
    ]
    history = caller.history(invoice_id).json
    assert (history["statutCourantCode"], history["numeroFacture"]) == (
        "MISE_A_DISPOSITION", "2022-000001")


def test_without_a_step_invoices_stay_deposited(application, clock):
    application.step_seconds = None
    caller = Caller(application)
    caller.deposit()
    clock.advance(days=30)
    caller.token = caller.fetch_token().json["access_token"]
    assert caller.search()["listeFactures"][0]["statut"] == "DEPOSEE"


def test_a_status_set_through_the_control_api_stops_time_moving_the_invoice(caller, clock):
    caller.deposit()
    clock.advance(seconds=2)
    set_at = caller.control("POST", "/invoices/2022-000001/status",
                            json={"statut": "MISE_A_DISPOSITION", "at": "2022-02-20"})
    assert set_at.status_code == 200
    assert [h["statut"] for h in set_at.json["invoice"]["history"]] == [
        "DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION"]
    rejected = caller.control("POST", "/invoices/2022-000001/status",
                              json={"statut": "REJETEE", "motif": "Engagement inconnu"})
    assert rejected.json["invoice"]["history"][-1] == {
        "statut": "REJETEE", "at": "2022-03-01T10:00:02.000+01:00", "motif": "Engagement inconnu"}
    clock.advance(minutes=5)
    (invoice,) = caller.search()["listeFactures"]
    assert (invoice["statut"], invoice["commentaireEtatCourant"]) == (
        "REJETEE", "Engagement inconnu")
    assert statuses(caller, invoice["identifiantFactureCPP"])[-1] == (
        "MISE_A_DISPOSITION", "2022-02-20T00:00:00.000+01:00")


@pytest.mark.parametrize("path, body, status", [
    ("/invoices/2022-000001/status", {"statut": "PAYEE"}, 422),
    ("/invoices/2022-000001/status", {"statut": "MANDATEE", "at": "1er mars"}, 422),
    ("/invoices/2022-999999/status", {"statut": "MANDATEE"}, 404),
    ("/faults", {"operation": "deposer/flux", "fault": "slow"}, 422),
    ("/faults", {"operation": "soumettre", "fault": "500"}, 422),
    ("/faults", {"operation": "deposer/flux", "fault": "500", "times": 0}, 422),
])
def test_the_control_api_refuses_what_it_cannot_do(caller, path, body, status):
    caller.deposit()
    assert caller.control("POST", path, json=body).status_code == status


# -- faults ---------------------------------------------------------------------------------


def test_a_500_before_storing_stores_nothing_and_after_storing_stores(caller):
    caller.control("POST", "/faults", json={"operation": "deposer/flux", "fault": "500"})
    assert caller.deposit().status_code == 500
    assert caller.search()["listeFactures"] == []
    caller.control("POST", "/faults", json={"operation": "deposer/flux", "fault": "500",
                                            "after_store": True})
    assert caller.deposit().status_code == 500
    assert len(caller.search()["listeFactures"]) == 1


def test_a_timeout_holds_the_answer_and_after_storing_answers_late(caller, monkeypatch):
    slept = []
    monkeypatch.setattr(sandbox.time, "sleep", slept.append)
    caller.control("POST", "/faults", json={"operation": "deposer/flux", "fault": "timeout"})
    assert caller.deposit().status_code == 504
    caller.control("POST", "/faults", json={"operation": "deposer/flux", "fault": "timeout",
                                            "after_store": True, "seconds": 7})
    assert caller.deposit().json["codeRetour"] == 0
    assert slept == [0.05, 7]


def test_faults_are_used_up_in_order_and_can_be_listed_and_cleared(caller):
    for fault in ("500", "401"):
        caller.control("POST", "/faults", json={"operation": "rechercher/fournisseur",
                                                "fault": fault, "times": 2})
    caller.control("POST", "/faults", json={"operation": "token", "fault": "reject",
                                            "reason": "Quota PISTE atteint"})
    codes = [caller.call("/cpro/factures/v1/rechercher/fournisseur", {}).status_code
             for _ in range(5)]
    assert codes == [500, 500, 401, 401, 200]
    refused = caller.fetch_token()
    assert (refused.status_code, refused.json["libelle"]) == (400, "Quota PISTE atteint")
    caller.control("POST", "/faults", json={"operation": "consulterCR", "fault": "500"})
    assert [f["operation"] for f in caller.control("GET", "/faults").json["faults"]] == [
        "consulterCR"]
    assert caller.control("DELETE", "/faults").json["faults"] == []


def test_tokens_can_be_expired_and_everything_reset(caller):
    caller.deposit()
    assert caller.control("POST", "/tokens/expire").json == {"expired": 1}
    assert caller.search().get("error") == "invalid_token"
    state = caller.control("GET", "/invoices").json
    assert (state["tokens_issued"], state["calls"]["deposer/flux"]) == (1, 1)
    assert caller.control("POST", "/reset").json == {"reset": True}
    caller.token = caller.fetch_token().json["access_token"]
    assert caller.search()["listeFactures"] == []
    assert caller.control("GET", "/invoices").json["flows"] == []
    assert caller.control("GET", "/health").json == {"status": "ok"}
