"""Payloads of the online services to citizens (Art. 1, second application; Art. 2 and 3): the
tele-service catalogue as versioned form definitions, each commune's active forms and branding,
its custom forms, citizens' requests and their processing, appointment agendas and holiday
camps.

A form definition is data: its fields, required attachments, the statuses of its workflow and
how long its requests are kept. The service checks each submission against the definition it
was made with; this module only states the shapes.
"""

from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.fields import Base64Bytes, DecimalString, InseeCode, Money
from contracts.identity import StrictSchema

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

# What a form's field holds. ``geolocation`` is {"lat", "lon"} in WGS 84; ``address`` a postal
# address on one line; ``choice`` one of the field's ``choices``.
FIELD_TYPES = ("text", "textarea", "email", "phone", "date", "integer", "decimal", "choice",
               "boolean", "address", "geolocation", "reference")

# The family of rules a form follows beyond its fields (R5 of the mission, Art. 2): the
# catalogue's ten tele-services, and the commune's own forms.
KINDS = ("civil_status_copy", "intervention", "holiday_camp", "move_parking",
         "building_site", "appointment", "contact", "custom")

CATEGORIES = ("civil_status", "municipal_services", "childhood", "roads", "urbanism",
              "appointments", "contact", "custom")

# The workflow every form follows (w.c.s.' statuses): a request is new when received, in
# progress once an agent takes it, waiting for the citizen when the agent needs something of
# them, then done or refused. The citizen may withdraw it (an appointment or a camp place
# cancelled) while it is open.
NEW = "new"
IN_PROGRESS = "in_progress"
WAITING_FOR_CITIZEN = "waiting_for_citizen"
DONE = "done"
REFUSED = "refused"
CANCELLED = "cancelled"
STATUSES = (NEW, IN_PROGRESS, WAITING_FOR_CITIZEN, DONE, REFUSED, CANCELLED)
CLOSED = (DONE, REFUSED, CANCELLED)

# Civil-status copies (R5.4): what is asked for, and who asks.
COPY_TYPES = ("full_copy", "extract_with_filiation", "extract_without_filiation")
RELATIONSHIPS = ("self", "spouse", "ascendant", "descendant", "legal_representative", "other")

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# The files the service recognises by their first bytes, whatever their name says.
ATTACHMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
MAX_PAGE = 200


class FieldDefinitionSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$"))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    required = fields.Boolean(load_default=False)
    choices = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                          load_default=None, allow_none=True)
    max_length = fields.Integer(load_default=None, allow_none=True,
                                validate=validate.Range(min=1, max=10000))
    minimum = DecimalString(load_default=None, allow_none=True)
    maximum = DecimalString(load_default=None, allow_none=True)
    personal = fields.Boolean(
        load_default=False,
        metadata={"description": "personal data: erased when the citizen deletes their account"})

    # ``_choices_for_a_choice``, as the OpenAPI document states it.
    openapi_rules = {"anyOf": [
        {"properties": {"type": {"not": {"enum": ["choice"]}}}},
        {"required": ["choices"], "properties": {"choices": {"type": "array", "minItems": 1}}},
    ]}

    @validates_schema
    def _choices_for_a_choice(self, field, **_):
        if field.get("type") == "choice" and not field.get("choices"):
            raise ValidationError({"choices": ["A choice field lists its choices."]})


class AttachmentDefinitionSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$"))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    required = fields.Boolean(load_default=False)
    content_types = fields.List(fields.String(validate=validate.OneOf(ATTACHMENT_TYPES)),
                                required=True,
                                validate=validate.Length(min=1),
                                metadata={"example": ["application/pdf", "image/jpeg"]})
    max_bytes = fields.Integer(load_default=MAX_ATTACHMENT_BYTES,
                               validate=validate.Range(min=1, max=MAX_ATTACHMENT_BYTES))
    personal = fields.Boolean(load_default=False)


class TransitionSchema(StrictSchema):
    # Definitions are stored in their wire form: ``attribute`` keeps the wire's names (which
    # Python reserves) in what is loaded and dumped, as for a form's ``fields``.
    source = fields.String(required=True, data_key="from", attribute="from",
                           validate=validate.OneOf(STATUSES))
    target = fields.String(required=True, data_key="to", attribute="to",
                           validate=validate.OneOf(STATUSES))


class FormDefinitionSchema(StrictSchema):
    """A tele-service as the catalogue (or a commune's custom form) defines it, in one version."""

    slug = fields.String(required=True, validate=validate.Regexp(SLUG))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    title = fields.String(required=True)
    description = fields.String(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    handling_service = fields.String(
        required=True, metadata={"description": "the municipal service that handles it"})
    retention_days = fields.Integer(
        required=True, metadata={"description": "how long a closed request is kept"})
    fields_ = fields.List(fields.Nested(FieldDefinitionSchema), required=True,
                          data_key="fields", attribute="fields")
    attachments = fields.List(fields.Nested(AttachmentDefinitionSchema), required=True)
    transitions = fields.List(fields.Nested(TransitionSchema), required=True)
    commune = InseeCode(required=True, allow_none=True,
                        metadata={"description": "set for a commune's custom form"})


class CommuneFormSchema(FormDefinitionSchema):
    active = fields.Boolean(required=True)


# -- a commune's set-up (Art. 2: the Metropole sets up its graphic charter)


class ServiceContactSchema(StrictSchema):
    address = fields.String(required=True, validate=validate.Length(min=1, max=300))
    email = fields.Email(required=True)
    phone = fields.String(required=True, validate=validate.Regexp(r"^\+?[0-9 .]{6,20}$"))
    opening_hours = fields.String(load_default=None, allow_none=True,
                                  validate=validate.Length(max=300))


class BrandingSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120),
                         metadata={"example": "Mairie de Lavérune"})
    logo_url = fields.Url(required=True, allow_none=True)
    primary_colour = fields.String(required=True, validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$"),
                                   metadata={"example": "#005a9c"})
    secondary_colour = fields.String(required=True,
                                     validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$"))
    contact = fields.Nested(ServiceContactSchema, required=True)


class CommuneBrandingSchema(BrandingSchema):
    commune = InseeCode(required=True)
    updated_at = fields.AwareDateTime(required=True, allow_none=True)


class NewCustomFormSchema(StrictSchema):
    """A form outside the catalogue, integrated by the Metropole for one commune. The first
    is free; each further integration is billed at ``integration_price`` net, with VAT at the
    normal rate (Art. 2, 3 and 6)."""

    slug = fields.String(required=True, validate=validate.Regexp(SLUG))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    handling_service = fields.String(required=True, validate=validate.Length(min=1, max=200))
    retention_days = fields.Integer(required=True, validate=validate.Range(min=1, max=36500))
    fields_ = fields.List(fields.Nested(FieldDefinitionSchema), required=True,
                          data_key="fields", attribute="fields",
                          validate=validate.Length(min=1, max=100))
    attachments = fields.List(fields.Nested(AttachmentDefinitionSchema), load_default=list,
                              validate=validate.Length(max=20))
    integration_price = Money(load_default=None, allow_none=True,
                              validate=validate.Range(min=0, min_inclusive=False),
                              metadata={"description": "net of tax; needed from the "
                                                       "commune's second custom form on"})


class CustomFormSchema(CommuneFormSchema):
    integration_number = fields.Integer(
        required=True, metadata={"description": "1 for the commune's first custom form"})
    billable = fields.Boolean(required=True)
    integration_price = Money(required=True, allow_none=True)


# -- requests


class NewAttachmentSchema(StrictSchema):
    name = fields.String(required=True, metadata={"description": "the form's attachment slot"})
    file_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content = Base64Bytes(required=True)


class NewRequestSchema(StrictSchema):
    form = fields.String(required=True, validate=validate.Regexp(SLUG),
                         metadata={"example": "acte-de-naissance"})
    data = fields.Dict(keys=fields.String(), required=True,
                       metadata={"description": "the form's fields, by name"})
    attachments = fields.List(fields.Nested(NewAttachmentSchema), load_default=list,
                              validate=validate.Length(max=20))


class RequesterSchema(StrictSchema):
    """Who submitted a request, as the gateway read it from identity."""

    account_id = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.Email(required=True)


class AttachmentSchema(StrictSchema):
    name = fields.String(required=True)
    file_name = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)


class HistoryEntrySchema(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    at = fields.AwareDateTime(required=True)
    by = fields.String(required=True, validate=validate.OneOf(("citizen", "agent", "system")))


class MessageSchema(StrictSchema):
    author = fields.String(required=True, validate=validate.OneOf(("citizen", "agent")))
    text = fields.String(required=True)
    at = fields.AwareDateTime(required=True)
    emailed = fields.String(required=True, allow_none=True,
                            validate=validate.OneOf(("pending", "sent", "failed")),
                            metadata={"description": "the e-mail that told the citizen"})


class RequestSchema(StrictSchema):
    id = fields.UUID(required=True)
    reference = fields.String(required=True, metadata={"example": "34134-2026-000042"})
    commune = InseeCode(required=True)
    form = fields.String(required=True)
    form_version = fields.Integer(required=True)
    form_title = fields.String(required=True)
    handling_service = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    submitted_at = fields.AwareDateTime(required=True)
    registration_acknowledged_at = fields.AwareDateTime(
        required=True, allow_none=True,
        metadata={"description": "accusé d'enregistrement e-mailed (CRPA R112-11-2)"})
    receipt_acknowledged_at = fields.AwareDateTime(
        required=True, allow_none=True,
        metadata={"description": "accusé de réception e-mailed (CRPA L112-11)"})
    acknowledge_by = fields.Date(
        required=True, metadata={"description": "last day for the accusé de réception: 10 "
                                                "working days after receipt"})
    data = fields.Dict(required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)
    requester = fields.Nested(RequesterSchema, required=True, allow_none=True,
                              metadata={"description": "None once the citizen deleted their "
                                                       "account"})
    flags = fields.List(fields.String(), required=True,
                        metadata={"description": "what an agent should look at, e.g. a "
                                                 "parking request overlapping another"})
    waiting_list_position = fields.Integer(required=True, allow_none=True)
    history = fields.List(fields.Nested(HistoryEntrySchema), required=True)
    seconds_in_status = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                    required=True)
    messages = fields.List(fields.Nested(MessageSchema), required=True)
    anonymised = fields.Boolean(required=True)


class RequestPageSchema(StrictSchema):
    items = fields.List(fields.Nested(RequestSchema), required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                         metadata={"description": "requests by status, under the filters "
                                                  "other than status"})
    next_cursor = fields.String(required=True, allow_none=True)


class RequestQuerySchema(StrictSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    form = fields.String(validate=validate.Regexp(SLUG))
    submitted_from = fields.Date()
    submitted_until = fields.Date()
    flagged = fields.Boolean()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = fields.String(validate=validate.Length(max=200))


class NewTransitionSchema(StrictSchema):
    to = fields.String(required=True, validate=validate.OneOf(STATUSES))
    message = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(min=1, max=5000),
                            metadata={"description": "e-mailed to the citizen with the news"})


class NewMessageSchema(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))


# -- appointments (chrono's "meetings" agendas) and holiday camps (its "events")


class NewAgendaSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"example": "M. le Maire"})
    kind = fields.String(required=True, validate=validate.OneOf(("elected_official",
                                                                  "service")))


class AgendaSchema(NewAgendaSchema):
    id = fields.UUID(required=True)
    commune = InseeCode(required=True)


class NewSlotsSchema(StrictSchema):
    """Slots opened back to back from ``starts_at``, ``count`` of ``minutes`` each."""

    starts_at = fields.AwareDateTime(required=True)
    minutes = fields.Integer(required=True, validate=validate.Range(min=5, max=480))
    count = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100))


class SlotSchema(StrictSchema):
    id = fields.UUID(required=True)
    agenda_id = fields.UUID(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    booked = fields.Boolean(required=True)


class SlotQuerySchema(StrictSchema):
    available = fields.Boolean(load_default=None, allow_none=True)


class NewCampSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    places = fields.Integer(required=True, validate=validate.Range(min=1, max=10000))

    @validates_schema
    def _ends_after_it_starts(self, camp, **_):
        if camp.get("starts_on") and camp.get("ends_on") and camp["ends_on"] < camp["starts_on"]:
            raise ValidationError({"ends_on": ["A stay ends on or after the day it starts."]})


class CampSchema(NewCampSchema):
    id = fields.UUID(required=True)
    commune = InseeCode(required=True)
    places_taken = fields.Integer(required=True)
    waiting_list = fields.Integer(required=True)
