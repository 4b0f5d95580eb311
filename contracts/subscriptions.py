"""Payloads of the subscriptions service: communes and their populations, conventions and
amendments, subscriptions, change requests (Art. 9) and terminations (Art. 10)."""

from datetime import date
from typing import NamedTuple

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from contracts.fields import ApplicationCode, InseeCode, Money, Siret
from contracts.fields import validate_siret as validate_siret  # re-exported: callers use it
from contracts.identity import StrictSchema

ADD = "add"
REMOVE = "remove"
ACTIONS = (ADD, REMOVE)

PENDING = "pending"
ACCEPTED = "accepted"
REFUSED = "refused"
REQUEST_STATUSES = (PENDING, ACCEPTED, REFUSED)
DECISIONS = ("accept", "refuse")

ADDED, REMOVED = "added", "removed"  # the ``change`` of ``subscription.changed``


class Change(NamedTuple):
    """One ``subscription.changed`` fact."""

    commune: str
    application: str
    change: str
    effective_from: date
    occurred_at: object
    event_id: object  # a UUID: the last tie-break between two changes decided at once


def subscribers_on(day, changes, terminated_on=None):
    """Art. 9 and 10: application → communes subscribed on ``day``.

    A commune is subscribed when its latest change effective on or before ``day`` is an
    addition (latest by effective date, then by when it was decided), unless its termination
    is effective by then. Only the facts' own dates count, never the order they arrived in.
    """
    terminated_on = terminated_on or {}
    latest = {}
    for change in changes:
        if change.effective_from > day:
            continue
        key = (change.commune, change.application)
        rank = (change.effective_from, change.occurred_at, change.event_id)
        if key not in latest or rank > latest[key][0]:
            latest[key] = (rank, change.change)
    subscribers = {}
    for (commune, application), (_, change) in latest.items():
        terminated = terminated_on.get(commune)
        if change == ADDED and (terminated is None or terminated > day):
            subscribers.setdefault(application, set()).add(commune)
    return subscribers


def population_vintage_for(year, fixed_vintage=None):
    """The INSEE vintage whose *population municipale* bills ``year``.

    By default the legal population in force on 1 January of the billing year, which is
    INSEE's vintage of three years before (vintage 2023 is in force on 1 January 2026); a
    convention may instead fix one vintage for its whole period (Art. 4).
    """
    return fixed_vintage if fixed_vintage is not None else year - 3


class PopulationSchema(StrictSchema):
    vintage = fields.Integer(required=True, validate=validate.Range(min=1990, max=2100))
    population = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000_000))


class SubscriptionSchema(StrictSchema):
    """A commune uses an application from ``effective_from`` until the day before
    ``effective_until`` (``null``: still subscribed)."""

    application = ApplicationCode(required=True)
    effective_from = fields.Date(required=True)
    effective_until = fields.Date(required=True, allow_none=True)


class CommuneSchema(StrictSchema):
    insee = InseeCode(required=True)
    name = fields.String(required=True)
    siren = fields.String(required=True)
    siret = fields.String(required=True, allow_none=True)
    populations = fields.List(fields.Nested(PopulationSchema), required=True)
    subscriptions = fields.List(fields.Nested(SubscriptionSchema), required=True)
    terminated_on = fields.Date(
        required=True,
        allow_none=True,
        metadata={"description": "1 January from which the commune has left the convention"},
    )


class CommuneUpdateSchema(StrictSchema):
    siret = Siret(required=True)


class ConventionApplicationSchema(StrictSchema):
    application = ApplicationCode(required=True)
    annual_cost = Money(
        required=True,
        allow_none=True,
        validate=validate.Range(min=0),
        metadata={"description": "annual global cost, fixed for the period (Art. 4); null "
                  "when the application is never billed (open data)"},
    )


class NewConventionSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    # The dates ``consistent`` asks for, as the document states them (there is no year 0).
    period_start = fields.Date(required=True,
                               metadata={"pattern": r"^(?!0000)[0-9]{4}-01-01$"})
    period_end = fields.Date(required=True, metadata={"pattern": r"^(?!0000)[0-9]{4}-12-31$"})
    population_vintage = fields.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": "one INSEE vintage for the whole period; null: the vintage "
                  "in force on 1 January of each billing year"},
    )
    applications = fields.List(
        fields.Nested(ConventionApplicationSchema), required=True, validate=validate.Length(min=1)
    )
    initial_subscriptions = fields.Dict(
        keys=InseeCode(),
        values=fields.List(ApplicationCode()),
        load_default=dict,
        metadata={"description": "what each commune signed for, from the period's start"},
    )

    @validates_schema
    def consistent(self, convention, **kwargs):
        start, end = convention.get("period_start"), convention.get("period_end")
        if start and (start.month, start.day) != (1, 1):
            raise ValidationError({"period_start": ["A convention starts on 1 January."]})
        if end and (end.month, end.day) != (12, 31):
            raise ValidationError({"period_end": ["A convention ends on 31 December."]})
        if start and end and end < start:
            raise ValidationError({"period_end": ["Ends before it starts."]})
        codes = [a["application"] for a in convention.get("applications", [])]
        if len(codes) != len(set(codes)):
            raise ValidationError({"applications": ["An application is listed twice."]})
        for insee, subscribed in convention.get("initial_subscriptions", {}).items():
            outside = sorted(set(subscribed) - set(codes))
            if outside:
                raise ValidationError(
                    {"initial_subscriptions": {insee: [f"Not in the convention: {', '.join(outside)}."]}}
                )


class ConventionSchema(StrictSchema):
    id = fields.UUID(required=True)
    title = fields.String(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    population_vintage = fields.Integer(required=True, allow_none=True)
    applications = fields.List(fields.Nested(ConventionApplicationSchema), required=True)
    amendments = fields.List(fields.Nested(lambda: AmendmentSchema()), required=True)
    registered_at = fields.AwareDateTime(required=True)


class NewAmendmentSchema(StrictSchema):
    """An *avenant* that adds an application outside the convention (Art. 9)."""

    application = ApplicationCode(required=True)
    annual_cost = Money(required=True, allow_none=True, validate=validate.Range(min=0))
    signed_on = fields.Date(required=True)


class AmendmentSchema(NewAmendmentSchema):
    id = fields.UUID(required=True)


class NewSubscriptionRequestSchema(StrictSchema):
    application = ApplicationCode(required=True)
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    received_on = fields.Date(
        load_default=None,
        metadata={"description": "Metropole staff only: the day a paper letter was received; "
                  "an agent's request is received the day it is filed"},
    )


class SubscriptionRequestSchema(StrictSchema):
    id = fields.UUID(required=True)
    commune = InseeCode(required=True)
    application = ApplicationCode(required=True)
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    received_on = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(REQUEST_STATUSES))
    effective_from = fields.Date(required=True, allow_none=True)
    answer_due = fields.Date(required=True, metadata={"description": "one month after receipt"})
    reason = fields.String(required=True, allow_none=True)
    decided_at = fields.AwareDateTime(required=True, allow_none=True)


class DecisionSchema(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    reason = fields.String(load_default=None, validate=validate.Length(min=1, max=1000))

    # ``refusal_says_why``, as the OpenAPI document states it.
    openapi_rules = {"anyOf": [
        {"properties": {"decision": {"not": {"enum": ["refuse"]}}}},
        {"required": ["reason"]},
    ]}

    @validates_schema
    def refusal_says_why(self, decision, **kwargs):
        if decision.get("decision") == "refuse" and not decision.get("reason"):
            raise ValidationError({"reason": ["A refusal gives its reason."]})


class NewTerminationSchema(StrictSchema):
    received_on = fields.Date(
        load_default=None, metadata={"description": "Metropole staff only, as for requests"}
    )


class TerminationSchema(StrictSchema):
    id = fields.UUID(required=True)
    commune = InseeCode(required=True)
    received_on = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf((ACCEPTED, REFUSED)))
    effective_on = fields.Date(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)


class Filer(Schema):
    """Who files a request, as the gateway authenticated them."""

    id = fields.String(required=True)
    role = fields.String(required=True)
