"""Payloads of the public procurement portal (Art. 1, third application; Art. 2): each buyer's
profile, consultations with their file (DCE), companies' withdrawals and questions, sealed bids,
their opening after the deadline, and awards published as contract data (DECP).

The minimum functions of a *profil d'acheteur* are those of the arrêté du 22 mars 2019.
"""

from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.events import CONTRACT_NATURES, PLACE_CODE_TYPES, PRICE_FORMS
from contracts.fields import Base64Bytes, Money
from contracts.identity import StrictSchema

BUYER_KINDS = ("commune", "ccas", "metropole")
# Procedures of the code de la commande publique a consultation follows.
PROCEDURES = ("adapted", "open", "restricted", "negotiated", "competitive_dialogue")
CPV = r"^[0-9]{8}-[0-9]$"

DRAFT = "draft"
PUBLISHED = "published"
OPENED = "opened"
AWARDED = "awarded"
STATES = (DRAFT, PUBLISHED, OPENED, AWARDED)

# One file of a consultation's DCE or of a bid; JSON carries it base64-encoded.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_PAGE = 100
# Far past any consultation's register, and within what a database takes as an OFFSET.
MAX_OFFSET = 1_000_000


class BuyerSchema(StrictSchema):
    id = fields.String(required=True, metadata={"example": "commune-34134"})
    kind = fields.String(required=True, validate=validate.OneOf(BUYER_KINDS))
    name = fields.String(required=True)
    insee = fields.String(required=True, allow_none=True)
    siret = fields.String(required=True, allow_none=True)
    welcome = fields.String(required=True, allow_none=True,
                            metadata={"description": "the buyer's home page text"})
    logo_url = fields.Url(required=True, allow_none=True)
    open_consultations = fields.Integer(required=True)


class BuyerPageSchema(StrictSchema):
    """What the buyer sets on its profile (its branding and home page)."""

    welcome = fields.String(required=True, allow_none=True, validate=validate.Length(max=5000))
    logo_url = fields.Url(required=True, allow_none=True)
    siret = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{14}$"))


class LotSchema(StrictSchema):
    number = fields.Integer(required=True, validate=validate.Range(min=1, max=999))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    estimated_value = Money(load_default=None, allow_none=True,
                            metadata={"description": "net of tax"})


class NewConsultationSchema(StrictSchema):
    reference = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$"), metadata={"example": "2026-MAPA-014"})
    buyer_kind = fields.String(load_default="commune",
                               validate=validate.OneOf(("commune", "ccas")))
    object = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    procedure = fields.String(required=True, validate=validate.OneOf(PROCEDURES))
    cpv_codes = fields.List(fields.String(validate=validate.Regexp(CPV)), required=True,
                            validate=validate.Length(min=1, max=20),
                            metadata={"example": ["45233141-9"]})
    lots = fields.List(fields.Nested(LotSchema), required=True,
                       validate=validate.Length(min=1, max=200))
    estimated_value = Money(required=True, validate=validate.Range(min=0),
                            metadata={"description": "net of tax"})
    questions_deadline = fields.AwareDateTime(required=True)
    bid_deadline = fields.AwareDateTime(required=True)
    notice = fields.String(required=True, validate=validate.Length(min=1, max=20000),
                           metadata={"description": "the call for competition's text"})

    @validates_schema
    def _lots_numbered_once(self, consultation, **_):
        numbers = [lot["number"] for lot in consultation.get("lots", ())]
        if len(numbers) != len(set(numbers)):
            raise ValidationError({"lots": ["Each lot has its own number."]})


class DocumentSchema(StrictSchema):
    name = fields.String(required=True)
    version = fields.Integer(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    uploaded_at = fields.AwareDateTime(required=True)


class NewDocumentSchema(StrictSchema):
    file_name = fields.String(required=True, validate=validate.Regexp(
        r"^[^/\\\x00-\x1f]{1,200}$", error="A file name, without a path."))
    content = Base64Bytes(required=True, validate=validate.Length(
        min=1, max=MAX_FILE_BYTES, error="A file of 1 byte to 20 MiB."))


class ConsultationSchema(StrictSchema):
    id = fields.UUID(required=True)
    buyer = fields.Nested(BuyerSchema, required=True)
    reference = fields.String(required=True)
    object = fields.String(required=True)
    procedure = fields.String(required=True)
    cpv_codes = fields.List(fields.String(), required=True)
    lots = fields.List(fields.Nested(LotSchema), required=True)
    estimated_value = Money(required=True)
    questions_deadline = fields.AwareDateTime(required=True)
    bid_deadline = fields.AwareDateTime(required=True)
    notice = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    published_at = fields.AwareDateTime(required=True, allow_none=True)
    documents = fields.List(fields.Nested(DocumentSchema), required=True)
    withdrawals = fields.Integer(required=True)
    bids = fields.Integer(required=True,
                          metadata={"description": "how many, never what they contain"})


class ConsultationPageSchema(StrictSchema):
    total_count = fields.Integer(required=True)
    results = fields.List(fields.Nested(ConsultationSchema), required=True)


class ConsultationSearchSchema(StrictSchema):
    q = fields.String(validate=validate.Length(min=1, max=200))
    cpv = fields.String(validate=validate.Regexp(r"^[0-9]{2,8}(-[0-9])?$"),
                        metadata={"description": "a CPV code or its first digits"})
    buyer = fields.String(validate=validate.Length(max=40))
    procedure = fields.String(validate=validate.OneOf(PROCEDURES))
    deadline_after = fields.AwareDateTime()
    deadline_before = fields.AwareDateTime()
    open_only = fields.Boolean(load_default=True)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class RegisterQuerySchema(StrictSchema):
    """A page of one consultation's withdrawals, questions or history, oldest first: companies
    add to them as often as they like, so they are read a page at a time."""

    limit = fields.Integer(load_default=MAX_PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET),
                            metadata={"description": "how many to skip: the ones already read"})


class CompanySchema(StrictSchema):
    """Who a company is, as the gateway read it from identity."""

    account_id = fields.String(required=True)
    name = fields.String(required=True)
    siret = fields.String(required=True)
    email = fields.Email(required=True)


class WithdrawalSchema(StrictSchema):
    company_name = fields.String(required=True)
    siret = fields.String(required=True)
    at = fields.AwareDateTime(required=True)
    documents_version = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                    required=True)


class WithdrawalPageSchema(StrictSchema):
    total_count = fields.Integer(required=True)
    results = fields.List(fields.Nested(WithdrawalSchema), required=True)


class NewQuestionSchema(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class AnswerSchema(StrictSchema):
    answer = fields.String(required=True, validate=validate.Length(min=1, max=10000))


class QuestionSchema(StrictSchema):
    """A question as every company reads it: anonymous (the buyer treats all alike)."""

    id = fields.UUID(required=True)
    text = fields.String(required=True)
    asked_at = fields.AwareDateTime(required=True)
    answer = fields.String(required=True, allow_none=True)
    answered_at = fields.AwareDateTime(required=True, allow_none=True)


class QuestionPageSchema(StrictSchema):
    total_count = fields.Integer(required=True)
    results = fields.List(fields.Nested(QuestionSchema), required=True)


class NewBidSchema(StrictSchema):
    lot = fields.Integer(required=True, validate=validate.Range(min=1))
    files = fields.List(fields.Nested(NewDocumentSchema), required=True,
                        validate=validate.Length(min=1, max=20))


class BidFileSchema(StrictSchema):
    file_name = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)


class BidReceiptSchema(StrictSchema):
    """The company's proof of deposit: what it deposited, when, and the fingerprint of each
    file, which the opening must find again."""

    bid_id = fields.UUID(required=True)
    consultation_id = fields.UUID(required=True)
    reference = fields.String(required=True)
    lot = fields.Integer(required=True)
    siret = fields.String(required=True)
    deposited_at = fields.AwareDateTime(required=True)
    late = fields.Boolean(required=True)
    files = fields.List(fields.Nested(BidFileSchema), required=True)


class BidCountSchema(StrictSchema):
    lot = fields.Integer(required=True)
    on_time = fields.Integer(required=True)
    late = fields.Integer(required=True)


class OpenedFileSchema(BidFileSchema):
    """A file as the opening unsealed it: its fingerprint computed again from the clear
    bytes, and whether it is the receipt's."""

    matches_receipt = fields.Boolean(required=True)
    destroyed = fields.Boolean(required=True, metadata={
        "description": "its content destroyed at the end of its retention"})


class OpenedBidSchema(StrictSchema):
    bid_id = fields.UUID(required=True)
    lot = fields.Integer(required=True)
    company_name = fields.String(required=True)
    siret = fields.String(required=True)
    deposited_at = fields.AwareDateTime(required=True)
    late = fields.Boolean(required=True)
    superseded = fields.Boolean(required=True, metadata={
        "description": "replaced by a later bid of the same company for the lot"})
    admitted = fields.Boolean(required=True, metadata={
        "description": "on time and not superseded: the bid the opening considers"})
    files = fields.List(fields.Nested(OpenedFileSchema), required=True)


class OpeningReportSchema(StrictSchema):
    consultation_id = fields.UUID(required=True)
    reference = fields.String(required=True)
    bid_deadline = fields.AwareDateTime(required=True)
    opened_at = fields.AwareDateTime(required=True)
    opened_by = fields.String(required=True)
    bids = fields.List(fields.Nested(OpenedBidSchema), required=True)


class NewAwardSchema(StrictSchema):
    lot = fields.Integer(required=True, validate=validate.Range(min=1))
    bid_id = fields.UUID(required=True, metadata={"description": "the admitted bid chosen"})
    amount = Money(required=True, validate=validate.Range(min=0, min_inclusive=False),
                   metadata={"description": "net of tax"})
    nature = fields.String(load_default="Marché", validate=validate.OneOf(CONTRACT_NATURES))
    price_form = fields.String(required=True, validate=validate.OneOf(PRICE_FORMS))
    duration_months = fields.Integer(required=True, validate=validate.Range(min=1, max=600))
    notified_on = fields.Date(required=True)
    place_code = fields.String(required=True, validate=validate.Length(min=1, max=10),
                               metadata={"example": "34880"})
    place_type = fields.String(load_default="Code postal",
                               validate=validate.OneOf(PLACE_CODE_TYPES))


class AwardSchema(StrictSchema):
    lot = fields.Integer(required=True)
    bid_id = fields.UUID(required=True)
    holder_name = fields.String(required=True)
    holder_siret = fields.String(required=True)
    amount = Money(required=True)
    notified_on = fields.Date(required=True)
    contract_id = fields.String(required=True, metadata={"description": "its DECP id"})
    retention_until = fields.Date(required=True, metadata={
        "description": "offers and files kept at least until then (R2184-12)"})


class DestructionSchema(StrictSchema):
    decision = fields.String(required=True, validate=validate.Length(min=1, max=300),
                             metadata={"description": "the recorded decision: its reference",
                                       "example": "Visa AD34 n° 2032-118"})


class HistoryEntrySchema(StrictSchema):
    """One line of the consultation's append-only history (arrêté du 22 mars 2019, I 8°)."""

    at = fields.AwareDateTime(required=True)
    kind = fields.String(required=True)
    actor = fields.String(required=True, allow_none=True)
    detail = fields.Dict(required=True)


class HistoryPageSchema(StrictSchema):
    total_count = fields.Integer(required=True)
    results = fields.List(fields.Nested(HistoryEntrySchema), required=True)
