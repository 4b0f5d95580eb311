"""Routes of a title's life (Art. 5): its deposit on Chorus Pro, its e-invoice, the commune's
contestation and the Metropole's answer, payments, and the deadlines a commune can check."""

from contracts.billing import (
    BuyerSchema,
    BuyerUpdateSchema,
    ContestationDecisionSchema,
    DeadlinesQuerySchema,
    DeadlinesSchema,
    DecisionAnswerSchema,
    DepositRequestedSchema,
    DepositTitlesSchema,
    NewContestationSchema,
    NewPaymentSchema,
    TitleLifeSchema,
)
from contracts.identity import METROPOLE_ADMIN
from gateway.http import route
from gateway.routes import ADMIN_OR_AGENT

TITLE_PATH = "/api/v1/communes/<insee>/billing/titles/<number>"


class TitleRoutes:
    @route("GET", TITLE_PATH,
           summary="A title or credit note with its life: state and history, Chorus Pro "
                   "identifiers, reception, last day to contest, due date, payments",
           tag="billing", response=TitleLifeSchema, roles=ADMIN_OR_AGENT, errors=(404,))
    def title(self, request, insee, number, **_):
        return self.rpc("billing", "title", insee, number)

    @route("GET", f"{TITLE_PATH}/invoice.xml",
           summary="The e-invoice (UN/CEFACT CII, EN 16931), as sent to Chorus Pro",
           tag="billing", roles=ADMIN_OR_AGENT, errors=(404, 409), media_type="application/xml")
    def e_invoice(self, request, insee, number, **_):
        return self.rpc("billing", "e_invoice", insee, number)

    @route("POST", "/api/v1/billing/titles/deposit",
           summary="Deposit every issued title and credit note of the year on Chorus Pro, "
                   "once each (Metropole admins); they leave within the next round",
           tag="billing", body=DepositTitlesSchema, response=DepositRequestedSchema,
           status=202, roles=(METROPOLE_ADMIN,))
    def deposit_titles(self, request, body, **_):
        return self.rpc("billing", "deposit_titles", body["year"])

    @route("POST", f"{TITLE_PATH}/deposit",
           summary="Send again a document whose deposit Chorus Pro rejected (Metropole admins)",
           tag="billing", response=TitleLifeSchema, status=202, roles=(METROPOLE_ADMIN,),
           errors=(404, 409))
    def deposit_again(self, request, insee, number, **_):
        return self.rpc("billing", "deposit_again", insee, number)

    @route("POST", f"{TITLE_PATH}/contestation",
           summary="Record the commune's contestation, e-mailed within 8 jours francs of the "
                   "title's reception",
           tag="billing", body=NewContestationSchema, response=TitleLifeSchema, status=201,
           roles=ADMIN_OR_AGENT, errors=(404, 409))
    def contest_title(self, request, principal, insee, number, body, **_):
        return self.rpc("billing", "contest_title", insee, number, body, filed_by=principal.id)

    @route("POST", f"{TITLE_PATH}/decision",
           summary="Answer a contestation: maintain the title, or correct it by a credit note "
                   "and a new title (Metropole admins)",
           tag="billing", body=ContestationDecisionSchema, response=DecisionAnswerSchema,
           roles=(METROPOLE_ADMIN,), errors=(404, 409))
    def decide_contestation(self, request, principal, insee, number, body, **_):
        return self.rpc("billing", "decide_contestation", insee, number, body,
                        decided_by=principal.id)

    @route("POST", f"{TITLE_PATH}/payments",
           summary="Record a payment of the title, in full or in part (Metropole admins)",
           tag="billing", body=NewPaymentSchema, response=TitleLifeSchema, status=201,
           roles=(METROPOLE_ADMIN,), errors=(404, 409))
    def record_payment(self, request, principal, insee, number, body, **_):
        return self.rpc("billing", "record_payment", insee, number, body,
                        recorded_by=principal.id)

    @route("GET", "/api/v1/billing/deadlines",
           summary="The last day to contest and the payment due date of a title received on "
                   "a given day (Art. 5)",
           tag="billing", query=DeadlinesQuerySchema, response=DeadlinesSchema)
    def deadlines(self, request, query, **_):
        return self.rpc("billing", "deadlines", query["received_on"].isoformat())

    @route("GET", "/api/v1/communes/<insee>/billing/buyer",
           summary="How the commune's titles are addressed on Chorus Pro", tag="billing",
           response=BuyerSchema, roles=ADMIN_OR_AGENT)
    def buyer(self, request, insee, **_):
        return self.rpc("billing", "buyer", insee)

    @route("PUT", "/api/v1/communes/<insee>/billing/buyer",
           summary="Set the service code and commitment number the commune requires on its "
                   "titles",
           tag="billing", body=BuyerUpdateSchema, response=BuyerSchema, roles=ADMIN_OR_AGENT)
    def update_buyer(self, request, insee, body, **_):
        return self.rpc("billing", "update_buyer", insee, body)
