"""Stand-ins for what the gateway talks to: a signing key as identity holds one, and fake
services in place of the RPC proxies."""

import time
import uuid
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from contracts.identity import TOKEN_ALGORITHM, TOKEN_AUDIENCE, token_issuer
from servicekit.config import public_url

LAVERUNE, MONTPELLIER = "34134", "34172"
ADMIN_ID = str(uuid.UUID(int=1))
AGENT_ID = str(uuid.UUID(int=2))
CONVENTION_ID = str(uuid.UUID(int=3))
REQUEST_ID = str(uuid.UUID(int=4))
TERMINATION_ID = str(uuid.UUID(int=5))
EXTRA_ID = str(uuid.UUID(int=6))
OMITTED = object()


@dataclass
class SigningKey:
    """An ES256 key pair and its key id, as the identity service holds one, and the issuer it
    signs as: the public URL of the config the gateway under test runs with."""

    kid: str
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    issuer: str

    @classmethod
    def generate(cls, config, kid=None):
        return cls(kid or uuid.uuid4().hex, ec.generate_private_key(ec.SECP256R1()),
                   token_issuer(public_url(config)))

    def jwk(self):
        public = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": TOKEN_ALGORITHM}

    def token(self, subject, role, commune=None, kind="account", expires_in=900, **claims):
        """A token as identity issues them; ``claims`` override or add any claim, or leave
        it out when given as ``OMITTED``."""
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": TOKEN_AUDIENCE,
            "sub": subject,
            "kind": kind,
            "role": role,
            "commune": commune,
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not OMITTED}
        return jwt.encode(
            payload, self.private_key, algorithm=TOKEN_ALGORITHM, headers={"kid": self.kid}
        )


class FakeService:
    """Stands in for the ``RpcProxy`` of one service.

    ``answers`` maps a method to its answer: a value, or a function of the call's arguments
    (which may raise a contract error, as the real service would). Every call is recorded in
    ``calls`` as ``(method, args, kwargs)``; a call with no answer fails the request loudly.
    """

    def __init__(self, service_name, **answers):
        self.service_name = service_name
        self.answers = answers
        self.calls = []

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)
        return _FakeMethod(self, method)

    def called(self, method):
        return [call for call in self.calls if call[0] == method]


@dataclass
class _FakeMethod:
    service: FakeService
    method: str

    def call_async(self, *args, **kwargs):
        self.service.calls.append((self.method, args, kwargs))
        answer = self.service.answers[self.method]
        return _FakeReply(lambda: answer(*args, **kwargs) if callable(answer) else answer)


@dataclass
class _FakeReply:
    produce: object

    def result(self):
        return self.produce()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# -- what subscriptions and billing are sent and answer, in their wire form -------------------

NEW_CONVENTION = {
    "title": "Convention de gestion de services numériques communs",
    "period_start": "2022-01-01", "period_end": "2024-12-31", "population_vintage": 2023,
    "applications": [{"application": "eadmin", "annual_cost": "21312.00"},
                     {"application": "opendata", "annual_cost": None}],
    "initial_subscriptions": {LAVERUNE: ["eadmin", "opendata"]},
}
NEW_EXTRA = {"year": 2022, "description": "Formulaire supplémentaire", "quantity": "1.00",
             "unit_price": "100.00"}


def commune(insee):
    return {"insee": insee, "name": f"Commune {insee}", "siren": "213401342", "siret": None,
            "populations": [{"vintage": 2023, "population": 4469}],
            "subscriptions": [{"application": "opendata", "effective_from": "2022-01-01",
                               "effective_until": None}],
            "terminated_on": None}


CONVENTION = {
    "id": CONVENTION_ID, "title": "Convention de gestion de services numériques communs",
    "period_start": "2022-01-01", "period_end": "2024-12-31", "population_vintage": 2023,
    "applications": [{"application": "eadmin", "annual_cost": "21312.00"},
                     {"application": "opendata", "annual_cost": None}],
    "amendments": [], "registered_at": "2026-03-02T09:00:00+00:00",
}


def subscription_request(insee, request, status="pending"):
    return {"id": REQUEST_ID, "commune": insee, "application": request["application"],
            "action": request["action"], "received_on": request.get("received_on") or "2022-06-15",
            "status": status, "effective_from": "2023-01-01", "answer_due": "2022-07-15",
            "reason": None, "decided_at": None}


def termination(insee):
    return {"id": TERMINATION_ID, "commune": insee, "received_on": "2022-09-30",
            "status": "accepted", "effective_on": "2023-01-01", "reason": None}


def annex(year):
    return {"year": year, "convention": CONVENTION_ID, "population_vintage": 2023,
            "total_population": 510_000, "applications": []}


def title(insee, year):
    return {"number": None, "kind": "title", "status": "draft", "commune": insee, "year": year,
            "issued_at": None, "due_by": f"{year}-09-30", "corrects": None,
            "needs_correction": False, "lines": [], "total_net": "0.00", "total_vat": "0.00",
            "total": "0.00"}


def extra(insee, new_extra):
    return {**new_extra, "id": EXTRA_ID, "commune": insee, "amount": "100.00",
            "vat_rate": "0.20", "recorded_at": "2026-03-02T09:00:00+00:00"}


def title_life(insee, number="2022-000001", state="received"):
    return {**title(insee, 2022), "number": number, "status": "issued",
            "issued_at": "2022-03-01T09:00:00+00:00", "total_net": "150.11", "total": "150.11",
            "state": state, "history": [], "transport": "chorus-pro",
            "flow_number": "CPP-FLUX-1", "chorus_invoice_id": "1", "chorus_status": None,
            "rejection_reason": None, "deposited_at": "2022-03-01T09:05:00+00:00",
            "received_on": "2022-03-02", "contest_until": "2022-03-11", "due_on": "2022-04-01",
            "accepted_on": None, "amount_paid": "0.00", "outstanding": "150.11",
            "contestations": [], "payments": [], "exchanges": []}


def buyer(insee, update=None):
    return {"commune": insee, "siret": None, "service_code": None, "commitment_number": None,
            **(update or {})}


E_INVOICE = '<?xml version="1.0" encoding="UTF-8"?><rsm:CrossIndustryInvoice/>'


def subscriptions_answers():
    """Plausible answers of every RPC of subscriptions, for a test to override."""
    return {
        "list_communes": lambda: [commune(LAVERUNE), commune(MONTPELLIER)],
        "get_commune": commune,
        "update_commune": lambda insee, update: {**commune(insee), **update},
        "update_population": lambda insee, population: commune(insee),
        "register_convention": lambda convention, registered_by: CONVENTION,
        "list_conventions": lambda: [CONVENTION],
        "get_convention": lambda convention_id: CONVENTION,
        "amend_convention": lambda convention_id, amendment, recorded_by: CONVENTION,
        "file_subscription_request": lambda insee, request, filed_by: subscription_request(
            insee, request),
        "subscription_requests": lambda insee: [],
        "get_subscription_request": lambda insee, request_id: subscription_request(
            insee, {"application": "participation", "action": "add"}),
        "decide_subscription_request": lambda insee, request_id, decision, decided_by: (
            subscription_request(insee, {"application": "participation", "action": "add"},
                                 status="accepted")),
        "notify_termination": lambda insee, notice, filed_by: termination(insee),
        "terminations": lambda insee: [],
        "get_termination": lambda insee, termination_id: termination(insee),
    }


def billing_answers():
    """Plausible answers of every RPC of billing, for a test to override."""
    return {
        "shares": annex,
        "titles": lambda insee, year: [title(insee, year or 2022)],
        "issue_titles": lambda year, idempotency_key, issued_by: {
            "year": year, "issued": [], "already_issued": 0},
        "late_titles": lambda year: [],
        "correct_title": lambda number, confirmed_by: {
            "credit_note": title(LAVERUNE, 2022), "corrected_title": None},
        "record_extra": lambda insee, new_extra, recorded_by: extra(insee, new_extra),
        "extras": lambda insee, year: [],
        "get_extra": lambda insee, extra_id: extra(insee, NEW_EXTRA),
        "title": title_life,
        "e_invoice": lambda insee, number: E_INVOICE,
        "deposit_titles": lambda year: {"year": year, "requested": ["2022-000001"],
                                        "already_requested": 0},
        "deposit_again": lambda insee, number: title_life(insee, number, "issued"),
        "contest_title": lambda insee, number, contestation, filed_by: title_life(
            insee, number, "contested"),
        "decide_contestation": lambda insee, number, decision, decided_by: {
            "title": title_life(insee, number, "accepted"), "correction": None},
        "record_payment": lambda insee, number, payment, recorded_by: title_life(
            insee, number, "paid"),
        "deadlines": lambda received_on: {"received_on": received_on,
                                          "contest_until": "2026-11-12",
                                          "due_on": "2026-12-02"},
        "buyer": buyer,
        "update_buyer": buyer,
    }


# -- what e-administration is sent and answers

ACT_ID = str(uuid.UUID(int=7))
CERTIFICATE_ID = str(uuid.UUID(int=8))
NEW_ACT = {"number": "2022_042", "nature": "DE", "subject": "Budget primitif 2022",
           "classification": "7.1", "decided_on": "2022-03-01",
           "document": {"file_name": "deliberation.pdf", "content": "JVBERi0xLjQK"},
           "signatories": [{"signatory": "Marie Dupont", "capacity": "Maire"}]}


def act(insee, state="draft"):
    return {"id": ACT_ID, "commune": insee, "number": "2022_042", "nature": "DE",
            "subject": "Budget primitif 2022", "classification": "7.1",
            "decided_on": "2022-03-01", "state": state, "signed_on": None,
            "transmit_by": None, "late": False, "identifier": None, "transaction_id": None,
            "transmitted_at": None, "acknowledged_on": None, "published_on": None,
            "enforceable_on": None, "files": [], "signatures": [], "history": []}


def certificate(insee):
    return {"id": CERTIFICATE_ID, "commune": insee, "holder": "Marie Dupont",
            "subject": "CN=Marie Dupont", "serial": "1", "fingerprint": "ab" * 32,
            "not_before": "2022-01-01", "not_after": "2025-01-01", "revoked": False,
            "expiring": False}


def eadmin_answers():
    """Plausible answers of every RPC of e-administration, for a test to override."""
    return {
        "register_certificate": lambda insee, new: certificate(insee),
        "certificates": lambda insee: [certificate(insee)],
        "create_act": lambda insee, new, created_by: act(insee),
        "acts": lambda insee: [act(insee)],
        "act": lambda insee, act_id: act(insee),
        "sign_act": lambda insee, act_id, signature: act(insee, "signed"),
        "transmit_act": lambda insee, act_id: act(insee, "transmitted"),
        "publish_act": lambda insee, act_id, publication: act(insee, "signed"),
        "archive": lambda insee: [],
        "check_archive": lambda insee, act_id: {"act_id": act_id, "intact": True,
                                                "altered": [], "signatures": []},
        "create_session": lambda insee, new: council_session(insee),
        "council_session": lambda insee, session_id: council_session(insee),
        "convene": lambda insee, session_id: council_session(insee),
        "add_session_document": lambda insee, session_id, document: council_session(insee),
        "send_accounting_batch": lambda insee, new: accounting_batch(insee),
        "answer_prefecture": lambda insee, act_id, answer: act(insee, "archived"),
        "revoke_certificate": lambda insee, certificate_id: certificate(insee),
        "export_archive": lambda insee, act_id: "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==",
        "accounting_batches": lambda insee: [accounting_batch(insee)],
    }


def accounting_batch(insee):
    return {"id": str(uuid.UUID(int=10)), "commune": insee, "kind": "titres", "year": 2022,
            "number": 1, "file_name": "PESALR2.xml", "total": "150.11", "state": "posted",
            "transaction_id": "1", "verdict": None, "errors": [], "posted_at": None,
            "answered_at": None}


NEW_BATCH = {"kind": "titres", "year": 2022, "number": 1,
             "budget": {"id_coll": "21340134200018", "cod_col": "134", "cod_bud": "01",
                        "id_post": "034000", "label": "Lavérune - budget principal"},
             "pieces": [{"number": 1, "subject": "Cantine mars 2022",
                         "lines": [{"account": "7067", "amount": "150.11",
                                    "party": "Famille Martin"}]}]}


SESSION_ID = str(uuid.UUID(int=9))


def council_session(insee):
    return {"id": SESSION_ID, "commune": insee, "council": "conseil municipal",
            "starts_at": "2022-03-10T18:30:00+01:00", "place": "Salle du conseil",
            "urgent": False, "agenda": ["Budget"], "convened_at": None,
            "earliest_session_on": "2022-03-05", "documents": [], "convocations": []}


DATASET_ID = str(uuid.UUID(int=11))
RESOURCE_ID = str(uuid.UUID(int=12))
NEW_DATASET = {"title": "Délibérations du conseil municipal", "description": "Depuis 2020.",
               "theme": "GOVE", "frequency": "monthly", "licence": {"code": "lo-2.0"},
               "contact": {"name": "Mairie", "email": "mairie@laverune.fr"}}


def dataset(insee, state="draft"):
    return {"id": DATASET_ID,
            "publisher": {"id": f"commune-{insee}", "kind": "commune", "name": "Lavérune"},
            "title": NEW_DATASET["title"], "description": NEW_DATASET["description"],
            "keywords": [], "theme": "GOVE",
            "licence": {"code": "lo-2.0", "title": "Licence Ouverte", "url": None,
                        "deliberation": None},
            "frequency": "monthly", "temporal_start": None, "temporal_end": None,
            "spatial": "Lavérune", "contact": NEW_DATASET["contact"], "state": state,
            "maintained_by": None, "created_at": "2024-03-01T09:00:00+00:00",
            "published_at": None, "updated_at": None, "update_due_on": None,
            "overdue": False, "resources": []}


def resource():
    return {"id": RESOURCE_ID, "title": "Délibérations 2024", "description": None,
            "format": "csv", "media_type": "text/csv", "schema_name": None,
            "table_schema": None, "current_version": None, "versions": []}


def record_page():
    return {"fields": ["objet"], "total_count": 1, "results": [{"objet": "Budget"}],
            "next_cursor": None}


def opendata_answers():
    """Plausible answers of every RPC of the open data portal, for a test to override."""
    return {
        "search_datasets": lambda query: {"total_count": 1, "results": [dataset(LAVERUNE)]},
        "dataset": lambda dataset_id: dataset(LAVERUNE, "published"),
        "records": lambda dataset_id, resource_id, query, insee=None: record_page(),
        "export_page": lambda dataset_id, resource_id, query: {
            "fields": ["objet", "montant"], "rows": [["Budget", 12.5]], "next_cursor": None},
        "catalog": lambda publisher_id=None, syntax="json-ld": (
            "@prefix dcat: <http://www.w3.org/ns/dcat#> ." if syntax == "turtle" else "{}"),
        "publishers": lambda: [],
        "publisher": lambda publisher_id: {"id": publisher_id, "kind": "commune",
                                           "name": "Lavérune", "insee": LAVERUNE,
                                           "siren": "213401342", "dataset_count": 0,
                                           "datasets": []},
        "create_dataset": lambda insee, new, created_by: dataset(insee),
        "commune_datasets": lambda insee: [dataset(insee)],
        "commune_dataset": lambda insee, dataset_id: dataset(insee),
        "change_dataset": lambda insee, dataset_id, changes: dataset(insee),
        "add_resource": lambda insee, dataset_id, new: resource(),
        "upload_version": lambda insee, dataset_id, resource_id, upload, uploaded_by:
            resource(),
        "publish_dataset": lambda insee, dataset_id: dataset(insee, "published"),
        "overdue_datasets": lambda insee: [],
    }


# -- online services

CITIZEN_ID = str(uuid.UUID(int=13))
AGENDA_ID = str(uuid.UUID(int=14))
CITIZEN_REQUEST_ID = str(uuid.UUID(int=15))
CONTACT = {"address": "Place de la mairie, 34880 Lavérune", "email": "mairie@laverune.fr",
           "phone": "04 67 47 00 00", "opening_hours": None}
BRANDING = {"name": "Mairie de Lavérune", "logo_url": None, "primary_colour": "#005a9c",
            "secondary_colour": "#f2a900", "contact": CONTACT}
NEW_CUSTOM_FORM = {"slug": "pret-de-salle", "title": "Prêt de salle",
                   "description": "Réserver une salle communale.",
                   "handling_service": "Service vie associative", "retention_days": 365,
                   "fields": [{"name": "date_souhaitee", "label": "Date", "type": "date",
                               "required": True}],
                   "integration_price": "450.00"}
NEW_REQUEST = {"form": "contact", "data": {"subject": "Horaires", "message": "Bonjour"}}


def form_definition(slug="contact", commune=None):
    return {"slug": slug, "version": 1, "title": "Formulaire de contact",
            "description": "Écrire à la mairie.", "category": "contact", "kind": "contact",
            "handling_service": "Accueil", "retention_days": 365,
            "fields": [{"name": "subject", "label": "Objet", "type": "text", "required": True,
                        "choices": None, "max_length": 200, "minimum": None, "maximum": None,
                        "personal": False}],
            "attachments": [], "transitions": [{"from": "new", "to": "in_progress"}],
            "commune": commune}


def citizen_request(insee, status="new"):
    return {"id": CITIZEN_REQUEST_ID, "reference": f"{insee}-2026-000001", "commune": insee,
            "form": "contact", "form_version": 1, "form_title": "Formulaire de contact",
            "handling_service": "Accueil", "status": status,
            "submitted_at": "2026-11-27T10:00:00+00:00",
            "registration_acknowledged_at": "2026-11-27T10:00:00+00:00",
            "receipt_acknowledged_at": None, "acknowledge_by": "2026-12-11",
            "data": {"subject": "Horaires"}, "attachments": [],
            "requester": {"account_id": CITIZEN_ID, "name": "Ada Lovelace",
                          "email": "ada@example.org"},
            "flags": [], "waiting_list_position": None,
            "history": [{"status": "new", "at": "2026-11-27T10:00:00+00:00", "by": "citizen"}],
            "seconds_in_status": {"new": 60}, "messages": [], "anonymised": False}


def eservices_answers():
    """Plausible answers of every RPC of the online services, for a test to override."""
    agenda = {"id": AGENDA_ID, "commune": LAVERUNE, "name": "M. le Maire",
              "kind": "elected_official"}
    slot = {"id": str(uuid.UUID(int=16)), "agenda_id": AGENDA_ID,
            "starts_at": "2026-12-01T09:00:00+00:00", "ends_at": "2026-12-01T09:30:00+00:00",
            "booked": False}
    camp = {"id": str(uuid.UUID(int=17)), "commune": LAVERUNE, "name": "Séjour neige",
            "starts_on": "2027-02-15", "ends_on": "2027-02-20", "places": 20,
            "places_taken": 0, "waiting_list": 0}
    branding = {**BRANDING, "commune": LAVERUNE, "updated_at": "2026-11-27T10:00:00+00:00"}
    custom = {**form_definition("pret-de-salle", LAVERUNE), "active": True,
              "integration_number": 2, "billable": True, "integration_price": "450.00"}
    return {
        "catalogue": lambda: [form_definition()],
        "commune_forms": lambda insee, include_inactive=False: [
            {**form_definition(), "active": True}],
        "branding": lambda insee: branding,
        "agendas": lambda insee: [agenda],
        "slots": lambda insee, agenda_id, query: [slot],
        "camps": lambda insee: [camp],
        "set_branding": lambda insee, new, by: branding,
        "create_custom_form": lambda insee, new, by: custom,
        "custom_forms": lambda insee: [custom],
        "activate_form": lambda insee, slug, by, active=True: {**form_definition(slug),
                                                               "active": active},
        "create_agenda": lambda insee, new: agenda,
        "open_slots": lambda insee, agenda_id, new: [slot],
        "create_camp": lambda insee, new: camp,
        "commune_requests": lambda insee, query: {"items": [citizen_request(insee)],
                                                  "counts": {"new": 1}, "next_cursor": None},
        "commune_request": lambda insee, request_id: citizen_request(insee),
        "move_request": lambda insee, request_id, transition, agent_id: citizen_request(
            insee, transition["to"]),
        "agent_message": lambda insee, request_id, message, agent_id: citizen_request(insee),
        "submit_request": lambda insee, new, requester, idempotency_key=None:
            citizen_request(insee),
        "citizen_requests": lambda account_id: [citizen_request(LAVERUNE)],
        "citizen_request": lambda account_id, request_id: citizen_request(LAVERUNE),
        "citizen_message": lambda account_id, request_id, message: citizen_request(LAVERUNE),
        "cancel_request": lambda account_id, request_id: citizen_request(LAVERUNE,
                                                                          "cancelled"),
        "export_personal_data": lambda citizen: {"requests": [citizen_request(LAVERUNE)],
                                                 "mails": []},
    }


# -- public procurement

CONSULTATION_ID = str(uuid.UUID(int=18))
QUESTION_ID = str(uuid.UUID(int=19))
BID_ID = str(uuid.UUID(int=20))
COMPANY_ID = str(uuid.UUID(int=23))
NEW_CONSULTATION = {
    "reference": "2026-MAPA-014", "object": "Réfection de la voirie", "procedure": "adapted",
    "cpv_codes": ["45233141-9"], "lots": [{"number": 1, "title": "Voirie"}],
    "estimated_value": "180000.00", "questions_deadline": "2026-12-10T12:00:00+01:00",
    "bid_deadline": "2026-12-15T12:00:00+01:00", "notice": "Avis d'appel public.",
}
NEW_AWARD = {"lot": 1, "bid_id": BID_ID, "amount": "152000.00", "price_form": "Ferme",
             "duration_months": 6, "notified_on": "2026-12-20", "place_code": "34880"}


def page_of(*results):
    """A page of ``{total_count, results}`` holding ``results``, all there are."""
    return {"total_count": len(results), "results": list(results)}


def procurement_answers():
    """Plausible answers of every RPC of the procurement portal, for a test to override."""
    buyer = {"id": "commune-34134", "kind": "commune", "name": "Lavérune", "insee": LAVERUNE,
             "siret": "21340134200018", "welcome": None, "logo_url": None,
             "open_consultations": 1}

    def consultation(*_, **__):
        return {"id": CONSULTATION_ID, "buyer": buyer, **NEW_CONSULTATION, "state": "published",
                "published_at": "2026-11-27T10:00:00+00:00", "documents": [],
                "withdrawals": 0, "bids": 0}

    question = {"id": QUESTION_ID, "text": "Quel enrobé ?", "asked_at": "2026-11-28T10:00:00Z",
                "answer": None, "answered_at": None}
    withdrawal = {"company_name": "ACME", "siret": "73282932000074",
                  "at": "2026-11-28T10:00:00+00:00", "documents_version": {"CCTP.pdf": 1}}
    report = {"consultation_id": CONSULTATION_ID, "reference": "2026-MAPA-014",
              "bid_deadline": "2026-12-15T11:00:00+00:00",
              "opened_at": "2026-12-15T11:00:01+00:00", "opened_by": AGENT_ID, "bids": []}
    receipt = {"bid_id": BID_ID, "consultation_id": CONSULTATION_ID,
               "reference": "2026-MAPA-014", "lot": 1, "siret": "73282932000074",
               "deposited_at": "2026-12-14T10:00:00+00:00", "late": False, "files": []}
    return {
        "search_consultations": lambda query: {"total_count": 1,
                                               "results": [consultation()]},
        "consultation": consultation,
        "document": lambda consultation_id, name: {"file_name": name, "version": 1,
                                                   "content": "JVBERi0xLjQK"},
        "public_questions": lambda consultation_id, page: page_of(question),
        "buyers": lambda: [buyer],
        "buyer": lambda buyer_id: buyer,
        "set_buyer_page": lambda insee, kind, page: buyer,
        "create_consultation": consultation,
        "commune_consultations": lambda insee: [consultation()],
        "commune_consultation": consultation,
        "add_document": consultation,
        "publish": consultation,
        "withdrawals": lambda insee, consultation_id, page: page_of(withdrawal),
        "questions": lambda insee, consultation_id, page: page_of(question),
        "answer_question": lambda *args: {**question, "answer": "BBSG",
                                          "answered_at": "2026-11-29T10:00:00Z"},
        "bid_counts": lambda insee, consultation_id: [{"lot": 1, "on_time": 2, "late": 0}],
        "open_bids": lambda *args: report,
        "opening_report": lambda *args: report,
        "award": lambda *args: {"lot": 1, "bid_id": BID_ID, "holder_name": "ACME",
                                "holder_siret": "73282932000074", "amount": "152000.00",
                                "notified_on": "2026-12-20", "contract_id": "20262026MAPA0141",
                                "retention_until": "2031-12-20"},
        "history": lambda insee, consultation_id, page: page_of(),
        "destroy_archive": consultation,
        "withdraw": lambda insee, consultation_id, company: withdrawal,
        "ask_question": lambda insee, consultation_id, company, new: question,
        "deposit_bid": lambda insee, consultation_id, company, new: receipt,
    }


# -- participation

PROCESS_ID = str(uuid.UUID(int=24))
PROPOSAL_ID = str(uuid.UUID(int=25))
COMMENT_ID = str(uuid.UUID(int=26))
NEW_PROCESS = {
    "title": "Budget participatif 2027", "description": "Vos projets.", "kind": "consultation",
    "phases": {"voting": {"starts_at": "2027-03-01T08:00:00+01:00",
                          "ends_at": "2027-03-31T20:00:00+02:00"}},
}


def participation_answers():
    """Plausible answers of every RPC of the participation platform, for a test to override."""
    def process(*_, **__):
        return {"id": PROCESS_ID, "commune": LAVERUNE, "publisher_kind": "commune",
                **{k: NEW_PROCESS[k] for k in ("title", "description", "kind")},
                "eligibility": "any_account",
                "phases": {"voting": {"starts_at": "2027-03-01T07:00:00+00:00",
                                      "ends_at": "2027-03-31T18:00:00+00:00"}},
                "current_phase": "voting", "budget": None, "min_projects": 1,
                "max_projects": None, "threshold": None, "signatures": None, "proposals": 1,
                "closed_at": None, "results": None}

    proposal = {"id": PROPOSAL_ID, "process_id": PROCESS_ID, "title": "Un marché bio",
                "body": "Le samedi.", "budget_amount": None, "location": None,
                "address": None, "author": "Ada Lovelace",
                "submitted_at": "2027-03-02T10:00:00+00:00", "hidden": False,
                "hidden_reason": None, "comments": 0, "votes": None}
    comment = {"id": COMMENT_ID, "proposal_id": PROPOSAL_ID, "parent_id": None,
               "body": "Oui !", "author": "Ada Lovelace", "at": "2027-03-02T11:00:00+00:00",
               "hidden": False, "hidden_reason": None}
    report = {"id": str(uuid.UUID(int=27)), "target": "comment", "target_id": COMMENT_ID,
              "reason": "off_topic", "details": None, "at": "2027-03-02T12:00:00+00:00"}
    ballot = {"proposals": [PROPOSAL_ID], "total": "30000.00",
              "cast_at": "2027-03-05T10:00:00+00:00"}
    return {
        "processes": lambda query: [process()],
        "process": process,
        "proposals": lambda process_id, page: [proposal],
        "comments": lambda process_id, proposal_id, page: [comment],
        "declare_residence": lambda account_id, residence: residence,
        "propose": lambda *args: proposal,
        "comment": lambda *args: comment,
        "report": lambda *args: report,
        "vote": lambda *args: {"proposal_id": PROPOSAL_ID,
                               "at": "2027-03-05T10:00:00+00:00"},
        "cast_ballot": lambda *args: ballot,
        "ballot": lambda *args: ballot,
        "sign": lambda *args: {"process_id": PROCESS_ID, "at": "2027-03-05T10:00:00+00:00",
                               "signatures": 1},
        "create_process": process,
        "commune_processes": lambda insee: [process()],
        "reports": lambda insee, process_id, page: page_of(report),
        "moderate": lambda insee, process_id, target, target_id, moderation, moderator: (
            proposal if target == "proposal" else comment),
        "close_process": process,
        "export_personal_data": lambda citizen: {
            "residence": None, "proposals": [], "comments": [], "votes": [], "reports": []},
    }


# -- TéléAlerte

CONTACT_ID = str(uuid.UUID(int=28))
CELL_ID = str(uuid.UUID(int=30))
CAMPAIGN_ID = str(uuid.UUID(int=31))
OPERATOR_TOKEN = "s3cr3t-operator-token"
NEW_CAMPAIGN = {"scenario": "inondation", "groups": ["ecoles"], "channels": ["sms", "email"]}
CAP_DOCUMENT = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
                f"<identifier>{CAMPAIGN_ID}</identifier><status>Actual</status></alert>")


def campaign(status="running", **changes):
    """A campaign of Lavérune in its wire form (CampaignSchema)."""
    counts = {"queued": 1, "sent": 0, "delivered": 1, "failed": 0, "acknowledged": 0,
              "total": 2}
    return {"id": CAMPAIGN_ID, "commune": LAVERUNE, "scenario": "inondation",
            "headline": "Inondation", "status": status, "cap_status": "Actual",
            "groups": ["ecoles"], "channels": ["sms", "email"], "area": "Lavérune",
            "cell_id": None, "recipients": 1, "round": 1,
            "counts": {"sms": {**counts, "total": 1, "queued": 0},
                       "email": {**counts, "total": 1, "delivered": 0}},
            "totals": counts, "sms_preview": {"encoding": "GSM-7", "length": 4, "segments": 1},
            "sms_segments": 1, "voice_minutes": 0, "cost": "0.05",
            "launched_at": "2026-11-27T10:00:00+00:00", "launched_by": AGENT_ID,
            "completed_at": "2026-11-27T10:05:00+00:00" if status == "completed" else None,
            "stopped_at": "2026-11-27T10:05:00+00:00" if status == "stopped" else None,
            **changes}


def alerting_answers():
    """Plausible answers of every RPC of TéléAlerte, for a test to override."""
    account = {"id": str(uuid.UUID(int=29)), "commune": LAVERUNE, "name": "Agent",
               "email": "agent@laverune.fr", "phone": None, "function": None,
               "created_at": "2026-11-27T10:00:00+00:00"}
    contact = {"id": CONTACT_ID, "external_id": "1", "name": "Ada Martin",
               "phone": "+33612345678", "email": None, "address": None, "language": "fr",
               "kind": "resident", "groups": ["ecoles"], "consent": True,
               "consent_method": "formulaire", "unsubscribed_at": None, "alertable": True}
    scenario = {"slug": "inondation", "title": "Inondation", "event": "Inondation",
                "category": "Met", "severity": "Severe", "urgency": "Expected",
                "instruction": "Montez à l'étage.", "sms": "Crue", "email_subject": None,
                "email_body": None, "voice": None, "commune": None, "placeholders": [],
                "sms_preview": {"encoding": "GSM-7", "length": 4, "segments": 1}}
    cell = {"id": CELL_ID, "commune": LAVERUNE, "title": "Crue", "scenario": None,
            "status": "active", "activated_at": "2026-11-27T10:00:00+00:00",
            "closed_at": None, "members": [], "stakeholders_notified": 0, "log": []}
    delivery = {"recipient_id": CONTACT_ID, "recipient_kind": "contact", "name": "Ada Martin",
                "channel": "sms", "status": "delivered", "attempts": 1, "round": 1,
                "sent_at": "2026-11-27T10:00:01+00:00",
                "settled_at": "2026-11-27T10:00:05+00:00", "last_error": None, "reply": None}
    return {
        "create_account": lambda insee, new, by: account,
        "accounts": lambda insee: [account],
        "import_contacts": lambda insee, upload: {"inserted": 1, "updated": 0, "deleted": 0,
                                                  "rejected": []},
        "contacts": lambda insee, query: {"total_count": 1, "results": [contact]},
        "unsubscribe": lambda insee, contact_id: {**contact, "alertable": False},
        "groups": lambda insee: [{"name": "ecoles", "contacts": 1, "alertable": 1}],
        "scenarios": lambda insee: [scenario],
        "add_scenario": lambda insee, new: scenario,
        "activate_cell": lambda insee, new, by: cell,
        "crisis_cells": lambda insee: [cell],
        "crisis_cell": lambda insee, cell_id: cell,
        "log_to_cell": lambda insee, cell_id, entry, by: cell,
        "close_cell": lambda insee, cell_id, closing, by: {**cell, "status": "closed"},
        "launch_campaign": lambda insee, new, launched_by, idempotency_key=None: campaign(),
        "campaigns": lambda insee: [campaign()],
        # Completed, so that a campaign's event stream ends after its first state.
        "campaign": lambda insee, campaign_id: campaign("completed"),
        "campaign_deliveries": lambda insee, campaign_id, query: {
            "total_count": 1, "results": [delivery]},
        "pause_campaign": lambda insee, campaign_id, by: campaign("paused"),
        "resume_campaign": lambda insee, campaign_id, by: campaign(),
        "stop_campaign": lambda insee, campaign_id, by: campaign("stopped"),
        "resend_campaign": lambda insee, campaign_id, by: campaign(round=2),
        "campaign_cap": lambda insee, campaign_id: CAP_DOCUMENT,
        "operator_callback": lambda token, body: {"recorded": True},
        "export_personal_data": lambda citizen: {"contacts": [], "deliveries": []},
    }


# -- the accessibility relay

POINT_ID = str(uuid.UUID(int=32))
LINK_ID = str(uuid.UUID(int=33))
RELAY_SESSION_ID = str(uuid.UUID(int=34))
INTERPRETER_ID = str(uuid.UUID(int=35))
RELAY_TOKEN = "r3lay-link-token_Abc"
RELAY_SECRET = "s3ssion-secret_Xyz"
NEW_POINT = {"name": "Accueil de la mairie", "kind": "town_hall",
             "weekly_hours": {"monday": [{"start": "08:30", "end": "12:00"}]}}


def reception_point(open_now=True, **changes):
    """A reception point of Lavérune in its wire form (ReceptionPointSchema)."""
    return {"id": POINT_ID, "commune": LAVERUNE, **NEW_POINT, "closures": [],
            "open_now": open_now,
            "next_opening": "2026-11-30T07:30:00+00:00" if not open_now else
            "2026-11-27T09:00:00+01:00", **changes}


def relay_link(status="active", token=None):
    return {"id": LINK_ID, "point_id": POINT_ID, "status": status,
            "created_at": "2026-11-27T10:00:00+00:00",
            "retired_at": None if status == "active" else "2026-11-28T10:00:00+00:00",
            "token": token}


def relay_session(status="waiting", mode="lsf", channel="telephone"):
    return {"id": RELAY_SESSION_ID, "commune": LAVERUNE, "point_id": POINT_ID, "mode": mode,
            "channel": channel, "status": status,
            "requested_at": "2026-11-27T10:00:00+00:00", "taken_at": None,
            "connected_at": None, "ended_at": None, "wait_seconds": None,
            "talk_seconds": None, "transcript_lines": 0}


def transcript_line(speaker="person", text="Bonjour, je voudrais un rendez-vous."):
    return {"id": 1, "speaker": speaker, "text": text, "said_at": "2026-11-27T10:01:00+00:00"}


def accessibility_answers():
    """Plausible answers of every RPC of the accessibility relay, for a test to override."""
    usage = {"commune": LAVERUNE, "month": "2026-11", "sessions": 2, "answered": 1,
             "unanswered": 1, "talk_minutes": 7, "wait_seconds_mean": 30.0,
             "wait_seconds_max": 30.0, "by_mode": {"lsf": 2}, "by_channel": {"telephone": 2},
             "reception_minutes": 1260, "coverage": "1.0000", "required_share": "0.5000"}
    return {
        "create_point": lambda insee, new: reception_point(),
        "points": lambda insee: [reception_point()],
        "create_link": lambda insee, point_id: relay_link(token=RELAY_TOKEN),
        "revoke_link": lambda insee, link_id: relay_link("revoked"),
        "links": lambda insee: [relay_link()],
        "relay_point": lambda token: reception_point(),
        "open_session": lambda token, new: {**relay_session(
            mode=new["mode"], channel=new.get("channel", "telephone")), "secret": RELAY_SECRET},
        "person_session": lambda token, session_id, secret: relay_session(),
        "hang_up": lambda token, session_id, secret: relay_session("abandoned"),
        "person_transcript": lambda token, session_id, secret, query: [transcript_line()],
        "person_says": lambda token, session_id, secret, line: transcript_line(
            text=line["text"]),
        "interpreter_transcript": lambda session_id, account_id, query: [transcript_line()],
        "interpreter_says": lambda session_id, account_id, line: transcript_line(
            "interpreter", line["text"]),
        "usage": lambda insee, query: {**usage, "month": query["month"]},
        "queue": lambda modes=None: [relay_session()],
        "set_interpreter": lambda account_id, profile: {**profile, "account_id": account_id},
        "take_session": lambda session_id, account_id: relay_session("taken"),
        "connect_session": lambda session_id, account_id: relay_session("connected"),
        "end_session": lambda session_id, account_id: relay_session("ended"),
    }


# -- what each service answers about its dead letters (operations) ----------------------------

DEAD_LETTER_EVENT_ID = str(uuid.UUID(int=0xDEAD))


def dead_letters_answer(count=1):
    """A service's ``dead_letters``: what finds each one again, never its payload."""
    return {"total": count, "dead_letters": [
        {"id": number, "event_type": "account.deleted", "event_id": DEAD_LETTER_EVENT_ID,
         "consumer": "eservices.on_account_deleted", "error": "ValueError: no such request",
         "received_at": "2026-11-29T10:00:00+00:00"} for number in range(count, 0, -1)]}
