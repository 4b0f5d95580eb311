"""Payloads of TéléAlerte (Art. 1, sixth application; Art. 2): a commune's alert accounts (15
at most), its recipient database kept in sync from CSV, its groups, the library of scenarios,
its crisis cells, and its campaigns with each recipient's delivery."""

from marshmallow import INCLUDE, Schema, fields, validate

from contracts.fields import Base64Bytes, Money
from contracts.identity import StrictSchema

CHANNELS = ("sms", "email", "voice")
CONTACT_KINDS = ("resident", "staff", "service")
# CAP's status of what is sent: a drill is never Actual (R8.3).
CAP_STATUSES = ("Actual", "Exercise", "Test")
CAMPAIGN_STATUSES = ("running", "paused", "stopped", "completed")
DELIVERY_STATUSES = ("queued", "sent", "delivered", "failed", "acknowledged")


class NewAlertAccountSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    phone = fields.String(load_default=None, allow_none=True,
                          validate=validate.Length(min=6, max=30))
    function = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(max=200),
                             metadata={"example": "Directeur général des services"})


class AlertAccountSchema(StrictSchema):
    id = fields.UUID(required=True)
    commune = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.Email(required=True)
    phone = fields.String(required=True, allow_none=True, metadata={"description": "E.164"})
    function = fields.String(required=True, allow_none=True)
    created_at = fields.AwareDateTime(required=True)


class ContactImportSchema(StrictSchema):
    """A CSV file of the commune's recipients (UTF-8, comma or semicolon), kept in sync by
    external id: columns external_id, name, phone, email, address, language, groups ("a;b"),
    consent, consent_method, kind, action ("delete")."""

    file_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content = Base64Bytes(required=True, validate=validate.Length(
        min=1, max=20 * 1024 * 1024, error="A file of 1 byte to 20 MiB."))


class RejectedRowSchema(StrictSchema):
    row = fields.Integer(required=True, metadata={"description": "the header is row 1"})
    column = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)


class ImportReportSchema(StrictSchema):
    inserted = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    deleted = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectedRowSchema), required=True)


class ContactSchema(StrictSchema):
    id = fields.UUID(required=True)
    external_id = fields.String(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    address = fields.String(required=True, allow_none=True)
    language = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CONTACT_KINDS))
    groups = fields.List(fields.String(), required=True)
    consent = fields.Boolean(required=True, allow_none=True)
    consent_method = fields.String(required=True, allow_none=True)
    unsubscribed_at = fields.AwareDateTime(required=True, allow_none=True)
    alertable = fields.Boolean(required=True, metadata={
        "description": "recorded consent not withdrawn, or the commune's staff or services"})


class ContactPageSchema(StrictSchema):
    total_count = fields.Integer(required=True)
    results = fields.List(fields.Nested(ContactSchema), required=True)


class ContactQuerySchema(StrictSchema):
    group = fields.String(validate=validate.Length(min=1, max=100))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class GroupSchema(StrictSchema):
    name = fields.String(required=True)
    contacts = fields.Integer(required=True)
    alertable = fields.Integer(required=True)


class TemplateSchema(StrictSchema):
    sms = fields.String(load_default=None, allow_none=True,
                        validate=validate.Length(min=1, max=1600))
    email_subject = fields.String(load_default=None, allow_none=True,
                                  validate=validate.Length(min=1, max=200))
    email_body = fields.String(load_default=None, allow_none=True,
                               validate=validate.Length(min=1, max=20000))
    voice = fields.String(load_default=None, allow_none=True,
                          validate=validate.Length(min=1, max=2000))


class NewScenarioSchema(TemplateSchema):
    slug = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$"))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    event = fields.String(required=True, validate=validate.Length(min=1, max=200),
                          metadata={"description": "CAP's event, e.g. Inondation"})
    category = fields.String(required=True, validate=validate.OneOf(
        ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport",
         "Infra", "CBRNE", "Other")))
    severity = fields.String(required=True, validate=validate.OneOf(
        ("Extreme", "Severe", "Moderate", "Minor", "Unknown")))
    urgency = fields.String(required=True, validate=validate.OneOf(
        ("Immediate", "Expected", "Future", "Past", "Unknown")))
    instruction = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class SmsPreviewSchema(StrictSchema):
    encoding = fields.String(required=True)
    length = fields.Integer(required=True)
    segments = fields.Integer(required=True)


class ScenarioSchema(NewScenarioSchema):
    commune = fields.String(required=True, allow_none=True,
                            metadata={"description": "none for the shipped library"})
    placeholders = fields.List(fields.String(), required=True)
    sms_preview = fields.Nested(SmsPreviewSchema, required=True, allow_none=True)


# -- crisis cells


class NewCrisisCellSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200),
                          metadata={"example": "Crue de la Mosson"})
    scenario = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(max=80))
    members = fields.List(fields.UUID(), load_default=None, allow_none=True,
                          metadata={"description": "alert accounts; none: all of them"})
    stakeholder_groups = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                                     load_default=list,
                                     metadata={"example": ["services-de-secours"]})


class CellMemberSchema(StrictSchema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class LogEntrySchema(StrictSchema):
    at = fields.AwareDateTime(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(
        ("activation", "notified", "decision", "message", "closing")))
    author = fields.String(required=True, allow_none=True)
    text = fields.String(required=True)


class NewLogEntrySchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(("decision", "message")))
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class CellClosingSchema(StrictSchema):
    summary = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class CrisisCellSchema(StrictSchema):
    id = fields.UUID(required=True)
    commune = fields.String(required=True)
    title = fields.String(required=True)
    scenario = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(("active", "closed")))
    activated_at = fields.AwareDateTime(required=True)
    closed_at = fields.AwareDateTime(required=True, allow_none=True)
    members = fields.List(fields.Nested(CellMemberSchema), required=True)
    stakeholders_notified = fields.Integer(required=True)
    log = fields.List(fields.Nested(LogEntrySchema), required=True)


# -- campaigns


class NewCampaignSchema(StrictSchema):
    scenario = fields.String(required=True, validate=validate.Length(min=1, max=80),
                             metadata={"example": "inondation"})
    groups = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                         required=True, validate=validate.Length(min=1, max=100),
                         metadata={"example": ["rue-de-la-mosson"]})
    channels = fields.List(fields.String(validate=validate.OneOf(CHANNELS)), required=True,
                           validate=validate.Length(min=1, max=3), metadata={
                               "example": ["sms", "email"]})
    status = fields.String(load_default="Actual", validate=validate.OneOf(CAP_STATUSES),
                           metadata={"description": "CAP's status: Exercise or Test for a drill"})
    headline = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(min=1, max=160),
                             metadata={"description": "none: the scenario's title"})
    area = fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(min=1, max=300),
                         metadata={"description": "the area alerted, in words; none: the "
                                                  "commune"})
    variables = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")),
        values=fields.String(validate=validate.Length(max=500)), load_default=dict,
        validate=validate.Length(max=20),
        metadata={"description": "the values of the scenario's own placeholders; commune and "
                                 "name are filled in for each recipient"})
    cell_id = fields.UUID(load_default=None, allow_none=True,
                          metadata={"description": "the crisis cell whose log records it"})


class DeliveryCountsSchema(StrictSchema):
    queued = fields.Integer(required=True)
    sent = fields.Integer(required=True)
    delivered = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    acknowledged = fields.Integer(required=True)
    total = fields.Integer(required=True)


class CampaignSchema(StrictSchema):
    id = fields.UUID(required=True)
    commune = fields.String(required=True)
    scenario = fields.String(required=True)
    headline = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CAMPAIGN_STATUSES))
    cap_status = fields.String(required=True, validate=validate.OneOf(CAP_STATUSES))
    groups = fields.List(fields.String(), required=True)
    channels = fields.List(fields.String(), required=True)
    area = fields.String(required=True)
    cell_id = fields.UUID(required=True, allow_none=True)
    recipients = fields.Integer(required=True, metadata={
        "description": "people alerted, each once whatever their groups and channels"})
    round = fields.Integer(required=True, metadata={"description": "1, then one more at each "
                                                                   "re-sending"})
    counts = fields.Dict(keys=fields.String(), values=fields.Nested(DeliveryCountsSchema),
                         required=True, metadata={"description": "deliveries per channel and "
                                                                 "state"})
    totals = fields.Nested(DeliveryCountsSchema, required=True)
    sms_preview = fields.Nested(SmsPreviewSchema, required=True, allow_none=True)
    sms_segments = fields.Integer(required=True, metadata={"description": "sent so far"})
    voice_minutes = fields.Integer(required=True, metadata={
        "description": "answered calls, each per started minute"})
    cost = Money(required=True, metadata={"description": "communication cost so far, net of "
                                                         "tax, borne by the commune (Art. 2)"})
    launched_at = fields.AwareDateTime(required=True)
    launched_by = fields.String(required=True, allow_none=True)
    completed_at = fields.AwareDateTime(required=True, allow_none=True)
    stopped_at = fields.AwareDateTime(required=True, allow_none=True)


class DeliveryQuerySchema(StrictSchema):
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class DeliverySchema(StrictSchema):
    recipient_id = fields.UUID(required=True)
    recipient_kind = fields.String(required=True, validate=validate.OneOf(("contact",
                                                                          "account")))
    name = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    attempts = fields.Integer(required=True)
    round = fields.Integer(required=True)
    sent_at = fields.AwareDateTime(required=True, allow_none=True)
    settled_at = fields.AwareDateTime(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)
    reply = fields.String(required=True, allow_none=True, metadata={
        "description": "the recipient's answer to an SMS"})


class DeliveryPageSchema(StrictSchema):
    total_count = fields.Integer(required=True)
    results = fields.List(fields.Nested(DeliverySchema), required=True)


class OperatorCallbackSchema(Schema):
    """What the operator posts to its callback URL: its own JSON object, no contract of ours,
    which the alerting service reads as a receipt, a reply or a call's end."""

    class Meta:
        unknown = INCLUDE


class OperatorCallbackAnswerSchema(StrictSchema):
    recorded = fields.Boolean(required=True, metadata={
        "description": "false when nothing of ours matches, or it changes nothing"})
