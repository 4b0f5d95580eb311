"""Routes of the subscriptions service: member communes and their populations, conventions
and amendments (Metropole admins), change requests (Art. 9) and terminations (Art. 10)."""

from contracts.identity import METROPOLE_ADMIN, StrictSchema
from contracts.subscriptions import (
    CommuneSchema,
    CommuneUpdateSchema,
    ConventionSchema,
    DecisionSchema,
    NewAmendmentSchema,
    NewConventionSchema,
    NewSubscriptionRequestSchema,
    NewTerminationSchema,
    PopulationSchema,
    SubscriptionRequestSchema,
    TerminationSchema,
)
from gateway.http import route
from gateway.routes import ADMIN_OR_AGENT
from servicekit.validation import load


class PopulationFigureSchema(StrictSchema):
    """The body of ``PUT …/populations/{vintage}``: the vintage is the path's."""

    population = PopulationSchema._declared_fields["population"]


def filer(principal):
    """Who files, as the service needs it: only Metropole staff may date a letter's receipt,
    and the service, not the gateway, says so."""
    return {"id": principal.id, "role": principal.role}


class SubscriptionsRoutes:
    # -- communes

    @route("GET", "/api/v1/communes", summary="The 31 member communes", tag="subscriptions",
           response=CommuneSchema, many=True)
    def list_communes(self, request, **_):
        return self.rpc("subscriptions", "list_communes")

    @route("GET", "/api/v1/communes/<insee>",
           summary="A member commune: populations, subscriptions, termination",
           tag="subscriptions", response=CommuneSchema, roles=ADMIN_OR_AGENT)
    def get_commune(self, request, insee, **_):
        return self.rpc("subscriptions", "get_commune", insee)

    @route("PATCH", "/api/v1/communes/<insee>", summary="Set a commune's SIRET (Metropole admins)",
           tag="subscriptions", body=CommuneUpdateSchema, response=CommuneSchema,
           roles=(METROPOLE_ADMIN,))
    def update_commune(self, request, insee, body, **_):
        return self.rpc("subscriptions", "update_commune", insee, body)

    @route("PUT", "/api/v1/communes/<insee>/populations/<int:vintage>",
           summary="Record a commune's legal population of one INSEE vintage (Metropole admins)",
           tag="subscriptions", body=PopulationFigureSchema, response=CommuneSchema,
           roles=(METROPOLE_ADMIN,))
    def update_population(self, request, insee, vintage, body, **_):
        population = {"vintage": vintage, "population": body["population"]}
        # The vintage comes from the path: checked here too, so that a bad one writes nothing.
        load(PopulationSchema(), population)
        return self.rpc("subscriptions", "update_population", insee, population)

    # -- conventions

    @route("POST", "/api/v1/conventions",
           summary="Register a convention with its costs and initial subscriptions "
                   "(Metropole admins)",
           tag="subscriptions", body=NewConventionSchema, response=ConventionSchema,
           status=201, roles=(METROPOLE_ADMIN,), errors=(409,))
    def register_convention(self, request, principal, body, **_):
        convention = self.rpc("subscriptions", "register_convention", body,
                              registered_by=principal.id)
        return convention, {"Location": f"/api/v1/conventions/{convention['id']}"}

    @route("GET", "/api/v1/conventions", summary="Every convention and its amendments "
           "(Metropole admins)", tag="subscriptions", response=ConventionSchema, many=True,
           roles=(METROPOLE_ADMIN,))
    def list_conventions(self, request, **_):
        return self.rpc("subscriptions", "list_conventions")

    @route("GET", "/api/v1/conventions/<uuid:convention_id>",
           summary="A convention and its amendments (Metropole admins)", tag="subscriptions",
           response=ConventionSchema, roles=(METROPOLE_ADMIN,), errors=(404,))
    def get_convention(self, request, convention_id, **_):
        return self.rpc("subscriptions", "get_convention", str(convention_id))

    @route("POST", "/api/v1/conventions/<uuid:convention_id>/amendments",
           summary="Add an application to a convention by amendment (Metropole admins)",
           tag="subscriptions", body=NewAmendmentSchema, response=ConventionSchema, status=201,
           roles=(METROPOLE_ADMIN,), errors=(404, 409))
    def amend_convention(self, request, principal, convention_id, body, **_):
        return self.rpc("subscriptions", "amend_convention", str(convention_id), body,
                        recorded_by=principal.id)

    # -- change requests (Art. 9)

    @route("POST", "/api/v1/communes/<insee>/subscription-requests",
           summary="Ask to add or remove an application; recorded pending, or refused with "
                   "the rule it breaks",
           tag="subscriptions", body=NewSubscriptionRequestSchema,
           response=SubscriptionRequestSchema, status=201, roles=ADMIN_OR_AGENT)
    def file_subscription_request(self, request, principal, insee, body, **_):
        filed = self.rpc("subscriptions", "file_subscription_request", insee, body,
                         filed_by=filer(principal))
        location = f"/api/v1/communes/{insee}/subscription-requests/{filed['id']}"
        return filed, {"Location": location}

    @route("GET", "/api/v1/communes/<insee>/subscription-requests",
           summary="A commune's change requests, newest first", tag="subscriptions",
           response=SubscriptionRequestSchema, many=True, roles=ADMIN_OR_AGENT)
    def subscription_requests(self, request, insee, **_):
        return self.rpc("subscriptions", "subscription_requests", insee)

    @route("GET", "/api/v1/communes/<insee>/subscription-requests/<uuid:request_id>",
           summary="A commune's change request", tag="subscriptions",
           response=SubscriptionRequestSchema, roles=ADMIN_OR_AGENT)
    def get_subscription_request(self, request, insee, request_id, **_):
        return self.rpc("subscriptions", "get_subscription_request", insee, str(request_id))

    @route("POST", "/api/v1/communes/<insee>/subscription-requests/<uuid:request_id>/decision",
           summary="Accept or refuse a pending change request (Metropole admins)",
           tag="subscriptions", body=DecisionSchema, response=SubscriptionRequestSchema,
           roles=(METROPOLE_ADMIN,), errors=(409,))
    def decide_subscription_request(self, request, principal, insee, request_id, body, **_):
        return self.rpc("subscriptions", "decide_subscription_request", insee, str(request_id),
                        body, decided_by=principal.id)

    # -- terminations (Art. 10)

    @route("POST", "/api/v1/communes/<insee>/termination",
           summary="Notify the termination of the convention; accepted with its effective "
                   "date, or refused with the rule it breaks",
           tag="subscriptions", body=NewTerminationSchema, response=TerminationSchema,
           status=201, roles=ADMIN_OR_AGENT,
           body_required=False)
    def notify_termination(self, request, principal, insee, body, **_):
        termination = self.rpc("subscriptions", "notify_termination", insee, body,
                               filed_by=filer(principal))
        return termination, {
            "Location": f"/api/v1/communes/{insee}/terminations/{termination['id']}"}

    @route("GET", "/api/v1/communes/<insee>/terminations",
           summary="A commune's termination notices", tag="subscriptions",
           response=TerminationSchema, many=True, roles=ADMIN_OR_AGENT)
    def terminations(self, request, insee, **_):
        return self.rpc("subscriptions", "terminations", insee)

    @route("GET", "/api/v1/communes/<insee>/terminations/<uuid:termination_id>",
           summary="A commune's termination notice", tag="subscriptions",
           response=TerminationSchema, roles=ADMIN_OR_AGENT)
    def get_termination(self, request, insee, termination_id, **_):
        return self.rpc("subscriptions", "get_termination", insee, str(termination_id))
