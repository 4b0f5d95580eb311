"""Payloads of the citizen participation platform (Art. 1, fifth application): a commune's
participatory processes with their phases, citizens' proposals and comments, moderation,
votes, a participatory budget's ballots, a petition's signatures, and the results."""

from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.events import PROCESS_KINDS, ProposalResultSchema
from contracts.fields import InseeCode, Money
from contracts.identity import StrictSchema

CONSULTATION, PARTICIPATORY_BUDGET, PETITION = PROCESS_KINDS
PHASES = ("information", "proposals", "voting", "results")
ELIGIBILITY = ("any_account", "residents")
MAX_PAGE = 200
# Far past any process's proposals or a proposal's comments, and within what a database
# takes as an OFFSET.
MAX_OFFSET = 1_000_000


class PhaseSchema(StrictSchema):
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                   metadata={"description": "none: open-ended (results)"})


class NewProcessSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    kind = fields.String(required=True, validate=validate.OneOf(PROCESS_KINDS))
    publisher_kind = fields.String(load_default="commune",
                                   validate=validate.OneOf(("commune", "ccas")))
    eligibility = fields.String(load_default="any_account",
                                validate=validate.OneOf(ELIGIBILITY))
    phases = fields.Dict(keys=fields.String(validate=validate.OneOf(PHASES)),
                         values=fields.Nested(PhaseSchema), required=True)
    budget = Money(load_default=None, allow_none=True,
                   validate=validate.Range(min=0, min_inclusive=False))
    min_projects = fields.Integer(load_default=1, validate=validate.Range(min=1))
    max_projects = fields.Integer(load_default=None, allow_none=True,
                                  validate=validate.Range(min=1))
    threshold = fields.Integer(load_default=None, allow_none=True,
                               validate=validate.Range(min=1))

    # ``_what_each_kind_needs`` as the OpenAPI document states it, but for the number of
    # projects, which compares two fields.
    openapi_rules = {"allOf": [
        {"anyOf": [{"properties": {"kind": {"not": {"enum": [PARTICIPATORY_BUDGET]}}}},
                   {"required": ["budget"], "properties": {"budget": {"type": "string"}}}]},
        {"anyOf": [{"properties": {"kind": {"not": {"enum": [PETITION]}}}},
                   {"required": ["threshold"], "properties": {"threshold": {"type": "integer"}}}]},
    ]}

    @validates_schema
    def _what_each_kind_needs(self, process, **_):
        errors = {}
        if process.get("kind") == PARTICIPATORY_BUDGET and process.get("budget") is None:
            errors["budget"] = ["A participatory budget states its amount."]
        if process.get("kind") == PETITION and process.get("threshold") is None:
            errors["threshold"] = ["A petition states the signatures it needs."]
        maximum = process.get("max_projects")
        if maximum is not None and maximum < process.get("min_projects", 1):
            errors["max_projects"] = ["At least the minimum number of projects."]
        if errors:
            raise ValidationError(errors)


class ProcessSchema(StrictSchema):
    id = fields.UUID(required=True)
    commune = InseeCode(required=True)
    publisher_kind = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PROCESS_KINDS))
    eligibility = fields.String(required=True)
    phases = fields.Dict(keys=fields.String(), values=fields.Nested(PhaseSchema),
                         required=True)
    current_phase = fields.String(required=True, allow_none=True)
    budget = Money(required=True, allow_none=True)
    min_projects = fields.Integer(required=True)
    max_projects = fields.Integer(required=True, allow_none=True)
    threshold = fields.Integer(required=True, allow_none=True)
    signatures = fields.Integer(required=True, allow_none=True,
                                metadata={"description": "a petition's, as they come"})
    proposals = fields.Integer(required=True)
    closed_at = fields.AwareDateTime(required=True, allow_none=True)
    results = fields.List(fields.Nested(ProposalResultSchema), required=True, allow_none=True,
                          metadata={"description": "once voting has closed"})


class ProcessQuerySchema(StrictSchema):
    commune = InseeCode()
    kind = fields.String(validate=validate.OneOf(PROCESS_KINDS))


class ContributionsQuerySchema(StrictSchema):
    """A page of a process's proposals, of a proposal's comments or of the reports on them,
    oldest first: citizens write them, as many as they like, so they are read a page at a
    time."""

    limit = fields.Integer(load_default=MAX_PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET),
                            metadata={"description": "how many to skip: the ones already read"})


class LocationSchema(StrictSchema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))


class NewProposalSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=3, max=200))
    body = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    budget_amount = Money(load_default=None, allow_none=True,
                          validate=validate.Range(min=0, min_inclusive=False))
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)
    address = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(min=1, max=300))


class ProposalSchema(StrictSchema):
    id = fields.UUID(required=True)
    process_id = fields.UUID(required=True)
    title = fields.String(required=True, allow_none=True)
    body = fields.String(required=True, allow_none=True)
    budget_amount = Money(required=True, allow_none=True)
    location = fields.Nested(LocationSchema, required=True, allow_none=True)
    address = fields.String(required=True, allow_none=True)
    author = fields.String(required=True, allow_none=True,
                           metadata={"description": "none once its author deleted their "
                                                    "account"})
    submitted_at = fields.AwareDateTime(required=True)
    hidden = fields.Boolean(required=True)
    hidden_reason = fields.String(required=True, allow_none=True)
    comments = fields.Integer(required=True)
    votes = fields.Integer(required=True, allow_none=True,
                           metadata={"description": "shown once voting has closed"})


class NewCommentSchema(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    parent_id = fields.UUID(load_default=None, allow_none=True,
                            metadata={"description": "the comment it answers"})


class CommentSchema(StrictSchema):
    id = fields.UUID(required=True)
    proposal_id = fields.UUID(required=True)
    parent_id = fields.UUID(required=True, allow_none=True)
    body = fields.String(required=True, allow_none=True)
    author = fields.String(required=True, allow_none=True)
    at = fields.AwareDateTime(required=True)
    hidden = fields.Boolean(required=True)
    hidden_reason = fields.String(required=True, allow_none=True)


class NewReportSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.OneOf(
        ("spam", "offensive", "personal_data", "off_topic", "other")))
    details = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(max=1000))


class ReportSchema(StrictSchema):
    id = fields.UUID(required=True)
    target = fields.String(required=True, validate=validate.OneOf(("proposal", "comment")))
    target_id = fields.UUID(required=True)
    reason = fields.String(required=True)
    details = fields.String(required=True, allow_none=True)
    at = fields.AwareDateTime(required=True)


class ReportPageSchema(StrictSchema):
    total_count = fields.Integer(required=True)
    results = fields.List(fields.Nested(ReportSchema), required=True)


class ModerationSchema(StrictSchema):
    hidden = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True,
                           validate=validate.Length(min=1, max=500))

    # ``_hiding_says_why``, as the OpenAPI document states it.
    openapi_rules = {"anyOf": [
        {"properties": {"hidden": {"enum": [False]}}},
        {"required": ["reason"], "properties": {"reason": {"type": "string"}}},
    ]}

    @validates_schema
    def _hiding_says_why(self, moderation, **_):
        if moderation.get("hidden") and not moderation.get("reason"):
            raise ValidationError({"reason": ["Hiding a contribution says why."]})


class BallotSchema(StrictSchema):
    proposals = fields.List(fields.UUID(), required=True,
                            metadata={"description": "the projects chosen, within the budget"})


class BallotViewSchema(BallotSchema):
    total = Money(required=True)
    cast_at = fields.AwareDateTime(required=True)


class VoteSchema(StrictSchema):
    proposal_id = fields.UUID(required=True)
    at = fields.AwareDateTime(required=True)


class SignatureSchema(StrictSchema):
    process_id = fields.UUID(required=True)
    at = fields.AwareDateTime(required=True)
    signatures = fields.Integer(required=True)


class ResidenceSchema(StrictSchema):
    """The commune the citizen declares living in (for processes open to residents only)."""

    commune = InseeCode(required=True)


class ParticipantSchema(StrictSchema):
    """Who takes part, as the gateway read it from identity."""

    account_id = fields.String(required=True)
    name = fields.String(required=True)
