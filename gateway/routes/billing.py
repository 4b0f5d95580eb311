"""Routes of the billing service: Annex 1 (Art. 4), the annual titles and their corrections
(Art. 5), extra work with VAT (Art. 6)."""


from contracts.billing import (
    AnnexSchema,
    CorrectionSchema,
    ExtraSchema,
    IssuedTitlesSchema,
    IssueTitlesSchema,
    NewExtraSchema,
    OptionalYearQuerySchema,
    TitleSchema,
    YearQuerySchema,
)
from contracts.identity import METROPOLE_ADMIN
from gateway.http import route
from gateway.routes import ADMIN_OR_AGENT, IdempotencyKeyHeaderSchema


class BillingRoutes:
    # -- Annex 1 and titles

    @route("GET", "/api/v1/billing/shares",
           summary="Annex 1 of a year: each application's cost, the Metropole's half and the "
                   "per-inhabitant share",
           tag="billing", query=YearQuerySchema, response=AnnexSchema, errors=(404,))
    def shares(self, request, query, **_):
        return self.rpc("billing", "shares", query["year"])

    @route("GET", "/api/v1/communes/<insee>/billing/titles",
           summary="A commune's titles and credit notes: the year's draft until it is issued, "
                   "then what was issued",
           tag="billing", query=OptionalYearQuerySchema, response=TitleSchema, many=True,
           roles=ADMIN_OR_AGENT)
    def titles(self, request, insee, query, **_):
        return self.rpc("billing", "titles", insee, query["year"])

    @route("POST", "/api/v1/billing/titles/issue",
           summary="Issue the year's titles of every commune not yet issued (Metropole admins)",
           tag="billing", body=IssueTitlesSchema, headers=IdempotencyKeyHeaderSchema,
           response=IssuedTitlesSchema, roles=(METROPOLE_ADMIN,), errors=(409,))
    def issue_titles(self, request, principal, body, headers, **_):
        return self.rpc("billing", "issue_titles", body["year"],
                        idempotency_key=headers["idempotency_key"], issued_by=principal.id)

    @route("GET", "/api/v1/billing/titles/late",
           summary="Titles of a year not sent by 30 September (Metropole admins)", tag="billing",
           query=YearQuerySchema, response=TitleSchema, many=True, roles=(METROPOLE_ADMIN,))
    def late_titles(self, request, query, **_):
        return self.rpc("billing", "late_titles", query["year"])

    @route("POST", "/api/v1/billing/titles/<number>/correction",
           summary="Cancel an issued title that no longer matches the facts by a credit note, "
                   "and issue the corrected title (Metropole admins)",
           tag="billing", response=CorrectionSchema, status=201, roles=(METROPOLE_ADMIN,),
           errors=(404, 409))
    def correct_title(self, request, principal, number, **_):
        return self.rpc("billing", "correct_title", number, confirmed_by=principal.id)

    # -- extras (Art. 6)

    @route("POST", "/api/v1/communes/<insee>/billing/extras",
           summary="Record billable extra work, with VAT at the normal rate (Metropole admins)",
           tag="billing", body=NewExtraSchema, response=ExtraSchema, status=201,
           roles=(METROPOLE_ADMIN,))
    def record_extra(self, request, principal, insee, body, **_):
        extra = self.rpc("billing", "record_extra", insee, body, recorded_by=principal.id)
        return extra, {"Location": f"/api/v1/communes/{insee}/billing/extras/{extra['id']}"}

    @route("GET", "/api/v1/communes/<insee>/billing/extras", summary="A commune's extra work",
           tag="billing", query=OptionalYearQuerySchema, response=ExtraSchema, many=True,
           roles=ADMIN_OR_AGENT)
    def extras(self, request, insee, query, **_):
        return self.rpc("billing", "extras", insee, query["year"])

    @route("GET", "/api/v1/communes/<insee>/billing/extras/<uuid:extra_id>",
           summary="A commune's extra work", tag="billing", response=ExtraSchema,
           roles=ADMIN_OR_AGENT)
    def get_extra(self, request, insee, extra_id, **_):
        return self.rpc("billing", "get_extra", insee, str(extra_id))
