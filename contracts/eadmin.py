"""Payloads of the e-administration service: signing certificates, acts with their files and
signature circuit, their transmission to the prefecture (@ctes), and the archive."""

from marshmallow import fields, validate

from contracts.fields import Base64Bytes, Money
from contracts.identity import StrictSchema

# The @ctes natures of an act, in @ctes order (CodeNatureActe 1 to 6).
NATURES = {
    "DE": "Délibération",
    "AR": "Acte réglementaire",
    "AI": "Acte individuel",
    "CC": "Contrat, convention et avenant",
    "BF": "Document budgétaire et financier",
    "AU": "Autre",
}
# S2LOW (ActesTransaction): 1 to 15 capitals, digits or underscores, never one at either end.
ACT_NUMBER_PATTERN = r"^([A-Z0-9][A-Z0-9_]{0,13})?[A-Z0-9]$"
# The prefecture's nomenclature: a matter 1-9, then up to four sub-levels of 1-99 ("7.1.2").
CLASSIFICATION_PATTERN = r"^[1-9](\.[1-9][0-9]?){0,4}$"
MAX_SUBJECT = 499

DRAFT = "draft"
SIGNED = "signed"
TRANSMITTED = "transmitted"
ACKNOWLEDGED = "acknowledged"
REFUSED = "refused"
ARCHIVED = "archived"
ACT_STATES = (DRAFT, SIGNED, TRANSMITTED, ACKNOWLEDGED, REFUSED, ARCHIVED)


class NewCertificateSchema(StrictSchema):
    holder = fields.String(required=True, validate=validate.Length(min=1, max=200),
                           metadata={"description": "the signatory who holds it"})
    pkcs12 = Base64Bytes(required=True, metadata={"description": "PKCS#12 (.p12), base64"})
    passphrase = fields.String(required=True, load_only=True,
                               validate=validate.Length(max=200))


class CertificateSchema(StrictSchema):
    id = fields.UUID(required=True)
    commune = fields.String(required=True)
    holder = fields.String(required=True)
    subject = fields.String(required=True)
    serial = fields.String(required=True)
    fingerprint = fields.String(required=True, metadata={"description": "SHA-256"})
    not_before = fields.Date(required=True)
    not_after = fields.Date(required=True)
    revoked = fields.Boolean(required=True)
    expiring = fields.Boolean(required=True, metadata={"description": "within 60 days"})


class FileSchema(StrictSchema):
    file_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content = Base64Bytes(required=True, load_only=True)


class StoredFileSchema(StrictSchema):
    role = fields.String(required=True)
    file_name = fields.String(required=True)
    sha256 = fields.String(required=True)
    size = fields.Integer(required=True)


class SignatorySchema(StrictSchema):
    signatory = fields.String(required=True, validate=validate.Length(min=1, max=200))
    capacity = fields.String(required=True, validate=validate.Length(min=1, max=200),
                             metadata={"example": "Maire"})
    delegate = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(min=1, max=200))


class NewActSchema(StrictSchema):
    number = fields.String(
        required=True,
        validate=validate.Regexp(
            ACT_NUMBER_PATTERN,
            error="1 to 15 capital letters, digits or _ (not at either end), as @ctes wants.",
        ),
    )
    nature = fields.String(required=True, validate=validate.OneOf(tuple(NATURES)))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=MAX_SUBJECT))
    classification = fields.String(
        required=True,
        validate=validate.Regexp(CLASSIFICATION_PATTERN,
                                 error="A classification code such as 1.1 or 7.1.2."),
    )
    decided_on = fields.Date(required=True)
    document = fields.Nested(FileSchema, required=True)
    annexes = fields.List(fields.Nested(FileSchema), load_default=list,
                          validate=validate.Length(max=20))
    signatories = fields.List(fields.Nested(SignatorySchema), required=True,
                              validate=validate.Length(min=1, max=10))


class SignatureStepSchema(SignatorySchema):
    position = fields.Integer(required=True)
    certificate_id = fields.UUID(required=True, allow_none=True)
    signed_at = fields.AwareDateTime(required=True, allow_none=True)


class ActEventSchema(StrictSchema):
    state = fields.String(required=True)
    at = fields.AwareDateTime(required=True)
    detail = fields.String(required=True, allow_none=True)
    message = fields.Dict(required=True, allow_none=True)


class ActSchema(StrictSchema):
    id = fields.UUID(required=True)
    commune = fields.String(required=True)
    number = fields.String(required=True)
    nature = fields.String(required=True)
    subject = fields.String(required=True)
    classification = fields.String(required=True)
    decided_on = fields.Date(required=True)
    state = fields.String(required=True, validate=validate.OneOf(ACT_STATES))
    signed_on = fields.Date(required=True, allow_none=True)
    transmit_by = fields.Date(
        required=True, allow_none=True,
        metadata={"description": "an individual decision: 15 days after its signature"},
    )
    late = fields.Boolean(required=True)
    identifier = fields.String(required=True, allow_none=True,
                               metadata={"example": "034-213401342-20220301-2022_042-DE"})
    transaction_id = fields.String(required=True, allow_none=True)
    transmitted_at = fields.AwareDateTime(required=True, allow_none=True)
    acknowledged_on = fields.Date(required=True, allow_none=True)
    published_on = fields.Date(required=True, allow_none=True)
    enforceable_on = fields.Date(
        required=True, allow_none=True,
        metadata={"description": "once transmitted (acknowledged) and published (L2131-1)"},
    )
    files = fields.List(fields.Nested(StoredFileSchema), required=True)
    signatures = fields.List(fields.Nested(SignatureStepSchema), required=True)
    history = fields.List(fields.Nested(ActEventSchema), required=True)


class NewSignatureSchema(StrictSchema):
    certificate_id = fields.UUID(required=True)
    passphrase = fields.String(required=True, load_only=True,
                               validate=validate.Length(max=200))


class SignatureCheckSchema(StrictSchema):
    field = fields.String(required=True)
    signer = fields.String(required=True)
    signed_at = fields.AwareDateTime(required=True, allow_none=True)
    intact = fields.Boolean(required=True, metadata={"description": "its bytes unchanged"})
    valid = fields.Boolean(required=True)
    trusted = fields.Boolean(required=True,
                             metadata={"description": "the signer chains to a trusted root"})


class PublicationSchema(StrictSchema):
    published_on = fields.Date(required=True)


class ArchiveEntrySchema(StrictSchema):
    act_id = fields.UUID(required=True)
    commune = fields.String(required=True)
    number = fields.String(required=True)
    nature = fields.String(required=True)
    archived_at = fields.AwareDateTime(required=True)
    keep_until = fields.Date(required=True, allow_none=True,
                             metadata={"description": "none: kept permanently"})
    files = fields.List(fields.Nested(StoredFileSchema), required=True)


class IntegritySchema(StrictSchema):
    act_id = fields.UUID(required=True)
    intact = fields.Boolean(required=True)
    altered = fields.List(fields.String(), required=True,
                          metadata={"description": "names of files whose bytes changed"})
    signatures = fields.List(fields.Nested(SignatureCheckSchema), required=True)



# -- council sessions and convocations


class CouncillorSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=320))


class NewSessionSchema(StrictSchema):
    council = fields.String(load_default="conseil municipal",
                            validate=validate.Length(min=1, max=200))
    starts_at = fields.AwareDateTime(required=True)
    place = fields.String(required=True, validate=validate.Length(min=1, max=300))
    urgent = fields.Boolean(load_default=False)
    agenda = fields.List(fields.String(validate=validate.Length(min=1, max=500)),
                         required=True, validate=validate.Length(min=1, max=200))
    councillors = fields.List(fields.Nested(CouncillorSchema), required=True,
                              validate=validate.Length(min=1, max=200))
    documents = fields.List(fields.Nested(FileSchema), load_default=list,
                            validate=validate.Length(max=50))
    explanatory_note = fields.Nested(
        FileSchema, load_default=None, allow_none=True,
        metadata={"description": "required from 3,500 inhabitants (L2121-12)"})


class SessionDocumentSchema(StrictSchema):
    position = fields.Integer(required=True)
    file_name = fields.String(required=True)
    sha256 = fields.String(required=True)
    size = fields.Integer(required=True)
    explanatory_note = fields.Boolean(required=True)
    added_at = fields.AwareDateTime(required=True)
    after_convocation = fields.Boolean(required=True)


class ConvocationSchema(StrictSchema):
    councillor = fields.String(required=True)
    email = fields.String(required=True)
    sent_at = fields.AwareDateTime(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)
    opened_at = fields.AwareDateTime(required=True, allow_none=True,
                                     metadata={"description": "the read receipt"})
    openings = fields.Integer(required=True)


class SessionSchema(StrictSchema):
    id = fields.UUID(required=True)
    commune = fields.String(required=True)
    council = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True)
    place = fields.String(required=True)
    urgent = fields.Boolean(required=True)
    agenda = fields.List(fields.String(), required=True)
    convened_at = fields.AwareDateTime(required=True, allow_none=True)
    earliest_session_on = fields.Date(
        required=True, metadata={"description": "for convocations sent today"})
    documents = fields.List(fields.Nested(SessionDocumentSchema), required=True)
    convocations = fields.List(fields.Nested(ConvocationSchema), required=True)


class ConvocationPageSchema(StrictSchema):
    """What a councillor's personal link shows."""

    council = fields.String(required=True)
    commune = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True)
    place = fields.String(required=True)
    agenda = fields.List(fields.String(), required=True)
    councillor = fields.String(required=True)
    documents = fields.List(fields.Nested(SessionDocumentSchema), required=True)


# -- accounting pieces to the public accountant (Hélios, PES Aller)

BATCH_KINDS = ("titres", "mandats")


class BudgetSchema(StrictSchema):
    id_coll = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{14}$"),
                            metadata={"description": "the ordonnateur's SIRET"})
    cod_col = fields.String(required=True, validate=validate.Regexp(r"^[0-9A-Z]{1,3}$"))
    cod_bud = fields.String(required=True, validate=validate.Regexp(r"^[0-9A-Z]{1,2}$"))
    id_post = fields.String(required=True, validate=validate.Regexp(r"^[0-9A-Z]{1,7}$"),
                            metadata={"description": "the public accountant's post"})
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))


class PieceLineSchema(StrictSchema):
    account = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{2,10}$"))
    amount = Money(required=True, validate=validate.Range(min=0, min_inclusive=False))
    party = fields.String(required=True, validate=validate.Length(min=1, max=200))


class PieceSchema(StrictSchema):
    number = fields.Integer(required=True, validate=validate.Range(min=1))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=500))
    lines = fields.List(fields.Nested(PieceLineSchema), required=True,
                        validate=validate.Length(min=1, max=100))
    attachments = fields.List(fields.Nested(FileSchema), load_default=list,
                              validate=validate.Length(max=20))


class NewAccountingBatchSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(BATCH_KINDS))
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    number = fields.Integer(required=True, validate=validate.Range(min=1))
    budget = fields.Nested(BudgetSchema, required=True)
    pieces = fields.List(fields.Nested(PieceSchema), required=True,
                         validate=validate.Length(min=1, max=500))


class AccountingBatchSchema(StrictSchema):
    id = fields.UUID(required=True)
    commune = fields.String(required=True)
    kind = fields.String(required=True)
    year = fields.Integer(required=True)
    number = fields.Integer(required=True)
    file_name = fields.String(required=True)
    total = Money(required=True)
    state = fields.String(required=True, metadata={"description": "posted, accepted or refused"})
    transaction_id = fields.String(required=True, allow_none=True)
    verdict = fields.String(required=True, allow_none=True,
                            metadata={"description": "the accountant's ACK or NACK"})
    errors = fields.List(fields.String(), required=True)
    posted_at = fields.AwareDateTime(required=True, allow_none=True)
    answered_at = fields.AwareDateTime(required=True, allow_none=True)


class NewAnswerSchema(StrictSchema):
    """The commune's answer to a message of the prefecture about an act."""

    message_id = fields.String(required=True, validate=validate.Length(min=1, max=60))
    reply = fields.String(
        required=True, validate=validate.OneOf(("3-2", "3-3", "4-2", "4-3")),
        metadata={"description": "3-2 additional documents, 3-3 explicit refusal to send "
                  "them, 4-2 letter of justification, 4-3 explicit rejection of observations"})
    document = fields.Nested(FileSchema, required=True)
