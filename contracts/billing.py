"""Payloads of the billing service: Annex 1 (per-capita shares), annual titles and their
lines, credit notes, extra billable work."""

from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.fields import MONEY_DIGITS, ApplicationCode, DecimalString, InseeCode, Money
from contracts.identity import StrictSchema

TITLE = "title"
CREDIT_NOTE = "credit_note"
KINDS = (TITLE, CREDIT_NOTE)

DRAFT = "draft"
ISSUED = "issued"
CANCELLED = "cancelled"
TITLE_STATUSES = (DRAFT, ISSUED, CANCELLED)

# The life of an issued document (Art. 5): deposited on Chorus Pro, received by the commune
# (made available to it), contested or accepted, then paid or overdue. ``rejected``: the
# deposit was refused, with Chorus Pro's reason; the document can be sent again.
DEPOSITED = "deposited"
RECEIVED = "received"
CONTESTED = "contested"
ACCEPTED = "accepted"
PAID = "paid"
OVERDUE = "overdue"
REJECTED = "rejected"
LIFE_STATES = (ISSUED, DEPOSITED, REJECTED, RECEIVED, CONTESTED, ACCEPTED, OVERDUE, PAID,
               CANCELLED)

MAINTAIN = "maintain"
CORRECT = "correct"
DECISIONS = (MAINTAIN, CORRECT)

# EN 16931 VAT category codes: annual shares are outside the scope of VAT (Art. 6), extra
# work carries the standard rate.
OUTSIDE_SCOPE = "O"
STANDARD_RATE = "S"
VAT_CATEGORIES = (OUTSIDE_SCOPE, STANDARD_RATE)

RATE_PLACES = 6


class YearQuerySchema(StrictSchema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))


class OptionalYearQuerySchema(StrictSchema):
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


class ApplicationShareSchema(StrictSchema):
    application = ApplicationCode(required=True)
    annual_cost = Money(required=True)
    metropole_share = Money(
        required=True, metadata={"description": "the Metropole's half, to the cent (Art. 4)"}
    )
    per_inhabitant = fields.Decimal(
        required=True,
        places=RATE_PLACES,
        as_string=True,
        metadata={"description": "(annual cost − Metropole's half) / total population, "
                  "in euros, rounded to six places for display; shares are allocated exactly"},
    )
    subscribed_share = Money(
        required=True, metadata={"description": "what the subscribing communes pay together"}
    )
    unsubscribed_share = Money(
        required=True,
        metadata={"description": "shares of communes that do not subscribe, left to the Metropole"},
    )


class AnnexSchema(StrictSchema):
    """Annex 1 of the agreement for one year."""

    year = fields.Integer(required=True)
    convention = fields.UUID(required=True)
    population_vintage = fields.Integer(required=True)
    total_population = fields.Integer(required=True)
    applications = fields.List(fields.Nested(ApplicationShareSchema), required=True)


class TitleLineSchema(StrictSchema):
    application = ApplicationCode(required=True, allow_none=True)
    description = fields.String(required=True)
    quantity = fields.Decimal(required=True, places=2, as_string=True)
    unit_price = Money(required=True)
    amount = Money(required=True, metadata={"description": "net of tax"})
    vat_rate = fields.Decimal(required=True, places=2, as_string=True, metadata={"example": "0.20"})
    vat_category = fields.String(required=True, validate=validate.OneOf(VAT_CATEGORIES))


class TitleSchema(StrictSchema):
    """A commune's annual title (*titre de recette*) or a credit note that cancels one.

    A draft has no number and follows every change; an issued document is never edited."""

    number = fields.String(required=True, allow_none=True, metadata={"example": "2024-000001"})
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    status = fields.String(required=True, validate=validate.OneOf(TITLE_STATUSES))
    commune = InseeCode(required=True)
    year = fields.Integer(required=True)
    issued_at = fields.AwareDateTime(required=True, allow_none=True)
    due_by = fields.Date(
        required=True, metadata={"description": "sent no later than 30 September of its year (Art. 5)"}
    )
    corrects = fields.String(
        required=True, allow_none=True, metadata={"description": "number of the title it cancels"}
    )
    needs_correction = fields.Boolean(
        required=True,
        metadata={"description": "issued, and what it bills no longer matches the facts"},
    )
    lines = fields.List(fields.Nested(TitleLineSchema), required=True)
    total_net = Money(required=True)
    total_vat = Money(required=True)
    total = Money(required=True)


class IssueTitlesSchema(StrictSchema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))


class IssuedTitlesSchema(StrictSchema):
    year = fields.Integer(required=True)
    issued = fields.List(fields.Nested(TitleSchema), required=True)
    already_issued = fields.Integer(
        required=True, metadata={"description": "communes whose title for the year was issued before"}
    )


class NewExtraSchema(StrictSchema):
    """Billable work outside the annual amounts (adaptations, evolutions, dedicated trainings,
    extra forms), with VAT at the normal rate (Art. 6)."""

    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    description = fields.String(required=True, validate=validate.Length(min=1, max=300))
    quantity = DecimalString(
        required=True, places=2, digits=MONEY_DIGITS,
        validate=validate.Range(min=0, min_inclusive=False),
    )
    unit_price = Money(required=True, validate=validate.Range(min=0, min_inclusive=False))

    @validates_schema
    def sane_amount(self, extra, **kwargs):
        quantity, unit_price = extra.get("quantity"), extra.get("unit_price")
        if quantity is not None and unit_price is not None and quantity * unit_price > 10**7:
            raise ValidationError({"unit_price": ["The amount exceeds 10,000,000.00 €."]})


class ExtraSchema(NewExtraSchema):
    id = fields.UUID(required=True)
    commune = InseeCode(required=True)
    amount = Money(required=True)
    vat_rate = fields.Decimal(required=True, places=2, as_string=True)
    recorded_at = fields.AwareDateTime(required=True)


class CorrectionSchema(StrictSchema):
    credit_note = fields.Nested(TitleSchema, required=True)
    corrected_title = fields.Nested(TitleSchema, required=True, allow_none=True)


# -- the title's life (Art. 5)


class LifeEventSchema(StrictSchema):
    state = fields.String(required=True, validate=validate.OneOf(LIFE_STATES))
    at = fields.AwareDateTime(required=True)
    detail = fields.String(required=True, allow_none=True)


class ChorusExchangeSchema(StrictSchema):
    """One call to Chorus Pro made for the document, secrets and file content left out."""

    operation = fields.String(required=True)
    method = fields.String(required=True)
    url = fields.String(required=True)
    status = fields.Integer(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)
    started_at = fields.AwareDateTime(required=True)
    duration_ms = fields.Integer(required=True)
    request = fields.Dict(required=True)
    response = fields.Raw(required=True, allow_none=True)


class NewContestationSchema(StrictSchema):
    emailed_on = fields.Date(
        required=True, metadata={"description": "the date of the commune's e-mail"}
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ContestationSchema(NewContestationSchema):
    id = fields.UUID(required=True)
    recorded_at = fields.AwareDateTime(required=True)
    decision = fields.String(required=True, allow_none=True, validate=validate.OneOf(DECISIONS))
    decided_at = fields.AwareDateTime(required=True, allow_none=True)


class ContestationDecisionSchema(StrictSchema):
    decision = fields.String(
        required=True,
        validate=validate.OneOf(DECISIONS, error="Either maintain or correct."),
        metadata={"description": "maintain the title, or cancel it by a credit note and issue "
                  "a corrected one"},
    )


class NewPaymentSchema(StrictSchema):
    paid_on = fields.Date(required=True)
    amount = Money(required=True, validate=validate.Range(min=0, min_inclusive=False))


class PaymentSchema(NewPaymentSchema):
    id = fields.UUID(required=True)
    recorded_at = fields.AwareDateTime(required=True)


class TitleLifeSchema(TitleSchema):
    """An issued document with its life: state and history, Chorus Pro identifiers and the
    dates of Art. 5."""

    state = fields.String(required=True, validate=validate.OneOf(LIFE_STATES))
    history = fields.List(fields.Nested(LifeEventSchema), required=True)
    transport = fields.String(required=True, allow_none=True)
    flow_number = fields.String(required=True, allow_none=True)
    chorus_invoice_id = fields.String(required=True, allow_none=True)
    chorus_status = fields.String(required=True, allow_none=True)
    rejection_reason = fields.String(required=True, allow_none=True)
    deposited_at = fields.AwareDateTime(required=True, allow_none=True)
    received_on = fields.Date(required=True, allow_none=True)
    contest_until = fields.Date(
        required=True, allow_none=True,
        metadata={"description": "last day to contest: 8 jours francs after reception"},
    )
    due_on = fields.Date(
        required=True, allow_none=True,
        metadata={"description": "payment due: 30 days after notification"},
    )
    accepted_on = fields.Date(required=True, allow_none=True)
    amount_paid = Money(required=True)
    outstanding = Money(required=True)
    contestations = fields.List(fields.Nested(ContestationSchema), required=True)
    payments = fields.List(fields.Nested(PaymentSchema), required=True)
    exchanges = fields.List(fields.Nested(ChorusExchangeSchema), required=True)


class DecisionAnswerSchema(StrictSchema):
    title = fields.Nested(TitleLifeSchema, required=True)
    correction = fields.Nested(CorrectionSchema, required=True, allow_none=True)


class DepositTitlesSchema(StrictSchema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))


class DepositRequestedSchema(StrictSchema):
    year = fields.Integer(required=True)
    requested = fields.List(
        fields.String(), required=True,
        metadata={"description": "documents queued for deposit by this request"},
    )
    already_requested = fields.Integer(required=True)


class DeadlinesQuerySchema(StrictSchema):
    received_on = fields.Date(required=True)


class DeadlinesSchema(StrictSchema):
    received_on = fields.Date(required=True)
    contest_until = fields.Date(required=True)
    due_on = fields.Date(required=True)


class BuyerUpdateSchema(StrictSchema):
    """How the commune wants its titles addressed on Chorus Pro, where it requires them."""

    service_code = fields.String(
        required=True, allow_none=True, validate=validate.Length(min=1, max=100),
        metadata={"description": "code service (BT-10)"},
    )
    commitment_number = fields.String(
        required=True, allow_none=True, validate=validate.Length(min=1, max=50),
        metadata={"description": "numéro d'engagement (BT-13)"},
    )


class BuyerSchema(BuyerUpdateSchema):
    commune = InseeCode(required=True)
    siret = fields.String(
        required=True, allow_none=True,
        metadata={"description": "set on the commune (subscriptions); required to deposit"},
    )
