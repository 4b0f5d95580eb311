"""A citizen's rights across the suite: access (GDPR art. 15) gathers what every service holding
their data has of them, erasure (art. 17) reaches each of those services through
``account.deleted``.

A service holds a citizen's data when it keeps records tied to their account (identity,
eservices, participation) or to the address they confirmed (alerting's contacts, which a
commune imports from its own register). The other services keep none: procurement knows
companies, eadmin councillors and signatories, accessibility no one (a relay session is
anonymous), opendata what communes publish, subscriptions and billing communes.
"""

import hashlib

from marshmallow import fields, validate

from contracts.alerting import CHANNELS, DELIVERY_STATUSES, ContactSchema
from contracts.eservices import RequestSchema
from contracts.identity import ExportedAccountSchema, LoginEventSchema, StrictSchema
from contracts.participation import CommentSchema, ProposalSchema, ReportSchema, ResidenceSchema

# Every service asked for a citizen's export; all but identity, which publishes it, handle
# ``account.deleted``.
HOLDERS = ("identity", "eservices", "participation", "alerting")

# What an erased text or name reads as wherever the record itself stays.
ERASED = "[effacé à la demande de l'usager]"


def email_digest(address):
    """How ``account.deleted`` names a deleted citizen's address to services that know people
    by address rather than by account: a digest, since events carry no personal data."""
    return hashlib.sha256(f"email:{address.strip().lower()}".encode()).hexdigest()


class CitizenSchema(StrictSchema):
    """Whom an export is for: the account, and its address when the citizen confirmed it
    (an unconfirmed address proves nothing of who holds it)."""

    account_id = fields.UUID(required=True)
    email = fields.String(required=True, allow_none=True)


class KeptMailSchema(StrictSchema):
    """An e-mail the suite still keeps, sent or waiting (``servicekit.postbox``)."""

    subject = fields.String(required=True)
    body = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)
    sent_at = fields.AwareDateTime(required=True, allow_none=True)
    failed_at = fields.AwareDateTime(required=True, allow_none=True)


class IdentityExportSchema(StrictSchema):
    account = fields.Nested(ExportedAccountSchema, required=True)
    logins = fields.List(fields.Nested(LoginEventSchema), required=True)
    mails = fields.List(fields.Nested(KeptMailSchema), required=True)


class EservicesExportSchema(StrictSchema):
    requests = fields.List(fields.Nested(RequestSchema), required=True)
    mails = fields.List(fields.Nested(KeptMailSchema), required=True)


class DeclaredResidenceSchema(ResidenceSchema):
    declared_at = fields.AwareDateTime(required=True)


class ExportedVoteSchema(StrictSchema):
    """A vote for a proposal, a budget's ballot, or a petition's signature."""

    process_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("vote", "ballot", "signature")))
    proposals = fields.List(fields.UUID(), required=True)
    at = fields.AwareDateTime(required=True, allow_none=True)


class ExportedReportSchema(ReportSchema):
    process_id = fields.UUID(required=True)


class ParticipationExportSchema(StrictSchema):
    residence = fields.Nested(DeclaredResidenceSchema, required=True, allow_none=True)
    proposals = fields.List(fields.Nested(ProposalSchema), required=True)
    comments = fields.List(fields.Nested(CommentSchema), required=True)
    votes = fields.List(fields.Nested(ExportedVoteSchema), required=True)
    reports = fields.List(fields.Nested(ExportedReportSchema), required=True)


class ExportedContactSchema(ContactSchema):
    commune = fields.String(required=True)


class ExportedDeliverySchema(StrictSchema):
    """A message a campaign sent the citizen, as the commune's record of who was alerted
    keeps it."""

    campaign_id = fields.UUID(required=True)
    commune = fields.String(required=True)
    headline = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    address = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    reply = fields.String(required=True, allow_none=True)
    sent_at = fields.AwareDateTime(required=True, allow_none=True)


class AlertingExportSchema(StrictSchema):
    contacts = fields.List(fields.Nested(ExportedContactSchema), required=True)
    deliveries = fields.List(fields.Nested(ExportedDeliverySchema), required=True)


class PersonalDataExportSchema(StrictSchema):
    """Everything the suite holds of a citizen, one part per service that holds any
    (``HOLDERS``), gathered when the export was asked for."""

    generated_at = fields.AwareDateTime(required=True)
    identity = fields.Nested(IdentityExportSchema, required=True)
    eservices = fields.Nested(EservicesExportSchema, required=True)
    participation = fields.Nested(ParticipationExportSchema, required=True)
    alerting = fields.Nested(AlertingExportSchema, required=True)


EXPORT_SCHEMAS = {
    "identity": IdentityExportSchema,
    "eservices": EservicesExportSchema,
    "participation": ParticipationExportSchema,
    "alerting": AlertingExportSchema,
}
