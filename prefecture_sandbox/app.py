"""The local prefecture's WSGI application: S2LOW's routes for @ctes and Hélios as the
transmission client calls them (``services.eadmin.transmission``), the prefecture and the
public accountant behind them, and a control API under ``/_sandbox``.

State lives in memory, behind one lock. A valid archive (``checks``) is taken at once (status
1, posted); time then moves it, one step every ``step_seconds``, to 3 (transmitted) and 4
(acknowledged, with an AR ``1-2`` dated that day), unless the control API set its status; with
``step_seconds`` None only the control API moves it. A second archive for an act identifier
already taken is refused with S2LOW's words. A PES Aller is acknowledged by the accountant at
its first step (at once without steps): ACK, or NACK with the errors the control API gave.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from prefecture_sandbox.checks import check_archive
from servicekit.clock import LEGAL_TIME_ZONE
from servicekit.sandbox_app import (
    SandboxApp,
    json_response,
    local_moment,
    parse_moment,
    same_secret,
)
from services.eadmin import actes, pes

ERROR, POSTED, TRANSMITTED, ACKNOWLEDGED, REFUSED = -1, 1, 3, 4, 6
STATUSES = (ERROR, 0, POSTED, 2, TRANSMITTED, ACKNOWLEDGED, 5, REFUSED, 7)
AUTOMATIC_STEPS = (TRANSMITTED, ACKNOWLEDGED)
STATUS_LABELS = {POSTED: "Posté", ACKNOWLEDGED: "Acquittement reçu"}
# What the prefecture may send about an act after its AR.
LATER_MESSAGES = ("2-1", "3-1", "4-1", "5-1", "6-2")
REPLY_KINDS = {"3-1": ("2", "3"), "4-1": ("2", "3")}

ACT_POST = "actes_transac_submit"
ACT_STATUS = "actes_transac_get_status"
ACT_LIST = "list_actes"
DOCUMENTS = "list_document_prefecture"
DOCUMENT = "actes_transac_get_document"
REPLY = "actes_transac_reponse_create"
PES_POST = "helios_importer_fichier"
PES_STATUS = "helios_transac_get_status"
PES_ACQUIT = "helios_download_acquit"
OPERATIONS = (ACT_POST, ACT_STATUS, ACT_LIST, DOCUMENTS, DOCUMENT, REPLY, PES_POST, PES_STATUS,
              PES_ACQUIT)
FAULTS = ("500", "timeout")


@dataclass
class Act:
    id: int
    identifier: str
    archive_name: str
    posted_at: datetime
    # (status, at, reason) in the order they happened or were set.
    history: list = field(default_factory=list)
    automatic: bool = True
    ar: bytes | None = None

    @property
    def status(self):
        return self.history[-1][0]


@dataclass
class Document:
    """A prefecture message about an act (S2LOW: a transaction of its own)."""

    id: int
    act: Act
    code: str
    at: datetime
    xml: bytes
    read: bool = False


@dataclass
class Pes:
    id: int
    file_name: str
    posted_at: datetime
    acquit: bytes | None = None


class PrefectureSandbox(SandboxApp):
    """``account``: the ``(login, password)`` it accepts."""

    OPERATIONS = OPERATIONS
    FAULTS = FAULTS

    def __init__(self, account, step_seconds=2.0, fault_seconds=30.0,
                 now=lambda: datetime.now(UTC)):
        self.account = account
        super().__init__([
            Rule("/modules/actes/actes_transac_submit.php", endpoint="post_act",
                 methods=["POST"]),
            Rule("/modules/actes/actes_transac_get_status.php", endpoint="act_status"),
            Rule("/modules/actes/api/list_actes.php", endpoint="list_acts"),
            Rule("/modules/actes/api/list_document_prefecture.php", endpoint="documents"),
            Rule("/modules/actes/actes_transac_get_document.php", endpoint="document"),
            Rule("/modules/actes/actes_transac_reponse_create.php", endpoint="reply",
                 methods=["POST"]),
            Rule("/modules/helios/api/helios_importer_fichier.php", endpoint="post_pes",
                 methods=["POST"]),
            Rule("/modules/helios/api/helios_transac_get_status.php", endpoint="pes_status"),
            Rule("/modules/helios/helios_download_acquit.php", endpoint="pes_acquit"),
            Rule("/_sandbox/state", endpoint="state", methods=["GET"]),
            Rule("/_sandbox/acts/<identifier>/status", endpoint="set_status",
                 methods=["POST"]),
            Rule("/_sandbox/acts/<identifier>/messages", endpoint="send_message",
                 methods=["POST"]),
            Rule("/_sandbox/pes/acquit", endpoint="set_acquit", methods=["POST"]),
        ], step_seconds, fault_seconds, now)

    def reset(self):
        super().reset()
        with self._lock:
            self._acts = {}
            self._documents = {}
            self._replies = []
            self._pes = {}
            self._posts = Counter()
            self._refused = []
            self._acquit = (True, ())
            self._next_id = 1001

    # -- S2LOW: @ctes ----------------------------------------------------------------------

    def on_post_act(self, request):
        return self._serve(ACT_POST, request, self._post_act)

    def on_act_status(self, request):
        return self._serve(ACT_STATUS, request, self._act_status)

    def on_list_acts(self, request):
        return self._serve(ACT_LIST, request, self._list_acts)

    def on_documents(self, request):
        return self._serve(DOCUMENTS, request, self._list_documents)

    def on_document(self, request):
        return self._serve(DOCUMENT, request, self._document)

    def on_reply(self, request):
        return self._serve(REPLY, request, self._reply)

    def _post_act(self, request):
        upload = request.files.get("enveloppe")
        if upload is None:
            return _ko("Aucune enveloppe n'a été postée")
        content = upload.read()
        checked = check_archive(upload.filename, content)
        if checked.problem:
            return _ko(checked.problem)
        with self._lock:
            for identifier in checked.identifiers:
                self._posts[identifier] += 1
            taken = [i for i in checked.identifiers if self._act(i) is not None]
            if taken:
                self._refused.append({"archive": upload.filename, "identifiers": taken})
                return _ko("Un acte portant le même numéro interne existe déjà dans la base de "
                           "données.\nIl faut peut-être ajouter un suffixe au numéro.")
            now = self.now()
            created = []
            for identifier in checked.identifiers:
                act = Act(self._new_id(), identifier, upload.filename, now,
                          history=[(POSTED, now, None)])
                self._acts[act.id] = act
                created.append(act)
        return _ok(str(created[0].id))

    def _act_status(self, request):
        with self._lock:
            act = self._acts.get(_int(request.args.get("transaction")))
            if act is None:
                return _ko("Numéro de transaction invalide.")
            self._advance(act, self.now())
            status, _, reason = act.history[-1]
            if status == ACKNOWLEDGED and act.ar:
                return _ok(str(status), act.ar.decode(actes.ENCODING))
            if status in (ERROR, REFUSED):
                return _ok(str(status), reason or "")
            return _ok(str(status))

    def _list_acts(self, request):
        wanted = request.args.get("unique_id")
        with self._lock:
            now = self.now()
            listed = []
            for act in self._acts.values():
                self._advance(act, now)
                if wanted in (None, "", act.identifier):
                    listed.append({"id": act.id, "unique_id": act.identifier,
                                   "number": act.identifier.split("-")[3],
                                   "status": act.status, "submission_date": _moment(act.posted_at)})
        return json_response(listed)

    def _list_documents(self, request):
        with self._lock:
            return json_response([
                {"id": d.id, "related_transaction_id": d.act.id, "type": d.code,
                 "date": _moment(d.at), "unique_id": d.act.identifier}
                for d in self._documents.values()])

    def _document(self, request):
        with self._lock:
            document = self._documents.get(_int(request.args.get("id")))
            if document is None:
                return _ko("Document inconnu")
            document.read = True
            return Response(document.xml, content_type="text/xml; charset=ISO-8859-1")

    def _reply(self, request):
        with self._lock:
            document = self._documents.get(_int(request.form.get("id")))
            if document is None:
                return _ko("Transaction inconnue")
            kinds = REPLY_KINDS.get(document.code, ())
            if request.form.get("type_envoie") not in kinds:
                return _ko(f"Type de réponse invalide pour un message {document.code}")
            letter = request.files.get("acte_pdf_file")
            if letter is None or not letter.read(5).startswith(b"%PDF-"):
                return _ko("Le fichier de la réponse doit être un PDF")
            reply_id = self._new_id()
            self._replies.append({
                "id": reply_id, "message_id": document.id, "act": document.act.identifier,
                "answers": document.code,
                "code": f"{document.code[0]}-{request.form['type_envoie']}",
                "files": [f.filename for f in request.files.values()],
                "at": _moment(self.now())})
        return _ok(str(reply_id))

    # -- S2LOW: Hélios ---------------------------------------------------------------------

    def on_post_pes(self, request):
        return self._serve(PES_POST, request, self._post_pes)

    def on_pes_status(self, request):
        return self._serve(PES_STATUS, request, self._pes_status)

    def on_pes_acquit(self, request):
        return self._serve(PES_ACQUIT, request, self._pes_acquit)

    def _post_pes(self, request):
        upload = request.files.get("enveloppe")
        try:
            name = pes.read_file_name(upload.read()) if upload else None
        except ValueError:
            name = None
        if not name:
            return _helios({"resultat": "KO", "message": "Le fichier n'est pas un PES Aller"})
        with self._lock:
            if any(p.file_name == name for p in self._pes.values()):
                return _helios({"resultat": "KO",
                                "message": f"Le fichier {name} a déjà été transmis"})
            flow = Pes(self._new_id(), name, self.now())
            self._pes[flow.id] = flow
        return _helios({"id": str(flow.id), "resultat": "OK", "message": "Fichier importé"})

    def _pes_status(self, request):
        with self._lock:
            flow = self._pes.get(_int(request.args.get("transaction")))
            if flow is None:
                return _helios({"resultat": "KO", "message": "Transaction inconnue"},
                               root="transaction")
            self._answer_pes(flow, self.now())
            status = ACKNOWLEDGED if flow.acquit else POSTED
        return _helios({"id": str(flow.id), "resultat": "OK", "status": str(status),
                        "message": STATUS_LABELS[status]}, root="transaction")

    def _pes_acquit(self, request):
        with self._lock:
            flow = self._pes.get(_int(request.args.get("id")))
            if flow is None or flow.acquit is None:
                return _ko("Pas d'acquittement pour cette transaction")
            return Response(flow.acquit, content_type="text/xml; charset=ISO-8859-1")

    def _answer_pes(self, flow, now):
        due = flow.posted_at + timedelta(seconds=self.step_seconds or 0)
        if flow.acquit is None and due <= now:
            accepted, errors = self._acquit
            flow.acquit = pes.build_acquit(flow.file_name, accepted, errors)

    # -- time ------------------------------------------------------------------------------

    def _advance(self, act, now):
        """The steps the prefecture would have taken by ``now``."""
        if not act.automatic or not self.step_seconds:
            return
        done = sum(1 for status, _, _ in act.history if status in AUTOMATIC_STEPS)
        while done < len(AUTOMATIC_STEPS):
            due = act.posted_at + timedelta(seconds=self.step_seconds * (done + 1))
            if due > now:
                return
            self._move(act, AUTOMATIC_STEPS[done], due)
            done += 1

    def _move(self, act, status, at, reason=None):
        act.history.append((status, at, reason))
        if status == ACKNOWLEDGED and act.ar is None:
            act.ar = actes.build_message("1-2", act.identifier, _local_date(at))

    # -- serving ---------------------------------------------------------------------------

    def _serve(self, operation, request, handle):
        """Faults first, as a broken network or server would; then the account; then the
        operation."""
        fault = self._called(operation)
        if fault is not None and not fault.after_store:
            return self._fail(fault)
        if not self._authorized(request):
            return Response("KO\nÉchec de l'authentification\n", status=401,
                            headers={"WWW-Authenticate": 'Basic realm="S2LOW"'},
                            content_type="text/plain; charset=utf-8")
        response = handle(request)
        return self._fail(fault) if fault is not None else response

    def _authorized(self, request):
        given = request.authorization
        if given is None or given.type != "basic":
            return False
        login, password = self.account
        return (same_secret(given.username or "", login)
                and same_secret(given.password or "", password))

    def _act(self, identifier):
        return next((a for a in self._acts.values() if a.identifier == identifier), None)

    def _new_id(self):
        self._next_id += 1
        return self._next_id

    # -- control ---------------------------------------------------------------------------

    def on_state(self, request):
        with self._lock:
            now = self.now()
            acts = []
            for act in self._acts.values():
                self._advance(act, now)
                acts.append(self._act_view(act))
            for flow in self._pes.values():
                self._answer_pes(flow, now)
            return json_response({
                "acts": acts,
                "documents": [{"id": d.id, "act": d.act.identifier, "type": d.code,
                               "at": _moment(d.at), "read": d.read}
                              for d in self._documents.values()],
                "replies": list(self._replies),
                "pes": [{"id": p.id, "file_name": p.file_name, "posted_at": _moment(p.posted_at),
                         "acquit": pes.parse_acquit(p.acquit).verdict if p.acquit else None}
                        for p in self._pes.values()],
                "posts": dict(self._posts), "refused": list(self._refused),
                "calls": dict(self._calls),
            })

    def _act_view(self, act):
        return {"id": act.id, "identifier": act.identifier, "archive": act.archive_name,
                "status": act.status, "posted_at": _moment(act.posted_at),
                "history": [{"status": s, "at": _moment(at), "reason": r}
                            for s, at, r in act.history]}

    def on_set_status(self, request, identifier):
        body = self._control_body(request)
        status = body.get("status")
        if status not in STATUSES:
            return json_response({"error": f"status: one of {', '.join(map(str, STATUSES))}"}, 422)
        try:
            at = parse_moment(body["at"]) if body.get("at") else None
        except (TypeError, ValueError):
            return json_response({"error": "at: an ISO 8601 date or date and time"}, 422)
        with self._lock:
            act = self._act(identifier)
            if act is None:
                return json_response({"error": f"no act {identifier}"}, 404)
            now = self.now()
            self._advance(act, now)
            # From now on the statuses are the caller's: time no longer moves this act.
            act.automatic = False
            self._move(act, status, at or now, body.get("reason"))
            return json_response({"act": self._act_view(act)})

    def on_send_message(self, request, identifier):
        body = self._control_body(request)
        code = body.get("type")
        if code not in LATER_MESSAGES:
            return json_response({"error": f"type: one of {', '.join(LATER_MESSAGES)}"}, 422)
        try:
            at = parse_moment(body["at"]) if body.get("at") else None
        except (TypeError, ValueError):
            return json_response({"error": "at: an ISO 8601 date or date and time"}, 422)
        with self._lock:
            act = self._act(identifier)
            if act is None:
                return json_response({"error": f"no act {identifier}"}, 404)
            at = at or self.now()
            document = Document(self._new_id(), act, code, at, actes.build_message(
                code, identifier, _local_date(at), body.get("text")))
            self._documents[document.id] = document
        return json_response({"id": document.id, "type": code, "act": identifier}, 201)

    def on_set_acquit(self, request):
        body = self._control_body(request)
        errors = body.get("errors") or []
        if not isinstance(errors, list) or not all(isinstance(e, str) for e in errors):
            return json_response({"error": "errors: a list of texts"}, 422)
        with self._lock:
            self._acquit = (bool(body.get("accepted", True)), tuple(errors))
        return json_response({"accepted": self._acquit[0], "errors": errors})


def _ok(*lines):
    """S2LOW's answer: ``OK`` then the values, one a line, in ISO-8859-1."""
    return _text("\n".join(("OK", *lines)) + "\n")


def _ko(reason):
    return _text(f"KO\n{reason}\n")


def _text(text):
    return Response(text.encode(actes.ENCODING, "xmlcharrefreplace"),
                    content_type="text/plain; charset=ISO-8859-1")


def _helios(values, root="import"):
    body = "".join(f"<{key}>{_escape(value)}</{key}>" for key, value in values.items())
    return Response(f'<?xml version="1.0" encoding="ISO-8859-1"?>\n<{root}>{body}</{root}>\n'
                    .encode(actes.ENCODING, "xmlcharrefreplace"),
                    content_type="text/xml; charset=ISO-8859-1")


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _moment(moment):
    return local_moment(moment)


def _local_date(moment):
    return moment.astimezone(LEGAL_TIME_ZONE).date()
