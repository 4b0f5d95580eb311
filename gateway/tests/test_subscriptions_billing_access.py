"""Who may call each route of subscriptions, billing, e-administration, online services and
open data: Metropole admins everything but what only a citizen does; a commune's agents their
commune's requests, terminations, titles, extras, acts, datasets and citizens' requests;
citizens what is open to every account (the communes, Annex 1) and their own requests, to any
commune; anyone, without a token, the open data portal and the communes' online forms. A
refused call reaches no service. The accessibility relay's routes too: a commune's hours,
links and usage for its agents; the queue and the sessions for the relay provider's
interpreters (the queue for Metropole admins too); a link's page and its session route for
anyone."""

from dataclasses import dataclass, field

import pytest

from contracts.identity import (
    CITIZEN,
    COMMUNE_AGENT,
    COMPANY,
    METROPOLE_ADMIN,
    RELAY_INTERPRETER,
)
from gateway.openapi import routes_of
from gateway.service import GatewayService
from gateway.tests.fakes import (
    ACT_ID,
    AGENDA_ID,
    BRANDING,
    CAMPAIGN_ID,
    CELL_ID,
    CERTIFICATE_ID,
    CITIZEN_REQUEST_ID,
    COMMENT_ID,
    CONSULTATION_ID,
    CONTACT_ID,
    CONVENTION_ID,
    DATASET_ID,
    EXTRA_ID,
    LAVERUNE,
    LINK_ID,
    MONTPELLIER,
    NEW_ACT,
    NEW_AWARD,
    NEW_BATCH,
    NEW_CAMPAIGN,
    NEW_CONSULTATION,
    NEW_CONVENTION,
    NEW_CUSTOM_FORM,
    NEW_DATASET,
    NEW_EXTRA,
    NEW_POINT,
    NEW_PROCESS,
    NEW_REQUEST,
    OPERATOR_TOKEN,
    POINT_ID,
    PROCESS_ID,
    PROPOSAL_ID,
    QUESTION_ID,
    RELAY_SECRET,
    RELAY_SESSION_ID,
    RELAY_TOKEN,
    REQUEST_ID,
    RESOURCE_ID,
    SESSION_ID,
    TERMINATION_ID,
)

pytestmark = pytest.mark.broker

ANY_ACCOUNT = "any account"
PUBLIC = "anyone, without a token"
ADMIN = (METROPOLE_ADMIN,)
ADMIN_OR_AGENT = (METROPOLE_ADMIN, COMMUNE_AGENT)
CITIZENS = (CITIZEN,)
COMPANIES = (COMPANY,)
INTERPRETERS = (RELAY_INTERPRETER,)
QUEUE_READERS = (RELAY_INTERPRETER, METROPOLE_ADMIN)


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # {insee} stands for the commune the caller tries to reach
    service: str
    rpc: str
    allowed: object  # roles, or ANY_ACCOUNT
    status: int = 200
    json: dict | None = None
    params: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)  # besides the caller's token

    def url(self, commune=LAVERUNE):
        return self.path.replace("{insee}", commune)

    @property
    def commune_scoped(self):
        return "{insee}" in self.path


RESOURCE = f"/api/v1/opendata/datasets/{DATASET_ID}/resources/{RESOURCE_ID}"
COMMUNE_DATASET = f"/api/v1/communes/{{insee}}/opendata/datasets/{DATASET_ID}"
ESERVICES = "/api/v1/communes/{insee}/eservices"
COMMUNE_REQUEST = f"{ESERVICES}/requests/{CITIZEN_REQUEST_ID}"
MY_REQUEST = f"/api/v1/me/requests/{CITIZEN_REQUEST_ID}"
PUBLIC_CONSULTATION = f"/api/v1/procurement/consultations/{CONSULTATION_ID}"
BUYER = "/api/v1/communes/{insee}/procurement"
CONSULTATION = f"{BUYER}/consultations/{CONSULTATION_ID}"
PDF = {"file_name": "CCTP.pdf", "content": "JVBERi0xLjQK"}
PROCESS = f"/api/v1/participation/processes/{PROCESS_ID}"
PROPOSAL = f"{PROCESS}/proposals/{PROPOSAL_ID}"
COMMUNE_PROCESS = f"/api/v1/communes/{{insee}}/participation/processes/{PROCESS_ID}"
ALERTING = "/api/v1/communes/{insee}/alerting"
CAMPAIGN = f"{ALERTING}/campaigns/{CAMPAIGN_ID}"
ACCESSIBILITY = "/api/v1/communes/{insee}/accessibility"
RELAY_SESSION = f"/api/v1/accessibility/sessions/{RELAY_SESSION_ID}"
PERSON_SESSION = f"/api/v1/relay/{RELAY_TOKEN}/sessions/{RELAY_SESSION_ID}"
SECRET = {"X-Relay-Session-Secret": RELAY_SECRET}
CALLS = [
    Call("GET", "/api/v1/communes", "subscriptions", "list_communes", ANY_ACCOUNT),
    Call("GET", "/api/v1/communes/{insee}", "subscriptions", "get_commune", ADMIN_OR_AGENT),
    Call("PATCH", "/api/v1/communes/{insee}", "subscriptions", "update_commune", ADMIN,
         json={"siret": "21340134200018"}),
    Call("PUT", "/api/v1/communes/{insee}/populations/2023", "subscriptions",
         "update_population", ADMIN, json={"population": 4469}),
    Call("POST", "/api/v1/conventions", "subscriptions", "register_convention", ADMIN, 201,
         json=NEW_CONVENTION),
    Call("GET", "/api/v1/conventions", "subscriptions", "list_conventions", ADMIN),
    Call("GET", f"/api/v1/conventions/{CONVENTION_ID}", "subscriptions", "get_convention",
         ADMIN),
    Call("POST", f"/api/v1/conventions/{CONVENTION_ID}/amendments", "subscriptions",
         "amend_convention", ADMIN, 201,
         json={"application": "alerting", "annual_cost": "30000.00", "signed_on": "2022-03-01"}),
    Call("POST", "/api/v1/communes/{insee}/subscription-requests", "subscriptions",
         "file_subscription_request", ADMIN_OR_AGENT, 201,
         json={"application": "participation", "action": "add"}),
    Call("GET", "/api/v1/communes/{insee}/subscription-requests", "subscriptions",
         "subscription_requests", ADMIN_OR_AGENT),
    Call("GET", f"/api/v1/communes/{{insee}}/subscription-requests/{REQUEST_ID}",
         "subscriptions", "get_subscription_request", ADMIN_OR_AGENT),
    Call("POST", f"/api/v1/communes/{{insee}}/subscription-requests/{REQUEST_ID}/decision",
         "subscriptions", "decide_subscription_request", ADMIN, json={"decision": "accept"}),
    Call("POST", "/api/v1/communes/{insee}/termination", "subscriptions", "notify_termination",
         ADMIN_OR_AGENT, 201, json={}),
    Call("GET", "/api/v1/communes/{insee}/terminations", "subscriptions", "terminations",
         ADMIN_OR_AGENT),
    Call("GET", f"/api/v1/communes/{{insee}}/terminations/{TERMINATION_ID}", "subscriptions",
         "get_termination", ADMIN_OR_AGENT),
    Call("GET", "/api/v1/billing/shares", "billing", "shares", ANY_ACCOUNT,
         params={"year": "2022"}),
    Call("GET", "/api/v1/communes/{insee}/billing/titles", "billing", "titles",
         ADMIN_OR_AGENT, params={"year": "2022"}),
    Call("POST", "/api/v1/billing/titles/issue", "billing", "issue_titles", ADMIN,
         json={"year": 2022}),
    Call("GET", "/api/v1/billing/titles/late", "billing", "late_titles", ADMIN,
         params={"year": "2022"}),
    Call("POST", "/api/v1/billing/titles/2022-000001/correction", "billing", "correct_title",
         ADMIN, 201),
    Call("POST", "/api/v1/communes/{insee}/billing/extras", "billing", "record_extra", ADMIN,
         201, json=NEW_EXTRA),
    Call("GET", "/api/v1/communes/{insee}/billing/extras", "billing", "extras", ADMIN_OR_AGENT),
    Call("GET", f"/api/v1/communes/{{insee}}/billing/extras/{EXTRA_ID}", "billing", "get_extra",
         ADMIN_OR_AGENT),
    Call("GET", "/api/v1/communes/{insee}/billing/titles/2022-000001", "billing", "title",
         ADMIN_OR_AGENT),
    Call("GET", "/api/v1/communes/{insee}/billing/titles/2022-000001/invoice.xml", "billing",
         "e_invoice", ADMIN_OR_AGENT),
    Call("POST", "/api/v1/billing/titles/deposit", "billing", "deposit_titles", ADMIN, 202,
         json={"year": 2022}),
    Call("POST", "/api/v1/communes/{insee}/billing/titles/2022-000001/deposit", "billing",
         "deposit_again", ADMIN, 202),
    Call("POST", "/api/v1/communes/{insee}/billing/titles/2022-000001/contestation", "billing",
         "contest_title", ADMIN_OR_AGENT, 201,
         json={"emailed_on": "2022-03-05", "reason": "Population erronée"}),
    Call("POST", "/api/v1/communes/{insee}/billing/titles/2022-000001/decision", "billing",
         "decide_contestation", ADMIN, json={"decision": "maintain"}),
    Call("POST", "/api/v1/communes/{insee}/billing/titles/2022-000001/payments", "billing",
         "record_payment", ADMIN, 201, json={"paid_on": "2022-03-20", "amount": "150.11"}),
    Call("GET", "/api/v1/billing/deadlines", "billing", "deadlines", ANY_ACCOUNT,
         params={"received_on": "2026-11-02"}),
    Call("GET", "/api/v1/communes/{insee}/billing/buyer", "billing", "buyer", ADMIN_OR_AGENT),
    Call("PUT", "/api/v1/communes/{insee}/billing/buyer", "billing", "update_buyer",
         ADMIN_OR_AGENT, json={"service_code": "FINANCES", "commitment_number": None}),
    Call("POST", "/api/v1/communes/{insee}/eadmin/certificates", "eadmin",
         "register_certificate", ADMIN_OR_AGENT, 201,
         json={"holder": "Marie Dupont", "pkcs12": "MIIB", "passphrase": "secret"}),
    Call("GET", "/api/v1/communes/{insee}/eadmin/certificates", "eadmin", "certificates",
         ADMIN_OR_AGENT),
    Call("POST", "/api/v1/communes/{insee}/eadmin/acts", "eadmin", "create_act",
         ADMIN_OR_AGENT, 201, json=NEW_ACT),
    Call("GET", "/api/v1/communes/{insee}/eadmin/acts", "eadmin", "acts", ADMIN_OR_AGENT),
    Call("GET", f"/api/v1/communes/{{insee}}/eadmin/acts/{ACT_ID}", "eadmin", "act",
         ADMIN_OR_AGENT),
    Call("POST", f"/api/v1/communes/{{insee}}/eadmin/acts/{ACT_ID}/signatures", "eadmin",
         "sign_act", ADMIN_OR_AGENT, 201,
         json={"certificate_id": CERTIFICATE_ID, "passphrase": "secret"}),
    Call("POST", f"/api/v1/communes/{{insee}}/eadmin/acts/{ACT_ID}/transmission", "eadmin",
         "transmit_act", ADMIN_OR_AGENT, 202),
    Call("POST", f"/api/v1/communes/{{insee}}/eadmin/acts/{ACT_ID}/publication", "eadmin",
         "publish_act", ADMIN_OR_AGENT, json={"published_on": "2022-03-02"}),
    Call("GET", "/api/v1/communes/{insee}/eadmin/archive", "eadmin", "archive",
         ADMIN_OR_AGENT),
    Call("GET", f"/api/v1/communes/{{insee}}/eadmin/archive/{ACT_ID}/integrity", "eadmin",
         "check_archive", ADMIN_OR_AGENT),
    Call("POST", "/api/v1/communes/{insee}/eadmin/sessions", "eadmin", "create_session",
         ADMIN_OR_AGENT, 201,
         json={"starts_at": "2022-03-10T18:30:00+01:00", "place": "Salle du conseil",
               "agenda": ["Budget"],
               "councillors": [{"name": "Jean Martin", "email": "jean.martin@example.org"}]}),
    Call("GET", f"/api/v1/communes/{{insee}}/eadmin/sessions/{SESSION_ID}", "eadmin",
         "council_session", ADMIN_OR_AGENT),
    Call("POST", f"/api/v1/communes/{{insee}}/eadmin/sessions/{SESSION_ID}/convocations",
         "eadmin", "convene", ADMIN_OR_AGENT),
    Call("POST", f"/api/v1/communes/{{insee}}/eadmin/acts/{ACT_ID}/answers", "eadmin",
         "answer_prefecture", ADMIN_OR_AGENT, 201,
         json={"message_id": "1", "reply": "3-2",
               "document": {"file_name": "pieces.pdf", "content": "JVBERi0xLjQK"}}),
    Call("POST", f"/api/v1/communes/{{insee}}/eadmin/certificates/{CERTIFICATE_ID}/revocation",
         "eadmin", "revoke_certificate", ADMIN_OR_AGENT),
    Call("GET", f"/api/v1/communes/{{insee}}/eadmin/archive/{ACT_ID}/package", "eadmin",
         "export_archive", ADMIN_OR_AGENT),
    Call("POST", "/api/v1/communes/{insee}/eadmin/accounting-batches", "eadmin",
         "send_accounting_batch", ADMIN_OR_AGENT, 202, json=NEW_BATCH),
    Call("GET", "/api/v1/communes/{insee}/eadmin/accounting-batches", "eadmin",
         "accounting_batches", ADMIN_OR_AGENT),
    Call("POST", f"/api/v1/communes/{{insee}}/eadmin/sessions/{SESSION_ID}/documents",
         "eadmin", "add_session_document", ADMIN_OR_AGENT, 201,
         json={"file_name": "annexe.pdf", "content": "JVBERi0xLjQK"}),
    Call("GET", "/api/v1/opendata/datasets", "opendata", "search_datasets", PUBLIC,
         params={"q": "délibérations"}),
    Call("GET", f"/api/v1/opendata/datasets/{DATASET_ID}", "opendata", "dataset", PUBLIC),
    Call("GET", f"{RESOURCE}/records", "opendata", "records", PUBLIC,
         params={"filter": "montant>=10", "sort": "-montant"}),
    Call("GET", f"{RESOURCE}/export.csv", "opendata", "export_page", PUBLIC),
    Call("GET", f"{RESOURCE}/export.json", "opendata", "export_page", PUBLIC),
    Call("GET", "/api/v1/opendata/catalog.jsonld", "opendata", "catalog", PUBLIC),
    Call("GET", "/api/v1/opendata/catalog.ttl", "opendata", "catalog", PUBLIC),
    Call("GET", "/api/v1/opendata/publishers", "opendata", "publishers", PUBLIC),
    Call("GET", "/api/v1/opendata/publishers/commune-34134", "opendata", "publisher", PUBLIC),
    Call("GET", "/api/v1/opendata/publishers/commune-34134/catalog.jsonld", "opendata",
         "catalog", PUBLIC),
    Call("GET", "/api/v1/opendata/publishers/commune-34134/catalog.ttl", "opendata",
         "catalog", PUBLIC),
    Call("POST", "/api/v1/communes/{insee}/opendata/datasets", "opendata", "create_dataset",
         ADMIN_OR_AGENT, 201, json=NEW_DATASET),
    Call("GET", "/api/v1/communes/{insee}/opendata/datasets", "opendata", "commune_datasets",
         ADMIN_OR_AGENT),
    Call("GET", f"{COMMUNE_DATASET}", "opendata", "commune_dataset", ADMIN_OR_AGENT),
    Call("PATCH", f"{COMMUNE_DATASET}", "opendata", "change_dataset", ADMIN_OR_AGENT,
         json={"frequency": "annual"}),
    Call("POST", f"{COMMUNE_DATASET}/resources", "opendata", "add_resource", ADMIN_OR_AGENT,
         201, json={"title": "Délibérations 2024", "format": "csv"}),
    Call("POST", f"{COMMUNE_DATASET}/resources/{RESOURCE_ID}/versions", "opendata",
         "upload_version", ADMIN_OR_AGENT, 201,
         json={"file_name": "deliberations.csv", "content": "b2JqZXQKQnVkZ2V0Cg=="}),
    Call("GET", f"{COMMUNE_DATASET}/resources/{RESOURCE_ID}/records", "opendata", "records",
         ADMIN_OR_AGENT, params={"fields": "objet"}),
    Call("POST", f"{COMMUNE_DATASET}/publication", "opendata", "publish_dataset",
         ADMIN_OR_AGENT),
    Call("GET", "/api/v1/communes/{insee}/opendata/overdue-datasets", "opendata",
         "overdue_datasets", ADMIN_OR_AGENT),
    Call("GET", "/api/v1/catalogue", "eservices", "catalogue", PUBLIC),
    Call("GET", f"{ESERVICES}/forms", "eservices", "commune_forms", PUBLIC),
    Call("GET", f"{ESERVICES}/branding", "eservices", "branding", PUBLIC),
    Call("GET", f"{ESERVICES}/agendas", "eservices", "agendas", PUBLIC),
    Call("GET", f"{ESERVICES}/agendas/{AGENDA_ID}/slots", "eservices", "slots", PUBLIC,
         params={"available": "true"}),
    Call("GET", f"{ESERVICES}/camps", "eservices", "camps", PUBLIC),
    Call("PUT", f"{ESERVICES}/branding", "eservices", "set_branding", ADMIN, json=BRANDING),
    Call("POST", f"{ESERVICES}/custom-forms", "eservices", "create_custom_form", ADMIN, 201,
         json=NEW_CUSTOM_FORM),
    Call("GET", f"{ESERVICES}/custom-forms", "eservices", "custom_forms", ADMIN_OR_AGENT),
    Call("PUT", f"{ESERVICES}/forms/contact", "eservices", "activate_form", ADMIN_OR_AGENT),
    Call("DELETE", f"{ESERVICES}/forms/contact", "eservices", "activate_form",
         ADMIN_OR_AGENT),
    Call("POST", f"{ESERVICES}/agendas", "eservices", "create_agenda", ADMIN_OR_AGENT, 201,
         json={"name": "M. le Maire", "kind": "elected_official"}),
    Call("POST", f"{ESERVICES}/agendas/{AGENDA_ID}/slots", "eservices", "open_slots",
         ADMIN_OR_AGENT, 201,
         json={"starts_at": "2026-12-01T09:00:00+01:00", "minutes": 30, "count": 4}),
    Call("POST", f"{ESERVICES}/camps", "eservices", "create_camp", ADMIN_OR_AGENT, 201,
         json={"name": "Séjour neige", "starts_on": "2027-02-15", "ends_on": "2027-02-20",
               "places": 20}),
    Call("GET", f"{ESERVICES}/requests", "eservices", "commune_requests", ADMIN_OR_AGENT,
         params={"status": "new"}),
    Call("GET", COMMUNE_REQUEST, "eservices", "commune_request", ADMIN_OR_AGENT),
    Call("POST", f"{COMMUNE_REQUEST}/transitions", "eservices", "move_request",
         ADMIN_OR_AGENT, json={"to": "in_progress"}),
    Call("POST", f"{COMMUNE_REQUEST}/messages", "eservices", "agent_message", ADMIN_OR_AGENT,
         201, json={"text": "Pouvez-vous préciser ?"}),
    Call("POST", f"{ESERVICES}/requests", "eservices", "submit_request", CITIZENS, 201,
         json=NEW_REQUEST),
    Call("GET", "/api/v1/me/requests", "eservices", "citizen_requests", CITIZENS),
    Call("GET", MY_REQUEST, "eservices", "citizen_request", CITIZENS),
    Call("POST", f"{MY_REQUEST}/messages", "eservices", "citizen_message", CITIZENS, 201,
         json={"text": "Voici la précision."}),
    Call("POST", f"{MY_REQUEST}/cancellation", "eservices", "cancel_request", CITIZENS),
    Call("GET", "/api/v1/procurement/consultations", "procurement", "search_consultations",
         PUBLIC, params={"q": "voirie", "cpv": "4523"}),
    Call("GET", PUBLIC_CONSULTATION, "procurement", "consultation", PUBLIC),
    Call("GET", f"{PUBLIC_CONSULTATION}/documents/CCTP.pdf", "procurement", "document",
         PUBLIC),
    Call("GET", f"{PUBLIC_CONSULTATION}/questions", "procurement", "public_questions",
         PUBLIC),
    Call("GET", "/api/v1/procurement/buyers", "procurement", "buyers", PUBLIC),
    Call("GET", "/api/v1/procurement/buyers/ccas-34134", "procurement", "buyer", PUBLIC),
    Call("PUT", f"{BUYER}/buyers/commune", "procurement", "set_buyer_page", ADMIN_OR_AGENT,
         json={"welcome": None, "logo_url": None, "siret": "21340134200018"}),
    Call("POST", f"{BUYER}/consultations", "procurement", "create_consultation",
         ADMIN_OR_AGENT, 201, json=NEW_CONSULTATION),
    Call("GET", f"{BUYER}/consultations", "procurement", "commune_consultations",
         ADMIN_OR_AGENT),
    Call("GET", CONSULTATION, "procurement", "commune_consultation", ADMIN_OR_AGENT),
    Call("POST", f"{CONSULTATION}/documents", "procurement", "add_document", ADMIN_OR_AGENT,
         201, json=PDF),
    Call("POST", f"{CONSULTATION}/publication", "procurement", "publish", ADMIN_OR_AGENT),
    Call("GET", f"{CONSULTATION}/withdrawals", "procurement", "withdrawals", ADMIN_OR_AGENT),
    Call("GET", f"{CONSULTATION}/questions", "procurement", "questions", ADMIN_OR_AGENT),
    Call("POST", f"{CONSULTATION}/questions/{QUESTION_ID}/answer", "procurement",
         "answer_question", ADMIN_OR_AGENT, json={"answer": "BBSG 0/10."}),
    Call("GET", f"{CONSULTATION}/bids", "procurement", "bid_counts", ADMIN_OR_AGENT),
    Call("POST", f"{CONSULTATION}/opening", "procurement", "open_bids", ADMIN_OR_AGENT),
    Call("GET", f"{CONSULTATION}/opening", "procurement", "opening_report", ADMIN_OR_AGENT),
    Call("POST", f"{CONSULTATION}/award", "procurement", "award", ADMIN_OR_AGENT, 201,
         json=NEW_AWARD),
    Call("GET", f"{CONSULTATION}/history", "procurement", "history", ADMIN_OR_AGENT),
    Call("POST", f"{CONSULTATION}/destruction", "procurement", "destroy_archive",
         ADMIN_OR_AGENT, json={"decision": "Visa AD34 n° 2032-118"}),
    Call("POST", f"{CONSULTATION}/withdrawals", "procurement", "withdraw", COMPANIES, 201),
    Call("POST", f"{CONSULTATION}/questions", "procurement", "ask_question", COMPANIES, 201,
         json={"text": "Quel enrobé ?"}),
    Call("POST", f"{CONSULTATION}/bids", "procurement", "deposit_bid", COMPANIES, 201,
         json={"lot": 1, "files": [PDF]}),
    Call("GET", "/api/v1/participation/processes", "participation", "processes", PUBLIC,
         params={"commune": "34134"}),
    Call("GET", PROCESS, "participation", "process", PUBLIC),
    Call("GET", f"{PROCESS}/proposals", "participation", "proposals", PUBLIC),
    Call("GET", f"{PROPOSAL}/comments", "participation", "comments", PUBLIC),
    Call("PUT", "/api/v1/me/participation/residence", "participation", "declare_residence",
         CITIZENS, json={"commune": "34134"}),
    Call("POST", f"{PROCESS}/proposals", "participation", "propose", CITIZENS, 201,
         json={"title": "Un marché bio", "body": "Le samedi."}),
    Call("POST", f"{PROPOSAL}/comments", "participation", "comment", CITIZENS, 201,
         json={"body": "Oui !"}),
    Call("POST", f"{PROPOSAL}/reports", "participation", "report", CITIZENS, 201,
         json={"reason": "spam"}),
    Call("POST", f"{PROCESS}/comments/{COMMENT_ID}/reports", "participation", "report",
         CITIZENS, 201, json={"reason": "off_topic"}),
    Call("POST", f"{PROPOSAL}/votes", "participation", "vote", CITIZENS, 201),
    Call("PUT", f"{PROCESS}/ballot", "participation", "cast_ballot", CITIZENS,
         json={"proposals": [PROPOSAL_ID]}),
    Call("GET", f"{PROCESS}/ballot", "participation", "ballot", CITIZENS),
    Call("POST", f"{PROCESS}/signatures", "participation", "sign", CITIZENS, 201),
    Call("POST", "/api/v1/communes/{insee}/participation/processes", "participation",
         "create_process", ADMIN_OR_AGENT, 201, json=NEW_PROCESS),
    Call("GET", "/api/v1/communes/{insee}/participation/processes", "participation",
         "commune_processes", ADMIN_OR_AGENT),
    Call("GET", f"{COMMUNE_PROCESS}/reports", "participation", "reports", ADMIN_OR_AGENT),
    Call("POST", f"{COMMUNE_PROCESS}/proposals/{PROPOSAL_ID}/moderation", "participation",
         "moderate", ADMIN_OR_AGENT, json={"hidden": True, "reason": "Hors sujet"}),
    Call("POST", f"{COMMUNE_PROCESS}/comments/{COMMENT_ID}/moderation", "participation",
         "moderate", ADMIN_OR_AGENT, json={"hidden": False}),
    Call("POST", f"{COMMUNE_PROCESS}/closure", "participation", "close_process",
         ADMIN_OR_AGENT),
    Call("POST", f"{ALERTING}/accounts", "alerting", "create_account", ADMIN, 201,
         json={"name": "Agent", "email": "agent@laverune.fr"}),
    Call("GET", f"{ALERTING}/accounts", "alerting", "accounts", ADMIN_OR_AGENT),
    Call("POST", f"{ALERTING}/contacts/import", "alerting", "import_contacts",
         ADMIN_OR_AGENT, json={"file_name": "contacts.csv", "content": "aWQ7bmFtZQo="}),
    Call("GET", f"{ALERTING}/contacts", "alerting", "contacts", ADMIN_OR_AGENT,
         params={"group": "ecoles"}),
    Call("POST", f"{ALERTING}/contacts/{CONTACT_ID}/unsubscription", "alerting",
         "unsubscribe", ADMIN_OR_AGENT),
    Call("GET", f"{ALERTING}/groups", "alerting", "groups", ADMIN_OR_AGENT),
    Call("GET", f"{ALERTING}/scenarios", "alerting", "scenarios", ADMIN_OR_AGENT),
    Call("POST", f"{ALERTING}/scenarios", "alerting", "add_scenario", ADMIN_OR_AGENT, 201,
         json={"slug": "feu", "title": "Feu", "event": "Feu", "category": "Fire",
               "severity": "Severe", "urgency": "Immediate", "instruction": "Restez chez vous."}),
    Call("POST", f"{ALERTING}/crisis-cells", "alerting", "activate_cell", ADMIN_OR_AGENT, 201,
         json={"title": "Crue de la Mosson"}),
    Call("GET", f"{ALERTING}/crisis-cells", "alerting", "crisis_cells", ADMIN_OR_AGENT),
    Call("GET", f"{ALERTING}/crisis-cells/{CELL_ID}", "alerting", "crisis_cell",
         ADMIN_OR_AGENT),
    Call("POST", f"{ALERTING}/crisis-cells/{CELL_ID}/log", "alerting", "log_to_cell",
         ADMIN_OR_AGENT, 201, json={"kind": "decision", "text": "Évacuation"}),
    Call("POST", f"{ALERTING}/crisis-cells/{CELL_ID}/closure", "alerting", "close_cell",
         ADMIN_OR_AGENT, json={"summary": "Décrue."}),
    Call("POST", f"{ALERTING}/campaigns", "alerting", "launch_campaign", ADMIN_OR_AGENT, 201,
         json=NEW_CAMPAIGN),
    Call("GET", f"{ALERTING}/campaigns", "alerting", "campaigns", ADMIN_OR_AGENT),
    Call("GET", CAMPAIGN, "alerting", "campaign", ADMIN_OR_AGENT),
    Call("GET", f"{CAMPAIGN}/deliveries", "alerting", "campaign_deliveries", ADMIN_OR_AGENT,
         params={"channel": "sms", "status": "failed"}),
    Call("POST", f"{CAMPAIGN}/pause", "alerting", "pause_campaign", ADMIN_OR_AGENT),
    Call("POST", f"{CAMPAIGN}/resume", "alerting", "resume_campaign", ADMIN_OR_AGENT),
    Call("POST", f"{CAMPAIGN}/stop", "alerting", "stop_campaign", ADMIN_OR_AGENT),
    Call("POST", f"{CAMPAIGN}/resend", "alerting", "resend_campaign", ADMIN_OR_AGENT),
    Call("GET", f"{CAMPAIGN}/cap.xml", "alerting", "campaign_cap", ADMIN_OR_AGENT),
    # The fake's campaign is completed: its stream is one state and its end, one call.
    Call("GET", f"{CAMPAIGN}/events", "alerting", "campaign", ADMIN_OR_AGENT),
    Call("POST", f"/api/v1/alerting/operator-callbacks/{OPERATOR_TOKEN}", "alerting",
         "operator_callback", PUBLIC,
         json={"type": "delivery_report_sms", "batch_id": "01H", "status": "Delivered"}),
    Call("GET", f"{ACCESSIBILITY}/hours", "accessibility", "points", ADMIN_OR_AGENT),
    Call("POST", f"{ACCESSIBILITY}/hours", "accessibility", "create_point", ADMIN_OR_AGENT,
         201, json=NEW_POINT),
    Call("GET", f"{ACCESSIBILITY}/links", "accessibility", "links", ADMIN_OR_AGENT),
    Call("POST", f"{ACCESSIBILITY}/links", "accessibility", "create_link", ADMIN_OR_AGENT, 201,
         json={"point_id": POINT_ID}),
    Call("POST", f"{ACCESSIBILITY}/links/{LINK_ID}/revocation", "accessibility",
         "revoke_link", ADMIN_OR_AGENT),
    Call("GET", f"{ACCESSIBILITY}/usage", "accessibility", "usage", ADMIN_OR_AGENT,
         params={"month": "2026-11"}),
    Call("PUT", "/api/v1/accessibility/interpreters/me", "accessibility", "set_interpreter",
         INTERPRETERS, json={"name": "Camille Durand", "modes": ["lsf"], "available": True}),
    Call("GET", "/api/v1/accessibility/queue", "accessibility", "queue", QUEUE_READERS,
         params={"mode": "lsf"}),
    Call("POST", f"{RELAY_SESSION}/take", "accessibility", "take_session", INTERPRETERS),
    Call("POST", f"{RELAY_SESSION}/connect", "accessibility", "connect_session",
         INTERPRETERS),
    Call("POST", f"{RELAY_SESSION}/end", "accessibility", "end_session", INTERPRETERS),
    Call("POST", f"/api/v1/relay/{RELAY_TOKEN}/sessions", "accessibility", "open_session",
         PUBLIC, 201, json={"mode": "lsf", "channel": "telephone"}),
    Call("GET", f"/relay/{RELAY_TOKEN}", "accessibility", "relay_point", PUBLIC),
    Call("GET", f"{RELAY_SESSION}/transcript", "accessibility", "interpreter_transcript",
         INTERPRETERS, params={"after": 3}),
    Call("POST", f"{RELAY_SESSION}/transcript", "accessibility", "interpreter_says",
         INTERPRETERS, 201, json={"text": "Mardi à 14 h, cela vous convient ?"}),
    Call("GET", PERSON_SESSION, "accessibility", "person_session", PUBLIC,
         headers=SECRET),
    Call("POST", f"{PERSON_SESSION}/hang-up", "accessibility", "hang_up", PUBLIC,
         headers=SECRET),
    Call("GET", f"{PERSON_SESSION}/transcript", "accessibility", "person_transcript", PUBLIC,
         headers=SECRET),
    Call("POST", f"{PERSON_SESSION}/transcript", "accessibility", "person_says", PUBLIC, 201,
         json={"text": "Bonjour, je voudrais un rendez-vous."}, headers=SECRET),
]
IDS = [f"{call.method} {call.path}" for call in CALLS]
COMMUNE_CALLS = [call for call in CALLS if call.commune_scoped and call.allowed != PUBLIC]


def allows(call, role):
    return call.allowed in (ANY_ACCOUNT, PUBLIC) or role in call.allowed


def send(api, call, headers, commune=LAVERUNE):
    return api.request(call.method, call.url(commune), headers={**call.headers, **headers},
                       json=call.json, params=call.params)


def assert_refused(answer, status, fake_services, call):
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert fake_services[call.service].called(call.rpc) == []


def test_the_table_covers_every_route_of_subscriptions_billing_eadmin_opendata_eservices():
    declared = {(spec.method, spec.openapi_path) for _, spec in routes_of(GatewayService)
                if spec.tag in ("subscriptions", "billing", "eadmin", "opendata", "eservices",
                                "procurement", "participation", "alerting",
                                "accessibility")}
    tabled = {(call.method, call.path.replace(REQUEST_ID, "{request_id}")
               .replace(CONVENTION_ID, "{convention_id}")
               .replace(TERMINATION_ID, "{termination_id}").replace(EXTRA_ID, "{extra_id}")
               .replace("2023", "{vintage}")
               .replace("2022-000001", "{number}").replace(ACT_ID, "{act_id}")
               .replace(SESSION_ID, "{session_id}").replace(CERTIFICATE_ID, "{certificate_id}")
               .replace(DATASET_ID, "{dataset_id}").replace(RESOURCE_ID, "{resource_id}")
               .replace("commune-34134", "{publisher_id}")
               .replace(AGENDA_ID, "{agenda_id}").replace(CITIZEN_REQUEST_ID, "{request_id}")
               .replace("forms/contact", "forms/{slug}")
               .replace(CONSULTATION_ID, "{consultation_id}")
               .replace(QUESTION_ID, "{question_id}").replace("CCTP.pdf", "{name}")
               .replace("buyers/ccas-34134", "buyers/{buyer_id}")
               .replace("buyers/commune", "buyers/{kind}")
               .replace(PROCESS_ID, "{process_id}").replace(PROPOSAL_ID, "{proposal_id}")
               .replace(COMMENT_ID, "{comment_id}").replace(CONTACT_ID, "{contact_id}")
               .replace(CELL_ID, "{cell_id}").replace(CAMPAIGN_ID, "{campaign_id}")
               .replace(OPERATOR_TOKEN, "{token}").replace(RELAY_TOKEN, "{token}")
               .replace(POINT_ID, "{point_id}").replace(LINK_ID, "{link_id}")
               .replace(RELAY_SESSION_ID, "{session_id}"))
              for call in CALLS}
    assert tabled == declared


@pytest.mark.parametrize("call", CALLS, ids=IDS)
def test_an_admin_reaches_every_commune(gateway, api, admin_headers, fake_services, call):
    answer = send(api, call, admin_headers, commune=MONTPELLIER)
    if allows(call, METROPOLE_ADMIN):
        assert answer.status_code == call.status, answer.text
        assert len(fake_services[call.service].called(call.rpc)) == 1
    else:
        assert_refused(answer, 403, fake_services, call)


@pytest.mark.parametrize("call", CALLS, ids=IDS)
def test_an_agent_of_the_commune(gateway, api, agent_headers, fake_services, call):
    answer = send(api, call, agent_headers)
    if allows(call, COMMUNE_AGENT):
        assert answer.status_code == call.status, answer.text
        assert len(fake_services[call.service].called(call.rpc)) == 1
    else:
        assert_refused(answer, 403, fake_services, call)


@pytest.mark.parametrize("call", COMMUNE_CALLS, ids=[f"{c.method} {c.path}" for c in COMMUNE_CALLS])
def test_another_commune_does_not_exist_for_an_agent(gateway, api, agent_headers, fake_services,
                                                     call):
    # The role is checked first: a route for admins only is forbidden whichever commune.
    status = 404 if COMMUNE_AGENT in call.allowed else 403
    assert_refused(send(api, call, agent_headers, commune=MONTPELLIER), status, fake_services,
                   call)


@pytest.mark.parametrize("call", CALLS, ids=IDS)
def test_a_citizen_reaches_every_commune_for_their_own_requests(gateway, api, citizen_headers,
                                                                fake_services, call):
    answer = send(api, call, citizen_headers, commune=MONTPELLIER)
    if allows(call, CITIZEN):
        assert answer.status_code == call.status, answer.text
    else:
        # A commune-scoped route refuses the role before it looks at the commune.
        assert_refused(answer, 403, fake_services, call)


@pytest.mark.parametrize("call", CALLS, ids=IDS)
def test_a_company_reaches_every_commune_for_its_bids(gateway, api, company_headers,
                                                      fake_services, call):
    answer = send(api, call, company_headers, commune=MONTPELLIER)
    if allows(call, COMPANY):
        assert answer.status_code == call.status, answer.text
    else:
        assert_refused(answer, 403, fake_services, call)


@pytest.mark.parametrize("call", CALLS, ids=IDS)
def test_without_a_token_only_the_public_routes_answer(gateway, api, fake_services, call):
    answer = send(api, call, {})
    if call.allowed == PUBLIC:
        assert answer.status_code == call.status, answer.text
        assert len(fake_services[call.service].called(call.rpc)) == 1
    else:
        assert_refused(answer, 401, fake_services, call)


@pytest.mark.parametrize("call", CALLS, ids=IDS)
def test_a_relay_interpreter_reaches_the_queue_and_its_sessions_only(
        gateway, api, interpreter_headers, fake_services, call):
    answer = send(api, call, interpreter_headers, commune=MONTPELLIER)
    if allows(call, RELAY_INTERPRETER):
        assert answer.status_code == call.status, answer.text
        assert len(fake_services[call.service].called(call.rpc)) == 1
    else:
        # A commune-scoped route refuses the role before it looks at the commune.
        assert_refused(answer, 403, fake_services, call)
