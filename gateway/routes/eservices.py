"""Routes of the online services to citizens (Art. 1, second application): anyone reads the
catalogue, a commune's forms, agendas and camps; a citizen submits requests to any commune and
follows them all from one account; a commune's agents process theirs; the Metropole sets up
each commune's branding and integrates its custom forms (Art. 2)."""

from contracts.eservices import (
    AgendaSchema,
    BrandingSchema,
    CampSchema,
    CommuneBrandingSchema,
    CommuneFormSchema,
    CustomFormSchema,
    FormDefinitionSchema,
    NewAgendaSchema,
    NewCampSchema,
    NewCustomFormSchema,
    NewMessageSchema,
    NewRequestSchema,
    NewSlotsSchema,
    NewTransitionSchema,
    RequestPageSchema,
    RequestQuerySchema,
    RequestSchema,
    SlotQuerySchema,
    SlotSchema,
)
from contracts.identity import CITIZEN, METROPOLE_ADMIN
from gateway.http import route
from gateway.routes import ADMIN_OR_AGENT, IdempotencyKeyHeaderSchema

COMMUNE = "/api/v1/communes/<insee>/eservices"
AGENDA = f"{COMMUNE}/agendas/<uuid:agenda_id>"
COMMUNE_REQUEST = f"{COMMUNE}/requests/<uuid:request_id>"
MY_REQUEST = "/api/v1/me/requests/<uuid:request_id>"
# Attachments travel base64 in JSON: a request may carry a few photos and scans.
SUBMISSION_BODY_BYTES = 32 * 1024 * 1024
# A commune that does not subscribe to online services is refused by the service: 403.
REFUSALS = (403, 404)


class EservicesRoutes:
    # -- what anyone reads

    @route("GET", "/api/v1/catalogue",
           summary="The tele-service catalogue every commune may offer (Art. 2)",
           tag="eservices", response=FormDefinitionSchema, many=True, public=True)
    def catalogue(self, request, **_):
        return self.rpc("eservices", "catalogue")

    @route("GET", f"{COMMUNE}/forms", summary="The forms a commune offers its citizens",
           tag="eservices", response=CommuneFormSchema, many=True, public=True)
    def commune_forms(self, request, insee, **_):
        return self.rpc("eservices", "commune_forms", insee)

    @route("GET", f"{COMMUNE}/branding",
           summary="A commune's graphic charter and contact details", tag="eservices",
           response=CommuneBrandingSchema, public=True, errors=(404,))
    def branding(self, request, insee, **_):
        return self.rpc("eservices", "branding", insee)

    @route("GET", f"{COMMUNE}/agendas",
           summary="The agendas of a commune's elected officials and services",
           tag="eservices", response=AgendaSchema, many=True, public=True)
    def agendas(self, request, insee, **_):
        return self.rpc("eservices", "agendas", insee)

    @route("GET", f"{AGENDA}/slots", summary="An agenda's slots to come, booked or not",
           tag="eservices", query=SlotQuerySchema, response=SlotSchema, many=True,
           public=True, errors=(404,))
    def slots(self, request, insee, agenda_id, query, **_):
        return self.rpc("eservices", "slots", insee, str(agenda_id),
                        SlotQuerySchema().dump(query))

    @route("GET", f"{COMMUNE}/camps",
           summary="A commune's holiday camps, their places and waiting lists",
           tag="eservices", response=CampSchema, many=True, public=True)
    def camps(self, request, insee, **_):
        return self.rpc("eservices", "camps", insee)

    # -- the Metropole sets a commune up (Art. 2)

    @route("PUT", f"{COMMUNE}/branding",
           summary="Set up a commune's graphic charter and contact details (Metropole admins)",
           tag="eservices", body=BrandingSchema, response=CommuneBrandingSchema,
           roles=(METROPOLE_ADMIN,), errors=REFUSALS)
    def set_branding(self, request, principal, insee, body, **_):
        return self.rpc("eservices", "set_branding", insee, body, principal.id)

    @route("POST", f"{COMMUNE}/custom-forms",
           summary="Integrate a form outside the catalogue for a commune: the first is free, "
                   "the next are billed with VAT (Metropole admins)",
           tag="eservices", body=NewCustomFormSchema, response=CustomFormSchema, status=201,
           roles=(METROPOLE_ADMIN,), errors=(*REFUSALS, 409))
    def create_custom_form(self, request, principal, insee, body, **_):
        return self.rpc("eservices", "create_custom_form", insee, body, principal.id)

    @route("GET", f"{COMMUNE}/custom-forms",
           summary="A commune's custom forms and whether each was billed", tag="eservices",
           response=CustomFormSchema, many=True, roles=ADMIN_OR_AGENT)
    def custom_forms(self, request, insee, **_):
        return self.rpc("eservices", "custom_forms", insee)

    # -- what a commune's agents do

    @route("PUT", f"{COMMUNE}/forms/<slug>", summary="Offer a catalogue form to the citizens",
           tag="eservices", response=CommuneFormSchema, roles=ADMIN_OR_AGENT,
           errors=(*REFUSALS, 409))
    def activate_form(self, request, principal, insee, slug, **_):
        return self.rpc("eservices", "activate_form", insee, slug, principal.id)

    @route("DELETE", f"{COMMUNE}/forms/<slug>",
           summary="Stop offering a catalogue form (requests already made stay)",
           tag="eservices", response=CommuneFormSchema, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def deactivate_form(self, request, principal, insee, slug, **_):
        return self.rpc("eservices", "activate_form", insee, slug, principal.id, active=False)

    @route("POST", f"{COMMUNE}/agendas",
           summary="Open an agenda for an elected official or a service", tag="eservices",
           body=NewAgendaSchema, response=AgendaSchema, status=201, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def create_agenda(self, request, insee, body, **_):
        return self.rpc("eservices", "create_agenda", insee, body)

    @route("POST", f"{AGENDA}/slots", summary="Open bookable slots in an agenda",
           tag="eservices", body=NewSlotsSchema, response=SlotSchema, many=True, status=201,
           roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def open_slots(self, request, insee, agenda_id, body, **_):
        return self.rpc("eservices", "open_slots", insee, str(agenda_id), body)

    @route("POST", f"{COMMUNE}/camps", summary="Open a holiday camp stay and its places",
           tag="eservices", body=NewCampSchema, response=CampSchema, status=201,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def create_camp(self, request, insee, body, **_):
        return self.rpc("eservices", "create_camp", insee, body)

    @route("GET", f"{COMMUNE}/requests",
           summary="The commune's requests, newest first, with their counts by status",
           tag="eservices", query=RequestQuerySchema, response=RequestPageSchema,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def commune_requests(self, request, insee, query, **_):
        return self.rpc("eservices", "commune_requests", insee,
                        RequestQuerySchema().dump(query))

    @route("GET", COMMUNE_REQUEST, summary="One of the commune's requests, whole",
           tag="eservices", response=RequestSchema, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def commune_request(self, request, insee, request_id, **_):
        return self.rpc("eservices", "commune_request", insee, str(request_id))

    @route("POST", f"{COMMUNE_REQUEST}/transitions",
           summary="Move a request along its workflow; the citizen is told by e-mail",
           tag="eservices", body=NewTransitionSchema, response=RequestSchema,
           roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def move_request(self, request, principal, insee, request_id, body, **_):
        return self.rpc("eservices", "move_request", insee, str(request_id), body,
                        principal.id)

    @route("POST", f"{COMMUNE_REQUEST}/messages",
           summary="Write to the citizen about their request (e-mailed)", tag="eservices",
           body=NewMessageSchema, response=RequestSchema, status=201, roles=ADMIN_OR_AGENT,
           errors=(*REFUSALS, 409))
    def agent_message(self, request, principal, insee, request_id, body, **_):
        return self.rpc("eservices", "agent_message", insee, str(request_id), body,
                        principal.id)

    # -- what a citizen does

    @route("POST", f"{COMMUNE}/requests",
           summary="Submit a request to a commune; an accusé d'enregistrement is e-mailed at "
                   "once (citizens)",
           tag="eservices", body=NewRequestSchema, headers=IdempotencyKeyHeaderSchema,
           response=RequestSchema, status=201, roles=(CITIZEN,), any_commune=True,
           max_body=SUBMISSION_BODY_BYTES, errors=(*REFUSALS, 409))
    def submit_request(self, request, principal, insee, body, headers, **_):
        who = self.rpc("identity", "get_principal", principal.kind, principal.id)
        requester = {"account_id": principal.id, "name": who["name"], "email": who["email"]}
        created = self.rpc("eservices", "submit_request", insee, body, requester,
                           idempotency_key=headers["idempotency_key"])
        return created, {"Location": f"/api/v1/me/requests/{created['id']}"}

    @route("GET", "/api/v1/me/requests",
           summary="Every request of the citizen, in every commune", tag="eservices",
           response=RequestSchema, many=True, roles=(CITIZEN,))
    def my_requests(self, request, principal, **_):
        return self.rpc("eservices", "citizen_requests", principal.id)

    @route("GET", MY_REQUEST, summary="One of the citizen's requests", tag="eservices",
           response=RequestSchema, roles=(CITIZEN,), errors=(404,))
    def my_request(self, request, principal, request_id, **_):
        return self.rpc("eservices", "citizen_request", principal.id, str(request_id))

    @route("POST", f"{MY_REQUEST}/messages",
           summary="Answer the service about a request; one waiting for the citizen goes "
                   "back to it", tag="eservices", body=NewMessageSchema,
           response=RequestSchema, status=201, roles=(CITIZEN,), errors=(404, 409))
    def my_message(self, request, principal, request_id, body, **_):
        return self.rpc("eservices", "citizen_message", principal.id, str(request_id), body)

    @route("POST", f"{MY_REQUEST}/cancellation",
           summary="Withdraw a request: its appointment slot or camp place is freed",
           tag="eservices", response=RequestSchema, roles=(CITIZEN,), errors=(404, 409))
    def cancel_my_request(self, request, principal, request_id, **_):
        return self.rpc("eservices", "cancel_request", principal.id, str(request_id))
