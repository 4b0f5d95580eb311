"""Chorus Pro's API through PISTE: deposit a document's CII flow, find it, follow its statuses.

Every call is a JSON ``POST`` with a PISTE bearer token (OAuth 2.0 client credentials, kept
until it expires and fetched again once when the API answers 401) and the technical account in
``cpro-account: base64(login:password)``; answers carry ``codeRetour`` (0: done) and
``libelle``. The routes and fields are Chorus Pro's (``deposer/flux``, ``rechercher/fournisseur``
with ``listeFactures[].identifiantFactureCPP``, ``consulter/historique`` with
``historiquesDesStatuts.histoStatut[]``, ``consulterCRDetaille`` with ``etatCourantDepotFlux``
and ``listeErreurDP`` / ``listeErreurTechnique``), as published clients read them
(turbo124/piste-gouv-fr, akretion's l10n_fr_chorus_account, glitchr-studio/omnibill-chorus-pro;
not checked against PISTE itself). ``chorus_sandbox`` serves the same routes on one machine.

A document is never deposited twice: a 5xx, a timeout or a broken connection leave unknown
whether the flow arrived, so the next attempt first looks for the invoice number and, found,
stops there (``already_there``). On Chorus Pro itself a flow is searchable once integrated
(minutes), and a second deposit of the same number by the same supplier is refused: a refused
deposit whose number is then found is taken as already there too. Retries back off
exponentially, ``attempts`` calls in all. Every HTTP call is handed to ``record`` as an
``Exchange``, without the secrets (client secret, token, technical account) and with the file
replaced by its size and SHA-256.
"""

import base64
import binascii
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from servicekit.clock import LEGAL_TIME_ZONE
from servicekit.http_client import (
    ELIDED,
    TEXT_LIMIT,
    RetryingClient,
    Transient,
    file_summary,
)
from servicekit.http_client import Exchange as Exchange  # what ``record`` is handed

QUALIFICATION_TOKEN_URL = "https://sandbox-oauth.piste.gouv.fr/api/oauth/token"
QUALIFICATION_API_URL = "https://sandbox-api.piste.gouv.fr"
PRODUCTION_TOKEN_URL = "https://oauth.piste.gouv.fr/api/oauth/token"
PRODUCTION_API_URL = "https://api.piste.gouv.fr"
# PISTE's token is served by another host than its API; elsewhere (chorus_sandbox) one serves both.
_PISTE_TOKEN_URLS = {
    QUALIFICATION_API_URL: QUALIFICATION_TOKEN_URL,
    PRODUCTION_API_URL: PRODUCTION_TOKEN_URL,
}
TOKEN_PATH = "/api/oauth/token"

TOKEN = "token"
DEPOSIT = "deposer/flux"
SEARCH = "rechercher/fournisseur"
HISTORY = "consulter/historique"
FLOW_REPORT = "consulterCRDetaille"
PATHS = {
    DEPOSIT: "/cpro/factures/v1/deposer/flux",
    SEARCH: "/cpro/factures/v1/rechercher/fournisseur",
    HISTORY: "/cpro/factures/v1/consulter/historique",
    FLOW_REPORT: "/cpro/transverses/v1/consulterCRDetaille",
}

_SECRET_KEYS = {"client_secret", "access_token", "refresh_token", "id_token", "password",
                "authorization", "cpro-account"}
_FILE_KEYS = {"fichierFlux", "fichierCR", "fichierFacture"}


def token_url_for(api_url):
    api_url = api_url.rstrip("/")
    return _PISTE_TOKEN_URLS.get(api_url, api_url + TOKEN_PATH)


@dataclass(frozen=True)
class ChorusSettings:
    token_url: str
    api_url: str
    client_id: str
    client_secret: str
    technical_login: str
    technical_password: str
    timeout: float = 10.0
    attempts: int = 4
    backoff: float = 0.5

    @classmethod
    def from_config(cls, config):
        """From the suite's config (``servicekit.config``: ``COMMUNS_CHORUS_*``); without an
        API URL, PISTE's qualification (sandbox) platform."""
        api_url = (config.get("CHORUS_API_URL") or QUALIFICATION_API_URL).rstrip("/")
        return cls(
            token_url=config.get("CHORUS_TOKEN_URL") or token_url_for(api_url),
            api_url=api_url,
            client_id=config.get("CHORUS_CLIENT_ID") or "",
            client_secret=config.get("CHORUS_CLIENT_SECRET") or "",
            technical_login=config.get("CHORUS_LOGIN") or "",
            technical_password=config.get("CHORUS_PASSWORD") or "",
            timeout=float(config.get("CHORUS_TIMEOUT") or 10.0),
            attempts=int(config.get("CHORUS_ATTEMPTS") or 4),
            backoff=float(config.get("CHORUS_BACKOFF") or 0.5),
        )

    def __repr__(self):
        # The settings end up in logs and tracebacks; the secrets must not.
        return (f"ChorusSettings(token_url={self.token_url!r}, api_url={self.api_url!r}, "
                f"client_id={self.client_id!r}, technical_login={self.technical_login!r})")


@dataclass(frozen=True)
class Deposit:
    flow_number: str | None
    invoice_id: int | None
    deposited_at: datetime | None
    already_there: bool


@dataclass(frozen=True)
class InvoiceStatus:
    invoice_id: int
    number: str
    status: str
    deposited_at: datetime | None
    flow_number: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class StatusChange:
    status: str
    changed_at: datetime
    comment: str | None = None


@dataclass(frozen=True)
class FlowReport:
    state: str | None
    reason: str | None


class ChorusError(Exception):
    """Chorus Pro could not do what was asked."""


class ChorusRejected(ChorusError):
    """A business refusal: ``codeRetour`` other than 0, or an HTTP 4xx other than 401/403."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class ChorusUnavailable(ChorusError):
    """Every attempt met a 5xx, a timeout or a broken connection."""


class ChorusAuthError(ChorusError):
    """PISTE refused the client credentials, or Chorus Pro the technical account: a setting
    to fix, not the document."""


class ChorusProClient(RetryingClient):
    error = ChorusError
    unavailable = ChorusUnavailable

    def __init__(self, settings, record=lambda exchange: None, http=None, sleep=time.sleep,
                 clock=time.monotonic):
        super().__init__(settings, record, http, sleep)
        self.clock = clock
        self._token = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()

    # -- operations ------------------------------------------------------------------------

    def deposit_invoice(self, number, file_name, content, syntax, check_first=False):
        """Deposits ``content`` as a flow, or finds the invoice an earlier attempt deposited."""
        body = {
            "fichierFlux": base64.b64encode(content).decode("ascii"),
            "nomFichier": file_name,
            "syntaxeFlux": syntax,
            "avecSignature": False,
        }
        look_first = check_first
        failure = None
        for attempt in range(1, self.settings.attempts + 1):
            try:
                if look_first:
                    found = self._best_match(self._once(SEARCH, self._search_body(number)), number)
                    if found is not None:
                        return _already_there(found)
                answer = self._once(DEPOSIT, body, file=content)
                return Deposit(
                    flow_number=answer.get("numeroFluxDepot"),
                    invoice_id=None,
                    deposited_at=_moment(answer.get("dateDepot")),
                    already_there=False,
                )
            except Transient as error:
                # The flow may have arrived: look for it before depositing again.
                failure, look_first = error, True
                self._back_off(attempt)
            except ChorusRejected:
                # A number refused as already deposited is there: by an attempt whose answer
                # was lost, or by an instance that stopped before recording it.
                found = self.find_invoice(number)
                if found is not None:
                    return _already_there(found)
                raise
        raise self._gave_up(DEPOSIT, failure)

    def find_invoice(self, number):
        """The invoice deposited under ``number`` (the latest, should there be several)."""
        return self._best_match(self._call(SEARCH, self._search_body(number)), number)

    def history(self, invoice_id):
        """Every status the invoice went through, oldest first."""
        answer = self._call(HISTORY, {"idFacture": invoice_id})
        listed = (answer.get("historiquesDesStatuts") or {}).get("histoStatut") or []
        changes = [
            StatusChange(entry["histoStatutCode"], _moment(entry.get("histoStatutDatePassage")),
                         entry.get("histoStatutCommentaire") or None)
            for entry in reversed(listed)  # Chorus Pro lists the latest first
            if entry.get("histoStatutCode") and entry.get("histoStatutDatePassage")
        ]
        return sorted(changes, key=lambda change: change.changed_at)

    def flow_report(self, flow_number, syntax):
        """The state of a deposited flow (``IN_INTEGRE``, ``IN_REJETE``…) and, when rejected,
        why."""
        answer = self._call(FLOW_REPORT, {"numeroFluxDepot": flow_number, "syntaxeFlux": syntax})
        errors = [
            *(e.get("libelleErreurDP") for e in answer.get("listeErreurDP") or ()),
            *(e.get("libelleErreur") for e in answer.get("listeErreurTechnique") or ()),
        ]
        reason = "; ".join(e for e in errors if e) or None
        state = answer.get("etatCourantDepotFlux") or answer.get("etatCourantFlux")
        return FlowReport(state, reason)

    # -- calls -----------------------------------------------------------------------------

    def _call(self, operation, body):
        return self._retried(lambda: self._once(operation, body), operation)

    def _once(self, operation, body, file=None):
        """One call of an operation, with a second token if the first was refused."""
        token = self._bearer()
        response = self._post(operation, body, token, file)
        if response.status_code == 401:
            self._forget_token(token)
            response = self._post(operation, body, self._bearer(), file)
        if response.status_code in (401, 403):
            raise ChorusAuthError(self._scrub(
                f"{operation}: Chorus Pro refused the token or the technical account "
                f"(HTTP {response.status_code}): {_reason(response)}"
            ))
        answer = _readable(response)
        if response.status_code < 400 and not isinstance(answer, dict):
            # A proxy's page, a cut answer: whether the call was done is unknown.
            raise Transient(f"{operation}: not JSON (HTTP {response.status_code})")
        answer = answer if isinstance(answer, dict) else {}
        code = answer.get("codeRetour")
        if response.status_code >= 400 or code not in (0, "0", None):
            raise ChorusRejected(_reason(response, answer))
        return answer

    def _post(self, operation, body, token, file):
        url = self.settings.api_url + PATHS[operation]
        headers = {
            "Authorization": f"Bearer {token}",
            "cpro-account": self._cpro_account(),
            "Content-Type": "application/json;charset=utf-8",
            "Accept": "application/json",
        }
        request = dict(body)
        if file is not None:
            request["fichierFlux"] = file_summary(file)
        return self._exchange(operation, "POST", url, request, lambda: self.http.post(
            url, data=json.dumps(body).encode("utf-8"), headers=headers,
            timeout=self.settings.timeout,
        ))

    def _read(self, response):
        return _readable(response)

    # -- token -----------------------------------------------------------------------------

    def _bearer(self):
        with self._token_lock:
            if self._token is None or self.clock() >= self._token_expires:
                self._fetch_token()
            return self._token

    def _forget_token(self, refused):
        with self._token_lock:
            if self._token == refused:  # not one another call has fetched since
                self._token = None

    def _fetch_token(self):
        settings = self.settings
        form = {
            "grant_type": "client_credentials",
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "scope": "openid",
        }
        response = self._exchange(TOKEN, "POST", settings.token_url, form, lambda: self.http.post(
            settings.token_url, data=form, headers={"Accept": "application/json"},
            timeout=settings.timeout,
        ))
        answer = _json_object(response)
        if response.status_code >= 400 or not answer.get("access_token"):
            raise ChorusAuthError(
                f"PISTE refused the client credentials (HTTP {response.status_code}): "
                f"{self._scrub(_reason(response, answer))}"
            )
        lifetime = float(answer.get("expires_in") or 3600)
        self._token = answer["access_token"]
        # Renewed a little before PISTE forgets it, so that a call never carries a dead one.
        self._token_expires = self.clock() + lifetime - min(60.0, lifetime / 10)

    def _cpro_account(self):
        pair = f"{self.settings.technical_login}:{self.settings.technical_password}"
        return base64.b64encode(pair.encode("utf-8")).decode("ascii")

    # -- searching -------------------------------------------------------------------------

    @staticmethod
    def _search_body(number):
        return {
            "numeroFacture": number,
            "rechercheFactureParFournisseur": {"pageResultatDemandee": 1, "nbResultatsParPage": 50},
        }

    @staticmethod
    def _best_match(answer, number):
        found = [f for f in answer.get("listeFactures") or () if f.get("numeroFacture") == number]
        if not found:
            return None
        latest = max(found, key=lambda f: int(f.get("identifiantFactureCPP") or 0))
        return InvoiceStatus(
            invoice_id=int(latest["identifiantFactureCPP"]),
            number=latest["numeroFacture"],
            status=latest.get("statut"),
            deposited_at=_moment(latest.get("dateDepot")),
            flow_number=latest.get("numeroFluxDepot"),
            comment=latest.get("commentaireEtatCourant") or None,
        )

    # -- what is recorded ------------------------------------------------------------------

    def _scrub(self, value):
        """``value`` without a secret: by key, and wherever a secret's text appears."""
        if isinstance(value, dict):
            return {
                key: ELIDED if str(key).lower() in _SECRET_KEYS
                else file_summary(_decoded(item)) if key in _FILE_KEYS and isinstance(item, str)
                else self._scrub(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self._scrub(item) for item in value]
        if isinstance(value, str):
            settings = self.settings
            for secret in (settings.client_secret, settings.technical_password,
                           self._cpro_account(), self._token):
                if secret:
                    value = value.replace(secret, ELIDED)
        return value


def _already_there(found):
    return Deposit(found.flow_number, found.invoice_id, found.deposited_at, already_there=True)


def _decoded(text):
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode("utf-8")


def _readable(response):
    try:
        return response.json()
    except ValueError:
        return response.text[:TEXT_LIMIT]


def _json_object(response):
    answer = _readable(response)
    return answer if isinstance(answer, dict) else {}


def _reason(response, answer=None):
    answer = _json_object(response) if answer is None else answer
    reason = (answer.get("libelle") or answer.get("error_description") or answer.get("error")
              or answer.get("message"))
    if reason:
        code = answer.get("codeRetour")
        return f"{reason} (codeRetour {code})" if code not in (None, 0, "0") else str(reason)
    return f"HTTP {response.status_code}: {response.text[:200]}"


def _moment(value):
    """An aware UTC datetime from what Chorus Pro writes: ISO 8601 with or without an offset
    (without one: French time), a bare date, or milliseconds since the epoch."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    if value.tzinfo is None:
        value = value.replace(tzinfo=LEGAL_TIME_ZONE)
    return value.astimezone(UTC)
