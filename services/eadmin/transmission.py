"""The transmission client: acts to the prefecture (@ctes) and PES to the public accountant
(Hélios) through an S2LOW-like platform, the "tiers de télétransmission" (arrêté of 27 June 2007,
R.2131-1 and D.1617-23 CGCT).

It speaks S2LOW's API as its connectors call it (libriciel/pastell ›
connecteur/s2low/S2low.class.php; libriciel/s2low › public.ssl/modules/actes/): HTTP Basic
login, a prebuilt @ctes archive posted as the ``enveloppe`` file of
``actes_transac_submit.php``, statuses from
``actes_transac_get_status.php`` (``OK\\n<code>\\n<AR XML>`` or ``KO\\n<why>``), the prefecture's
messages from ``api/list_document_prefecture.php`` and ``actes_transac_get_document.php``, answers
through ``actes_transac_reponse_create.php``; PES through ``helios_importer_fichier.php`` and
``helios_transac_get_status.php`` (XML answers), the acquit from ``helios_download_acquit.php``.
``api/list_actes.php`` filtered by ``unique_id`` (the act's @ctes identifier) is how the local
prefecture (``prefecture_sandbox``) finds an act; whether S2LOW filters so is unverified.

An act is never posted twice: after a 5xx, a timeout or a broken connection it is unknown
whether the archive arrived, so the next attempt first looks for the act's identifier and,
found, stops there; a post refused because the number is already there is looked up too. A PES
is posted once per call: S2LOW offers no search by file name, and Hélios refuses a second file
of the same ``NomFic`` (unverified), so an unanswered post is reported (``PrefectureUnavailable``)
for a person to check rather than repeated. Reads are retried, backing off exponentially,
``attempts`` calls in all. Every HTTP call is handed to ``record`` as an ``Exchange``, without
the password and with files replaced by their size and SHA-256.
"""

import json
import time
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from servicekit.http_client import ELIDED, RetryingClient, Transient, file_summary
from servicekit.http_client import Exchange as Exchange  # what ``record`` is handed
from services.eadmin import actes, pes

ACT_POST = "actes_transac_submit"
ACT_STATUS = "actes_transac_get_status"
ACT_LIST = "list_actes"
DOCUMENTS = "list_document_prefecture"
DOCUMENT = "actes_transac_get_document"
REPLY = "actes_transac_reponse_create"
PES_POST = "helios_importer_fichier"
PES_STATUS = "helios_transac_get_status"
PES_ACQUIT = "helios_download_acquit"
PATHS = {
    ACT_POST: "/modules/actes/actes_transac_submit.php",
    ACT_STATUS: "/modules/actes/actes_transac_get_status.php",
    ACT_LIST: "/modules/actes/api/list_actes.php",
    DOCUMENTS: "/modules/actes/api/list_document_prefecture.php",
    DOCUMENT: "/modules/actes/actes_transac_get_document.php",
    REPLY: "/modules/actes/actes_transac_reponse_create.php",
    PES_POST: "/modules/helios/api/helios_importer_fichier.php",
    PES_STATUS: "/modules/helios/api/helios_transac_get_status.php",
    PES_ACQUIT: "/modules/helios/helios_download_acquit.php",
}

# S2LOW's transaction statuses (StatusTransaction; Pastell's TdtConnecteur::getStatusString).
ERROR, CANCELLED, POSTED, WAITING, TRANSMITTED, ACKNOWLEDGED = -1, 0, 1, 2, 3, 4
VALIDATED, REFUSED, RECEIVED = 5, 6, 7
STATUSES = {
    ERROR: "Erreur", CANCELLED: "Annulé", POSTED: "Posté",
    WAITING: "En attente de transmission", TRANSMITTED: "Transmis",
    ACKNOWLEDGED: "Acquittement reçu", VALIDATED: "Validé", REFUSED: "Refusé",
    RECEIVED: "Document reçu (pas d'AR)", 8: "Acquittement envoyé", 12: "Envoyé au SAE",
    17: "En attente d'être postée", 19: "En attente de transmission au SAE",
    20: "Erreur lors de l'envoi au SAE", 21: "Document reçu (pas d'AR)",
}
# The commune's answers to a prefecture's message: (message answered, meaning). The second
# digit is S2LOW's ``type_envoie`` (@ctes file codes; unverified against S2LOW's form).
REPLIES = {
    "3-2": ("3-1", "Transmission de pièces complémentaires"),
    "3-3": ("3-1", "Refus explicite de transmission de pièces"),
    "4-2": ("4-1", "Lettre de justification"),
    "4-3": ("4-1", "Rejet explicite de la lettre d'observations"),
}


@dataclass(frozen=True)
class PrefectureSettings:
    url: str | None
    login: str
    password: str
    timeout: float = 10.0
    attempts: int = 4
    backoff: float = 0.5

    @classmethod
    def from_config(cls, config):
        """From the suite's config (``servicekit.config``: ``COMMUNS_PREFECTURE_*``)."""
        url = config.get("PREFECTURE_URL")
        return cls(
            url=url.rstrip("/") if url else None,
            login=config.get("PREFECTURE_LOGIN") or "",
            password=config.get("PREFECTURE_PASSWORD") or "",
            timeout=float(config.get("PREFECTURE_TIMEOUT") or 10.0),
            attempts=int(config.get("PREFECTURE_ATTEMPTS") or 4),
            backoff=float(config.get("PREFECTURE_BACKOFF") or 0.5),
        )

    def __repr__(self):
        # The settings end up in logs and tracebacks; the password must not.
        return f"PrefectureSettings(url={self.url!r}, login={self.login!r})"


@dataclass(frozen=True)
class ActStatus:
    """Where the act is at the platform; ``ar`` is the prefecture's acknowledgement, once
    received (status 4)."""

    code: int
    reason: str | None = None
    ar: actes.Message | None = None

    @property
    def label(self):
        return STATUSES.get(self.code, f"Statut {self.code}")

    @property
    def acknowledged_on(self):
        return self.ar.date if self.ar else None

    @property
    def message(self):
        """The AR as the registry keeps it."""
        return self.ar.as_record() if self.ar else None

    @property
    def refused(self):
        return self.code in (ERROR, REFUSED)


@dataclass(frozen=True)
class PrefectureMessage:
    """A message of the prefecture about an act; ``id`` is what an answer refers to."""

    id: str
    act_transaction_id: str
    message: actes.Message


@dataclass(frozen=True)
class PesStatus:
    code: int
    acquit: pes.Acquit | None = None
    reason: str | None = None

    @property
    def label(self):
        return STATUSES.get(self.code, f"Statut {self.code}")

    @property
    def verdict(self):
        """``ACK``, ``NACK``, or None while the accountant has not answered."""
        return self.acquit.verdict if self.acquit else None


class PrefectureError(Exception):
    """The platform could not do what was asked."""


class PrefectureRejected(PrefectureError):
    """A refusal: ``KO`` and its reason, or an HTTP 4xx other than 401/403."""


class PrefectureUnavailable(PrefectureError):
    """No platform configured, or every attempt met a 5xx, a timeout or a broken connection."""


class PrefectureAuthError(PrefectureError):
    """The platform refused the account: a setting to fix, not the act."""


class PrefectureClient(RetryingClient):
    error = PrefectureError
    unavailable = PrefectureUnavailable

    def __init__(self, settings, record=lambda exchange: None, http=None, sleep=time.sleep):
        super().__init__(settings, record, http, sleep)

    # -- acts (@ctes) ----------------------------------------------------------------------

    def post_act(self, transmission):
        """Posts an ``actes.Transmission``; the platform's transaction id, or the id of the act
        an earlier attempt posted."""
        files = {"enveloppe": (transmission.archive_name, transmission.archive_bytes,
                               "application/x-gzip")}
        look_first = False
        failure = None
        for attempt in range(1, self.settings.attempts + 1):
            try:
                if look_first:
                    found = self._find_act(transmission.identifier)
                    if found is not None:
                        return found
                return _ok_lines(self._once(ACT_POST, "POST", data={"api": "1"},
                                            files=files))[0]
            except Transient as error:
                # The archive may have arrived: look for it before posting again.
                failure, look_first = error, True
                self._back_off(attempt)
            except PrefectureRejected:
                # A number refused as already there was posted by an attempt whose answer was
                # lost, or by an instance that stopped before recording it.
                found = self.find_act(transmission.identifier)
                if found is not None:
                    return found
                raise
        raise self._gave_up(ACT_POST, failure)

    def find_act(self, identifier):
        """The transaction id of the act ``identifier`` at the platform, or None."""
        return self._retried(lambda: self._find_act(identifier), ACT_LIST)

    def status(self, transaction_id):
        """The act's ``ActStatus``, with the AR once the prefecture gave it."""
        lines = self._retried(lambda: _ok_lines(self._once(
            ACT_STATUS, "GET", params={"transaction": transaction_id})), ACT_STATUS)
        code = int(lines[0])
        rest = "\n".join(lines[1:]).strip()
        if code == ACKNOWLEDGED and rest:
            return ActStatus(code, ar=actes.parse_message(rest.encode(actes.ENCODING)))
        return ActStatus(code, reason=(rest or None) if code in (ERROR, REFUSED) else None)

    def messages(self, transaction_id):
        """The prefecture's messages about the act (courriers, demandes, observations, déféré,
        annulation), oldest first."""
        listed = self._retried(lambda: _json(self._once(DOCUMENTS, "GET")), DOCUMENTS)
        found = []
        for entry in listed:
            if str(entry.get("related_transaction_id")) != str(transaction_id):
                continue
            document_id = str(entry["id"])
            response = self._retried(
                lambda document_id=document_id: self._once(DOCUMENT, "GET",
                                                           params={"id": document_id}), DOCUMENT)
            found.append(PrefectureMessage(document_id, str(transaction_id),
                                           actes.parse_message(response.content)))
        return sorted(found, key=lambda m: (m.message.date or datetime.min.date(), m.id))

    def answer(self, message_id, reply, document, annexes=()):
        """Answers the prefecture's message ``message_id`` with ``reply`` (a ``REPLIES`` code)
        and the commune's letter ``document`` (``(file name, PDF)``); the answer's id."""
        if reply not in REPLIES:
            raise ValueError(f"reply: one of {', '.join(REPLIES)}")
        files = [("acte_pdf_file", (document[0], document[1], "application/pdf")),
                 *(("acte_attachments[]", (name, content, "application/pdf"))
                   for name, content in annexes)]
        # Answered once: a second letter would be a second answer at the prefecture.
        return _ok_lines(self._once(REPLY, "POST", files=files, data={
            "api": "1", "id": message_id, "type_envoie": reply.split("-")[1]}))[0]

    # -- accounting pieces (Hélios) ---------------------------------------------------------

    def post_pes(self, pes_file):
        """Posts a ``pes.PesFile`` (PES Aller); the platform's transaction id."""
        try:
            answer = _xml(self._once(PES_POST, "POST", files={
                "enveloppe": (pes_file.name, pes_file.content, "text/xml")}))
        except Transient as error:
            raise PrefectureUnavailable(f"{PES_POST}: {error}; whether {pes_file.name} "
                                        "arrived is unknown, check before sending it again") \
                from None
        if answer.findtext("resultat") != "OK":
            raise PrefectureRejected(answer.findtext("message") or "PES refusé")
        return answer.findtext("id")

    def pes_status(self, transaction_id):
        """Where the PES is, and the accountant's ACK or NACK once it came."""
        answer = self._retried(lambda: _xml(self._once(
            PES_STATUS, "GET", params={"transaction": transaction_id})), PES_STATUS)
        if answer.findtext("resultat") != "OK":
            raise PrefectureRejected(answer.findtext("message") or "statut indisponible")
        code = int(answer.findtext("status"))
        if code != ACKNOWLEDGED:
            return PesStatus(code, reason=answer.findtext("message") or None)
        acquit = self._retried(lambda: self._once(PES_ACQUIT, "GET",
                                                  params={"id": transaction_id}), PES_ACQUIT)
        return PesStatus(code, acquit=pes.parse_acquit(acquit.content))

    # -- calls -----------------------------------------------------------------------------

    def _find_act(self, identifier):
        listed = _json(self._once(ACT_LIST, "GET", params={"unique_id": identifier}))
        found = [entry for entry in listed if entry.get("unique_id") == identifier]
        return str(max(found, key=lambda entry: int(entry["id"]))["id"]) if found else None

    def _once(self, operation, method, params=None, data=None, files=None):
        if not self.settings.url:
            raise PrefectureUnavailable("no prefecture platform: set COMMUNS_PREFECTURE_URL")
        url = self.settings.url + PATHS[operation]
        response = self._exchange(
            operation, method, url, _summary(params, data, files),
            lambda: self.http.request(method, url, params=params, data=data, files=files,
                                      auth=(self.settings.login, self.settings.password),
                                      timeout=self.settings.timeout))
        status = response.status_code
        if status in (401, 403):
            raise PrefectureAuthError(
                f"{operation}: the platform refused the account {self.settings.login!r} "
                f"(HTTP {status})")
        if status >= 400:
            raise PrefectureRejected(f"{operation}: HTTP {status}: {response.text[:200]}")
        return response

    def _scrub(self, text):
        """What is recorded, without the password (the request's summary never has it)."""
        if isinstance(text, str) and text and self.settings.password:
            return text.replace(self.settings.password, ELIDED)
        return text


def _ok_lines(response):
    """The lines after S2LOW's ``OK``; its ``KO`` as a refusal."""
    lines = response.text.strip().splitlines()
    if not lines or lines[0].strip() != "OK":
        reason = " ".join(line.strip() for line in lines[1:]) or response.text[:200]
        raise PrefectureRejected(reason)
    if len(lines) < 2:
        raise Transient("OK without a value: the answer was cut")
    return [lines[1].strip(), *lines[2:]]


def _json(response):
    try:
        return json.loads(response.text)
    except ValueError:
        raise Transient("not JSON: a proxy's page or a cut answer") from None


def _xml(response):
    try:
        return etree.fromstring(response.content,
                                etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        raise Transient("not XML: a proxy's page or a cut answer") from None


def _summary(params, data, files):
    """What was sent, files as their size and SHA-256."""
    summary = {**(params or {}), **(data or {})}
    for field, (name, content, _) in (files.items() if isinstance(files, dict) else files or ()):
        summary.setdefault("files", []).append(
            {"field": field, "name": name, **file_summary(content)})
    return summary

