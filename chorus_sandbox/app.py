"""The sandbox's WSGI application: PISTE's token, Chorus Pro's four routes billing calls, and a
control API under ``/_sandbox`` for tests and demonstrations.

State lives in memory, behind one lock. Where Chorus Pro works in the background (a flow is
integrated, an invoice travels to its recipient), the sandbox computes on each read what time
has done: a valid flow is integrated at once (``IN_INTEGRE``, its invoice ``DEPOSEE`` and
searchable), then the invoice moves to ``EN_COURS_ACHEMINEMENT`` and ``MISE_A_DISPOSITION``,
one step every ``step_seconds``, unless the control API set its status. A flow whose file fails
the XSD (``services.billing.einvoice.validate_cii``, the check billing renders with) is
accepted at deposit, as Chorus Pro does, then ``IN_REJETE`` with the errors in
``consulterCRDetaille``; its invoice never exists. A second deposit of an invoice number the
supplier already has is refused at once (``codeRetour`` 20101).

``codeRetour`` values other than 0 are the sandbox's own, but for 20001 (file too large, as
Chorus Pro's ``GDP_MSG_11.022``).
"""

import base64
import binascii
import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lxml import etree
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from chorus_sandbox import cii
from servicekit import sandbox_app
from servicekit.clock import LEGAL_TIME_ZONE
from servicekit.sandbox_app import (
    SandboxApp,
    json_response,
    local_moment,
    parse_moment,
    same_secret,
)
from services.billing.einvoice import InvalidInvoice, validate_cii

SUCCESS = "GCU_MSG_01_000"
CII_SYNTAX = "IN_DP_E1_CII_16B"
KNOWN_SYNTAXES = (
    "IN_DP_E1_CII_16B", "IN_DP_E1_UBL_INVOICE", "IN_DP_E2_CII_FACTURX", "IN_DP_E2_CII_MIN_16B",
    "IN_DP_E2_UBL_INVOICE_MIN", "IN_DP_E2_CPP_FACTURE_MIN", "IN_DP_E1_PES_FACTURE",
    "IN_DP_E2_PES_FACTURE_MIN",
)
MAX_FILE_BYTES = 10 * 1024 * 1024

TOO_LARGE = 20001
BAD_REQUEST = 20100
DUPLICATE = 20101
UNKNOWN = 20102
UNSUPPORTED = 20103
REFUSED = 20104
BAD_ACCOUNT = 20105

INTEGRATED, REJECTED_FLOW = "IN_INTEGRE", "IN_REJETE"
DEPOSITED = "DEPOSEE"
AUTOMATIC_STEPS = ("EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION")
STATUSES = (
    DEPOSITED, *AUTOMATIC_STEPS, "PRISE_EN_COMPTE_DESTINATAIRE", "A_RECYCLER", "SUSPENDUE",
    "A_COMPLETER", "COMPLETEE", "REJETEE", "SERVICE_FAIT", "MANDATEE",
    "MISE_A_DISPOSITION_COMPTABLE", "COMPTABILISEE", "MISE_EN_PAIEMENT", "ABANDONNEE",
    "SUPPRIMEE",
)

TOKEN = "token"
DEPOSIT = "deposer/flux"
SEARCH = "rechercher/fournisseur"
HISTORY = "consulter/historique"
REPORT = "consulterCR"
DETAILED_REPORT = "consulterCRDetaille"
OPERATIONS = (TOKEN, DEPOSIT, SEARCH, HISTORY, REPORT, DETAILED_REPORT)
FAULTS = ("500", "timeout", "reject", "401")


@dataclass
class Fault(sandbox_app.Fault):
    """A ``reject`` fault says ``reason``."""

    reason: str | None = None

    @classmethod
    def from_body(cls, body):
        fault = super().from_body(body)
        fault.reason = body.get("reason")
        return fault

    def view(self):
        return {**super().view(), "reason": self.reason}


@dataclass
class Flow:
    number: str
    file_name: str
    syntax: str
    deposited_at: datetime
    state: str
    invoice_number: str | None = None
    business_errors: list = field(default_factory=list)
    technical_errors: list = field(default_factory=list)


@dataclass
class Invoice:
    id: int
    data: cii.InvoiceData
    flow_number: str
    deposited_at: datetime
    # (statut, at, comment) in the order they happened or were set.
    history: list = field(default_factory=list)
    automatic: bool = True
    steps_done: int = 0

    @property
    def status(self):
        return self.history[-1][0]

    @property
    def current(self):
        return self.history[-1]


class ChorusSandbox(SandboxApp):
    """``credentials``: what it accepts (``server.Credentials``)."""

    OPERATIONS = OPERATIONS
    FAULTS = FAULTS
    fault_type = Fault

    def __init__(self, credentials, step_seconds=2.0, token_lifetime=3600, fault_seconds=30.0,
                 now=lambda: datetime.now(UTC)):
        self.credentials = credentials
        self.token_lifetime = token_lifetime
        super().__init__([
            Rule("/api/oauth/token", endpoint="token", methods=["POST"]),
            Rule("/cpro/factures/v1/deposer/flux", endpoint="deposit", methods=["POST"]),
            Rule("/cpro/factures/v1/rechercher/fournisseur", endpoint="search", methods=["POST"]),
            Rule("/cpro/factures/v1/consulter/historique", endpoint="history", methods=["POST"]),
            Rule("/cpro/transverses/v1/consulterCR", endpoint="report", methods=["POST"]),
            Rule("/cpro/transverses/v1/consulterCRDetaille", endpoint="detailed_report",
                 methods=["POST"]),
            Rule("/_sandbox/invoices", endpoint="invoices", methods=["GET"]),
            Rule("/_sandbox/invoices/<path:number>/status", endpoint="set_status",
                 methods=["POST"]),
            Rule("/_sandbox/tokens/expire", endpoint="expire_tokens", methods=["POST"]),
        ], step_seconds, fault_seconds, now)

    def reset(self):
        super().reset()
        with self._lock:
            self._tokens = {}
            self._flows = {}
            self._invoices = {}
            self._deposits = Counter()
            self._duplicates = Counter()
            self._tokens_issued = 0
            self._next_invoice_id = 1001
            self._next_flow = 1

    # -- PISTE and Chorus Pro --------------------------------------------------------------

    def on_token(self, request):
        return self._serve(TOKEN, request, lambda _: self._token(request), authorize=False)

    def on_deposit(self, request):
        return self._serve(DEPOSIT, request, self._deposit)

    def on_search(self, request):
        return self._serve(SEARCH, request, self._search)

    def on_history(self, request):
        return self._serve(HISTORY, request, self._history)

    def on_report(self, request):
        return self._serve(REPORT, request, lambda body: self._report(body, detailed=False))

    def on_detailed_report(self, request):
        return self._serve(DETAILED_REPORT, request,
                           lambda body: self._report(body, detailed=True))

    def _serve(self, operation, request, handle, authorize=True):
        """Faults first, as a broken network or server would; then the caller's credentials,
        then the operation."""
        fault = self._called(operation)
        if fault is not None and not fault.after_store:
            return self._fail(fault)
        body = None
        if authorize:
            problem = self._authorize(request)
            if problem is not None:
                return problem
            body = _json_body(request)
            if isinstance(body, Response):
                return body
        response = handle(body)
        if fault is not None:
            if fault.fault == "timeout":
                time.sleep(self._fault_seconds(fault))
                return response
            return self._fail(fault)
        return response

    def _token(self, request):
        form = request.form
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if request.authorization and request.authorization.type == "basic":
            client_id = request.authorization.username or ""
            client_secret = request.authorization.password or ""
        if form.get("grant_type") != "client_credentials":
            return json_response({
                "error": "unsupported_grant_type",
                "error_description": "grant_type=client_credentials attendu"}, 400)
        if not (same_secret(client_id, self.credentials.client_id)
                and same_secret(client_secret, self.credentials.client_secret)):
            return json_response({"error": "invalid_client",
                                  "error_description": "Client inconnu ou secret erroné"}, 401)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = self.now() + timedelta(seconds=self.token_lifetime)
            self._tokens_issued += 1
        return json_response({"access_token": token, "token_type": "Bearer",
                              "expires_in": self.token_lifetime, "scope": "openid"})

    def _authorize(self, request):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self._lock:
            expires = self._tokens.get(token) if scheme.lower() == "bearer" else None
            valid = expires is not None and expires > self.now()
        if not valid:
            return json_response({"error": "invalid_token",
                                  "error_description": "Jeton absent, inconnu ou expiré"}, 401,
                                 {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        expected = f"{self.credentials.login}:{self.credentials.password}"
        try:
            account = base64.b64decode(request.headers.get("cpro-account", ""), validate=True)
        except (binascii.Error, ValueError):
            account = b""
        if not same_secret(account.decode("utf-8", "replace"), expected):
            return _refused(BAD_ACCOUNT, "Compte technique (en-tête cpro-account) absent ou "
                            "invalide", 403)
        if request.mimetype != "application/json":
            return _refused(BAD_REQUEST, "Content-Type attendu : application/json", 415)
        return None

    def _deposit(self, body):
        missing = [name for name in ("fichierFlux", "nomFichier", "syntaxeFlux")
                   if not isinstance(body.get(name), str) or not body[name]]
        if missing:
            return _refused(BAD_REQUEST, f"Champs obligatoires absents : {', '.join(missing)}")
        if not isinstance(body.get("avecSignature", False), bool):
            return _refused(BAD_REQUEST, "avecSignature est un booléen")
        syntax = body["syntaxeFlux"]
        if syntax not in KNOWN_SYNTAXES:
            return _refused(UNSUPPORTED, f"syntaxeFlux inconnue : {syntax}")
        if syntax != CII_SYNTAX:
            return _refused(UNSUPPORTED, f"Ce bac à sable ne lit que {CII_SYNTAX}")
        try:
            content = base64.b64decode(body["fichierFlux"], validate=True)
        except (binascii.Error, ValueError):
            return _refused(BAD_REQUEST, "fichierFlux n'est pas encodé en base64")
        if len(content) > MAX_FILE_BYTES:
            return _refused(TOO_LARGE, "GDP_MSG_11.022 : le fichier dépasse 10 Mo")
        technical, business, data = _check(content)
        with self._lock:
            now = self.now()
            number = data.number if data else None
            if number:
                self._deposits[number] += 1
            if number and not (technical or business) and self._invoice_numbered(number, data):
                self._duplicates[number] += 1
                return _refused(DUPLICATE, f"Facture {number} déjà déposée par ce fournisseur")
            flow = Flow(
                number=f"CPP{now.astimezone(LEGAL_TIME_ZONE):%y%m%d}{self._next_flow:016d}",
                file_name=body["nomFichier"], syntax=syntax, deposited_at=now,
                state=REJECTED_FLOW if technical or business else INTEGRATED,
                invoice_number=number, business_errors=business, technical_errors=technical,
            )
            self._next_flow += 1
            self._flows[flow.number] = flow
            if flow.state == INTEGRATED:
                invoice = Invoice(self._next_invoice_id, data, flow.number, now,
                                  history=[(DEPOSITED, now, None)])
                self._next_invoice_id += 1
                self._invoices[invoice.id] = invoice
        return _done({"numeroFluxDepot": flow.number, "dateDepot": _moment(now),
                      "syntaxeFlux": syntax})

    def _invoice_numbered(self, number, data):
        return any(
            invoice.data.number == number and invoice.data.supplier.code == data.supplier.code
            for invoice in self._invoices.values()
        )

    def _search(self, body):
        paging = body.get("rechercheFactureParFournisseur") or {}
        try:
            page = max(1, int(paging.get("pageResultatDemandee") or 1))
            per_page = min(100, max(1, int(paging.get("nbResultatsParPage") or 10)))
        except (TypeError, ValueError):
            return _refused(BAD_REQUEST, "Pagination invalide")
        wanted = {
            "numeroFacture": body.get("numeroFacture"),
            "numeroFluxDepot": body.get("numeroFluxDepot"),
            "typeFacture": body.get("typeFacture"),
        }
        statuses = body.get("statutCourant") or None
        with self._lock:
            now = self.now()
            found = []
            for invoice in sorted(self._invoices.values(), key=lambda i: -i.id):
                self._advance(invoice, now)
                listed = self._listed(invoice)
                if all(value in (None, "", listed[key]) for key, value in wanted.items()) and (
                        statuses is None or invoice.status in statuses):
                    found.append(listed)
        pages = -(-len(found) // per_page)
        return _done({
            "parametresRetour": {"pageCourante": page, "pages": pages,
                                 "nbResultatsParPage": per_page, "total": len(found)},
            "listeFactures": found[(page - 1) * per_page:page * per_page],
        })

    def _listed(self, invoice):
        data = invoice.data
        status, at, comment = invoice.current
        return {
            "identifiantFactureCPP": invoice.id,
            "numeroFacture": data.number,
            "typeFacture": data.kind,
            "typeDemandePaiement": "FACTURE",
            "codeFournisseur": data.supplier.code,
            "typeIdentifiantFournisseur": "SIRET" if data.supplier.siret else "SIREN",
            "designationFournisseur": data.supplier.name,
            "codeDestinataire": data.recipient.code,
            "designationDestinataire": data.recipient.name,
            "codeServiceExecutant": data.service_code,
            "numeroBonCommande": data.engagement,
            "numeroFactureOrigine": data.preceding_number,
            "dateFacture": data.issued_on.isoformat() if data.issued_on else None,
            "dateDepot": invoice.deposited_at.astimezone(LEGAL_TIME_ZONE).date().isoformat(),
            "montantHT": _number(data.total_net),
            "montantTTC": _number(data.total),
            "montantAPayer": _number(data.due),
            "devise": data.currency,
            "statut": status,
            "numeroFluxDepot": invoice.flow_number,
            "modeDepot": "EDI",
            "dateHeureEtatCourant": _moment(at),
            "commentaireEtatCourant": comment or "",
            "rejetTraite": False,
        }

    def _history(self, body):
        invoice_id = body.get("idFacture")
        if not isinstance(invoice_id, int) or isinstance(invoice_id, bool):
            return _refused(BAD_REQUEST, "idFacture (entier) attendu")
        with self._lock:
            invoice = self._invoices.get(invoice_id)
            if invoice is None:
                return _refused(UNKNOWN, f"Facture {invoice_id} inconnue")
            self._advance(invoice, self.now())
            # Chorus Pro lists the latest first.
            history = sorted(enumerate(invoice.history, 1), key=lambda e: (e[1][1], e[0]),
                             reverse=True)
            entries = [
                {"histoStatutId": invoice.id * 100 + rank, "histoStatutCode": status,
                 "histoStatutDatePassage": _moment(at), "histoStatutCommentaire": comment or ""}
                for rank, (status, at, comment) in history
            ]
            status = invoice.status
        return _done({
            "idFacture": invoice.id, "numeroFacture": invoice.data.number, "modeDepot": "EDI",
            "statutCourantCode": status,
            "historiquesDesStatuts": {
                "histoStatut": entries, "nbResultatsParPageHistoStatut": len(entries),
                "pageCouranteHistoStatut": 1, "pagesHistoStatut": 1,
                "totalHistoStatut": len(entries),
            },
        })

    def _report(self, body, detailed):
        with self._lock:
            flow = self._flows.get(body.get("numeroFluxDepot"))
        if flow is None:
            return _refused(UNKNOWN, f"Flux {body.get('numeroFluxDepot')} inconnu")
        if detailed:
            return _done({
                "nomFichier": flow.file_name, "dateDepotFlux": _moment(flow.deposited_at),
                "codeInterfaceDepotFlux": flow.syntax, "etatCourantDepotFlux": flow.state,
                "dateHeureEtatCourantFlux": _moment(flow.deposited_at),
                "listeErreurDP": flow.business_errors,
                "listeErreurTechnique": flow.technical_errors,
            })
        return _done({
            "numeroFluxDepot": flow.number, "nomFichierFlux": flow.file_name,
            "codeInterfaceFlux": flow.syntax, "dateDepotFlux": _moment(flow.deposited_at),
            "etatCourantFlux": flow.state, "dateHeureEtatCourantFlux": _moment(flow.deposited_at),
        })

    def _advance(self, invoice, now):
        """The steps Chorus Pro would have taken by ``now``."""
        if not invoice.automatic or not self.step_seconds:
            return
        while invoice.steps_done < len(AUTOMATIC_STEPS):
            due = invoice.deposited_at + timedelta(
                seconds=self.step_seconds * (invoice.steps_done + 1))
            if due > now:
                return
            invoice.history.append((AUTOMATIC_STEPS[invoice.steps_done], due, None))
            invoice.steps_done += 1

    # -- faults ----------------------------------------------------------------------------

    def _fail(self, fault):
        if fault.fault == "401":
            return json_response(
                {"error": "invalid_token", "error_description": "Jeton révoqué"}, 401,
                {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if fault.fault == "reject":
            return _refused(REFUSED, fault.reason or "Demande refusée par Chorus Pro")
        return super()._fail(fault)

    # -- control ---------------------------------------------------------------------------

    def _control_body(self, request):
        return _json_body(request, control=True)

    def on_invoices(self, request):
        with self._lock:
            now = self.now()
            invoices = []
            for invoice in sorted(self._invoices.values(), key=lambda i: i.id):
                self._advance(invoice, now)
                invoices.append(self._control_view(invoice))
            flows = [
                {"numeroFluxDepot": flow.number, "nomFichier": flow.file_name,
                 "numeroFacture": flow.invoice_number, "etatCourantFlux": flow.state,
                 "dateDepot": _moment(flow.deposited_at),
                 "erreurs": [e.get("libelleErreurDP") or e.get("libelleErreur")
                             for e in (*flow.business_errors, *flow.technical_errors)]}
                for flow in self._flows.values()
            ]
            return json_response({
                "invoices": invoices, "flows": flows, "deposits": dict(self._deposits),
                "duplicates": dict(self._duplicates), "tokens_issued": self._tokens_issued,
                "calls": dict(self._calls)})

    def _control_view(self, invoice):
        return {
            **{key: value for key, value in self._listed(invoice).items()
               if key in ("identifiantFactureCPP", "numeroFacture", "typeFacture",
                          "numeroFluxDepot", "statut", "codeFournisseur", "codeDestinataire",
                          "codeServiceExecutant", "numeroBonCommande",
                          "numeroFactureOrigine", "montantTTC")},
            "dateDepot": _moment(invoice.deposited_at),
            "deposits": self._deposits[invoice.data.number],
            "history": [{"statut": status, "at": _moment(at), "motif": comment}
                        for status, at, comment in invoice.history],
        }

    def on_set_status(self, request, number):
        body = _json_body(request, control=True)
        if isinstance(body, Response):
            return body
        status = body.get("statut")
        if status not in STATUSES:
            return json_response({"error": f"statut: one of {', '.join(STATUSES)}"}, 422)
        try:
            at = parse_moment(body["at"]) if body.get("at") else None
        except (TypeError, ValueError):
            return json_response({"error": "at: an ISO 8601 date or date and time"}, 422)
        with self._lock:
            matching = [i for i in self._invoices.values() if i.data.number == number]
            if not matching:
                return json_response({"error": f"no invoice numbered {number}"}, 404)
            invoice = max(matching, key=lambda i: i.id)
            now = self.now()
            self._advance(invoice, now)
            # From now on the statuses are the caller's: time no longer moves this invoice.
            invoice.automatic = False
            invoice.history.append((status, at or now, body.get("motif") or None))
            return json_response({"invoice": self._control_view(invoice)})

    def on_expire_tokens(self, request):
        with self._lock:
            expired = len(self._tokens)
            self._tokens.clear()
        return json_response({"expired": expired})


def _check(content):
    """(technical errors, business errors, what the invoice says) of a deposited file."""
    try:
        root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        return [_technical("XML", f"XML mal formé : {error}")], [], None
    data = cii.read(root)
    try:
        validate_cii(content)
    except InvalidInvoice as invalid:
        errors = invalid.errors or [str(invalid)]
        return [_technical("XSD", message) for message in errors], [], data
    business = []
    if not data.recipient.siret:
        business.append(_business(data, "Destinataire non identifié : SIRET absent (BT-46, "
                                        "GlobalID schemeID 0009)"))
    return [], business, data


def _technical(nature, message):
    return {"natureErreur": nature, "codeErreur": f"{nature}_INVALIDE", "libelleErreur": message}


def _business(data, message):
    return {"identifiantFournisseur": data.supplier.code,
            "identifiantDestinataire": data.recipient.code,
            "numeroDP": data.number, "libelleErreurDP": message}


def _done(payload):
    return json_response({"codeRetour": 0, "libelle": SUCCESS, **payload})


def _refused(code, reason, status=400):
    return json_response({"codeRetour": code, "libelle": reason}, status)


def _json_body(request, control=False):
    data = request.get_data()
    try:
        # The control API takes an empty body for "nothing to say".
        body = json.loads(data or b"{}") if control else json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        message = "Le corps n'est pas un objet JSON"
        if control:
            return json_response({"error": message}, 400)
        return _refused(BAD_REQUEST, message)
    return body


def _moment(moment):
    return local_moment(moment, timespec="milliseconds")


def _number(amount):
    return None if amount is None else float(amount)
