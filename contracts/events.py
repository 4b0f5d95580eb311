"""Every event of the suite: who produces it, its payload schema and version, and which
handlers consume it.

The subscriber list is the bus topology. The outbox relay declares each subscriber's queue
before it publishes, because RabbitMQ drops an event routed to no queue: a consumer that has
never started yet still gets every event once it does.
"""

from dataclasses import dataclass

from marshmallow import Schema, fields, validate

from contracts.audit import AuditEntrySchema
from contracts.billing import KINDS
from contracts.fields import ApplicationCode, InseeCode, Money
from contracts.identity import ROLES


@dataclass(frozen=True)
class Subscriber:
    service: str
    method: str


@dataclass(frozen=True)
class EventType:
    producer: str
    name: str
    version: int
    schema: type[Schema]
    subscribers: tuple[Subscriber, ...] = ()

    def queue_name(self, subscriber):
        """The queue Nameko's SERVICE_POOL event handler consumes from."""
        return f"evt-{self.producer}-{self.name}--{subscriber.service}.{subscriber.method}"


class AccountCreatedSchema(Schema):
    """No personal data: other services learn that an account exists, not who holds it."""

    account_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    commune = InseeCode(load_default=None, allow_none=True)


ACCOUNT_CREATED = EventType("identity", "account.created", 1, AccountCreatedSchema)


class AccountDeletedSchema(Schema):
    """A citizen closed their account: every service erases or anonymises what it holds of
    them (GDPR art. 17) and keeps what the commune's records need. Services that know people
    by address rather than by account (alerting) find them by ``email_digest``
    (``contracts.personal_data.email_digest``)."""

    account_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    email_digest = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Regexp("^[0-9a-f]{64}$"))


ACCOUNT_DELETED = EventType(
    "identity", "account.deleted", 1, AccountDeletedSchema,
    (Subscriber("eservices", "on_account_deleted"),
     Subscriber("participation", "on_account_deleted"),
     Subscriber("alerting", "on_account_deleted")),
)


# -- subscriptions: the spine that billing (and, on their effective dates, the applications)
# follow. Each event states a fact whole, so that a consumer needs no other event first:
# events of different types travel in different queues and may arrive in any order.


class PopulationUpdatedSchema(Schema):
    commune = InseeCode(required=True)
    vintage = fields.Integer(required=True)
    population = fields.Integer(required=True, validate=validate.Range(min=0))


class ConventionApplicationCostSchema(Schema):
    application = ApplicationCode(required=True)
    annual_cost = Money(required=True, allow_none=True)


class ConventionRegisteredSchema(Schema):
    convention_id = fields.UUID(required=True)
    title = fields.String(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    population_vintage = fields.Integer(required=True, allow_none=True)
    members = fields.List(InseeCode(), required=True)
    applications = fields.List(fields.Nested(ConventionApplicationCostSchema), required=True)


class ConventionAmendedSchema(Schema):
    convention_id = fields.UUID(required=True)
    amendment_id = fields.UUID(required=True)
    application = ApplicationCode(required=True)
    annual_cost = Money(required=True, allow_none=True)
    signed_on = fields.Date(required=True)


class SubscriptionChangedSchema(Schema):
    commune = InseeCode(required=True)
    application = ApplicationCode(required=True)
    change = fields.String(required=True, validate=validate.OneOf(("added", "removed")))
    effective_from = fields.Date(required=True)
    convention_id = fields.UUID(required=True)
    request_id = fields.UUID(required=True, allow_none=True)


class CommuneUpdatedSchema(Schema):
    """What billing needs to address the commune's titles: its SIRET (BT-46 on Chorus Pro)."""

    commune = InseeCode(required=True)
    siret = fields.String(required=True, allow_none=True)


class ConventionTerminatedSchema(Schema):
    commune = InseeCode(required=True)
    convention_id = fields.UUID(required=True)
    effective_on = fields.Date(required=True)
    termination_id = fields.UUID(required=True)


def _billing(method):
    return (Subscriber("billing", method),)


# Each follows what a commune may use (servicekit.subscribed.FollowsSubscriptions).
APPLICATION_SERVICES = ("eadmin", "opendata", "eservices", "procurement", "participation",
                        "alerting", "accessibility")


def _applications(method):
    return tuple(Subscriber(service, method) for service in APPLICATION_SERVICES)


POPULATION_UPDATED = EventType(
    "subscriptions", "population.updated", 1, PopulationUpdatedSchema,
    _billing("on_population_updated"),
)
CONVENTION_REGISTERED = EventType(
    "subscriptions", "convention.registered", 1, ConventionRegisteredSchema,
    _billing("on_convention_registered"),
)
CONVENTION_AMENDED = EventType(
    "subscriptions", "convention.amended", 1, ConventionAmendedSchema,
    _billing("on_convention_amended"),
)
# Each application service learns from these whether a commune may use it.
SUBSCRIPTION_CHANGED = EventType(
    "subscriptions", "subscription.changed", 1, SubscriptionChangedSchema,
    (*_billing("on_subscription_changed"), *_applications("on_subscription_changed")),
)
COMMUNE_UPDATED = EventType(
    "subscriptions", "commune.updated", 1, CommuneUpdatedSchema, _billing("on_commune_updated"),
)
CONVENTION_TERMINATED = EventType(
    "subscriptions", "convention.terminated", 1, ConventionTerminatedSchema,
    (*_billing("on_convention_terminated"), *_applications("on_convention_terminated")),
)


# -- billing


class TitleIssuedSchema(Schema):
    number = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    commune = InseeCode(required=True)
    year = fields.Integer(required=True)
    total_net = Money(required=True)
    total_vat = Money(required=True)
    total = Money(required=True)
    corrects = fields.String(required=True, allow_none=True)


class TitleCancelledSchema(Schema):
    number = fields.String(required=True)
    commune = InseeCode(required=True)
    year = fields.Integer(required=True)
    credit_note = fields.String(required=True)


class TitleDepositedSchema(Schema):
    number = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    commune = InseeCode(required=True)
    year = fields.Integer(required=True)
    transport = fields.String(required=True, metadata={"example": "chorus-pro"})
    reference = fields.String(required=True, metadata={"description": "the flow's number"})
    deposited_at = fields.AwareDateTime(required=True)


class TitleReceivedSchema(Schema):
    number = fields.String(required=True)
    commune = InseeCode(required=True)
    received_on = fields.Date(required=True)
    contest_until = fields.Date(required=True, allow_none=True)
    due_on = fields.Date(required=True, allow_none=True)


class TitleContestedSchema(Schema):
    number = fields.String(required=True)
    commune = InseeCode(required=True)
    emailed_on = fields.Date(required=True)


class TitleAcceptedSchema(Schema):
    number = fields.String(required=True)
    commune = InseeCode(required=True)
    accepted_on = fields.Date(required=True)
    deemed = fields.Boolean(
        required=True, metadata={"description": "by the end of the contestation window"}
    )


class TitlePaidSchema(Schema):
    number = fields.String(required=True)
    commune = InseeCode(required=True)
    paid_on = fields.Date(required=True)
    amount_paid = Money(required=True)


class TitleOverdueSchema(Schema):
    number = fields.String(required=True)
    commune = InseeCode(required=True)
    due_on = fields.Date(required=True)
    outstanding = Money(required=True)


TITLE_ISSUED = EventType("billing", "title.issued", 1, TitleIssuedSchema)
TITLE_CANCELLED = EventType("billing", "title.cancelled", 1, TitleCancelledSchema)
TITLE_DEPOSITED = EventType("billing", "title.deposited", 1, TitleDepositedSchema)
TITLE_RECEIVED = EventType("billing", "title.received", 1, TitleReceivedSchema)
TITLE_CONTESTED = EventType("billing", "title.contested", 1, TitleContestedSchema)
TITLE_ACCEPTED = EventType("billing", "title.accepted", 1, TitleAcceptedSchema)
TITLE_PAID = EventType("billing", "title.paid", 1, TitlePaidSchema)
TITLE_OVERDUE = EventType("billing", "title.overdue", 1, TitleOverdueSchema)

# -- procurement

# The contract's essential data (données essentielles de la commande publique, DECP: arrêté du
# 22 décembre 2022, schema 139bercy/format-commande-publique 2.0), which the buyer publishes.
CONTRACT_NATURES = ("Marché", "Marché de partenariat", "Marché de défense ou de sécurité")
PRICE_FORMS = ("Ferme", "Actualisable", "Révisable")
HOLDER_ID_TYPES = ("SIRET", "TVA", "TAHITI", "RIDET", "FRWF", "IREP", "UE", "HORS-UE")
PLACE_CODE_TYPES = ("Code postal", "Code commune", "Code arrondissement", "Code canton",
                    "Code département", "Code région", "Code pays")


class ContractHolderSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=50))
    id_type = fields.String(required=True, validate=validate.OneOf(HOLDER_ID_TYPES))


class ContractAwardedSchema(Schema):
    contract_id = fields.String(required=True, validate=validate.Length(min=1, max=16),
                                metadata={"description": "the buyer's own number (DECP id)"})
    commune = InseeCode(required=True, allow_none=True,
                        metadata={"description": "None when the Metropole buys"})
    buyer_kind = fields.String(required=True,
                               validate=validate.OneOf(("commune", "ccas", "metropole")))
    buyer_siret = fields.String(required=True, validate=validate.Regexp(r"^\d{14}$"))
    buyer_name = fields.String(required=True)
    nature = fields.String(required=True, validate=validate.OneOf(CONTRACT_NATURES))
    object = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    cpv = fields.String(required=True, validate=validate.Regexp(r"^\d{8}-\d$"))
    procedure = fields.String(required=True)
    place_code = fields.String(required=True)
    place_type = fields.String(required=True, validate=validate.OneOf(PLACE_CODE_TYPES))
    duration_months = fields.Integer(required=True, validate=validate.Range(min=1))
    notified_on = fields.Date(required=True)
    published_on = fields.Date(required=True)
    amount = Money(required=True, metadata={"description": "net of tax"})
    price_form = fields.String(required=True, validate=validate.OneOf(PRICE_FORMS))
    holders = fields.List(fields.Nested(ContractHolderSchema), required=True,
                          validate=validate.Length(min=1))


CONTRACT_AWARDED = EventType(
    "procurement", "contract.awarded", 1, ContractAwardedSchema,
    (Subscriber("opendata", "on_contract_awarded"),),
)

# -- online services


class CustomFormIntegratedSchema(Schema):
    """The Metropole integrated a form outside the catalogue for a commune (Art. 2): the first
    is free, each further one is billable work with VAT (Art. 3 and 6), billed on the
    commune's next title."""

    form_id = fields.UUID(required=True)
    commune = InseeCode(required=True)
    slug = fields.String(required=True)
    title = fields.String(required=True)
    integration_number = fields.Integer(required=True, validate=validate.Range(min=1))
    billable = fields.Boolean(required=True)
    price = Money(required=True, allow_none=True, metadata={"description": "net of tax"})
    integrated_on = fields.Date(required=True)


CUSTOM_FORM_INTEGRATED = EventType(
    "eservices", "custom_form.integrated", 1, CustomFormIntegratedSchema,
    _billing("on_custom_form_integrated"),
)

# -- TéléAlerte


class CampaignCostedSchema(Schema):
    """A TéléAlerte campaign's communication cost since its last costing (Art. 2: the commune
    bears it): its SMS segments sent and its answered calls' minutes, at the operator's tariff.
    ``cost_id`` names this costing: a campaign re-sent is costed again, for the difference."""

    cost_id = fields.UUID(required=True)
    campaign_id = fields.UUID(required=True)
    commune = InseeCode(required=True)
    headline = fields.String(required=True)
    launched_on = fields.Date(required=True)
    costed_on = fields.Date(required=True)
    sms_segments = fields.Integer(required=True, validate=validate.Range(min=0))
    voice_minutes = fields.Integer(required=True, validate=validate.Range(min=0))
    amount = Money(required=True, metadata={"description": "net of tax"})


CAMPAIGN_COSTED = EventType(
    "alerting", "campaign.costed", 1, CampaignCostedSchema, _billing("on_campaign_costed"),
)

# -- participation

PROCESS_KINDS = ("consultation", "participatory_budget", "petition")


class ProposalResultSchema(Schema):
    proposal_id = fields.UUID(required=True)
    title = fields.String(required=True)
    votes = fields.Integer(required=True, validate=validate.Range(min=0))
    budget_amount = Money(required=True, allow_none=True)
    rank = fields.Integer(required=True, validate=validate.Range(min=1))
    selected = fields.Boolean(required=True, metadata={
        "description": "a participatory budget's project funded within the budget"})


class ProcessClosedSchema(Schema):
    """A participatory process's results, published when its voting closes; open data makes
    them a dataset of the commune (or its CCAS)."""

    process_id = fields.UUID(required=True)
    commune = InseeCode(required=True)
    publisher_kind = fields.String(required=True, validate=validate.OneOf(("commune", "ccas")))
    title = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PROCESS_KINDS))
    closed_on = fields.Date(required=True)
    budget = Money(required=True, allow_none=True)
    ballots = fields.Integer(required=True, validate=validate.Range(min=0),
                             metadata={"description": "accounts that voted or signed"})
    threshold = fields.Integer(required=True, allow_none=True,
                               metadata={"description": "a petition's signatures needed"})
    results = fields.List(fields.Nested(ProposalResultSchema), required=True)


PROCESS_CLOSED = EventType(
    "participation", "process.closed", 1, ProcessClosedSchema,
    (Subscriber("opendata", "on_process_closed"),),
)

# -- the gateway's audit trail, which identity keeps


AUDIT_RECORDED = EventType(
    "gateway", "audit.recorded", 1, AuditEntrySchema,
    (Subscriber("identity", "on_audit_recorded"),),
)

EVENT_TYPES = {
    event.name: event
    for event in (
        ACCOUNT_CREATED,
        ACCOUNT_DELETED,
        POPULATION_UPDATED,
        CONVENTION_REGISTERED,
        CONVENTION_AMENDED,
        SUBSCRIPTION_CHANGED,
        COMMUNE_UPDATED,
        CONVENTION_TERMINATED,
        TITLE_ISSUED,
        TITLE_CANCELLED,
        TITLE_DEPOSITED,
        TITLE_RECEIVED,
        TITLE_CONTESTED,
        TITLE_ACCEPTED,
        TITLE_PAID,
        TITLE_OVERDUE,
        CONTRACT_AWARDED,
        CUSTOM_FORM_INTEGRATED,
        CAMPAIGN_COSTED,
        PROCESS_CLOSED,
        AUDIT_RECORDED,
    )
}


def event_type(name):
    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise LookupError(f"{name!r} is not an event of contracts.events") from None
