"""Payloads of the billing service: Annex 1 (per-capita shares), annual titles and their
lines, credit notes, extra billable work."""

from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.fields import ApplicationCode, InseeCode, Money
from contracts.identity import StrictSchema

TITLE = "title"
CREDIT_NOTE = "credit_note"
KINDS = (TITLE, CREDIT_NOTE)

DRAFT = "draft"
ISSUED = "issued"
CANCELLED = "cancelled"
TITLE_STATUSES = (DRAFT, ISSUED, CANCELLED)

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
    quantity = fields.Decimal(
        required=True, places=2, as_string=True, validate=validate.Range(min=0, min_inclusive=False)
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
