"""Billing service: Annex 1 (per-capita shares, Art. 4), the annual titles (*titres de
recette*) and their corrections (Art. 5), extra work with VAT (Art. 6).

It follows subscriptions through its events only, into a view of its own; drafts are computed
from that view on read, and only issued documents are stored. Every issued document is
announced through the outbox."""

from contracts.billing import (
    AnnexSchema,
    CorrectionSchema,
    ExtraSchema,
    IssueTitlesSchema,
    NewExtraSchema,
    OptionalYearQuerySchema,
    TitleSchema,
    YearQuerySchema,
)
from contracts.errors import Invalid
from servicekit.database import Database
from servicekit.inbox import event_handler, idempotent
from servicekit.logging import get_logger
from servicekit.outbox import Outbox
from servicekit.service import CommunsService, rpc
from servicekit.validation import load
from services.billing import ledger
from services.billing.models import Base

log = get_logger(__name__)

MAX_IDEMPOTENCY_KEY_LENGTH = 255


class BillingService(CommunsService):
    name = "billing"
    db = Database(Base.metadata)
    outbox = Outbox()

    # -- Annex 1 and titles

    @rpc
    def shares(self, year):
        year = load(YearQuerySchema(), {"year": year})["year"]
        with self.db.transaction() as session:
            return AnnexSchema().dump(ledger.shares(session, year))

    @rpc
    def titles(self, insee, year=None):
        insee = ledger.member(insee)
        year = load(OptionalYearQuerySchema(), {"year": year})["year"]
        with self.db.transaction() as session:
            return TitleSchema(many=True).dump(ledger.titles_of(session, insee, year))

    @rpc
    def issue_titles(self, year, idempotency_key=None, issued_by=None):
        year = load(IssueTitlesSchema(), {"year": year})["year"]
        if idempotency_key is not None and not (
            isinstance(idempotency_key, str)
            and 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH
        ):
            raise Invalid({"idempotency_key": ["Between 1 and 255 characters."]})
        with self.db.transaction() as session:
            answer = ledger.issue_titles(
                session, self.outbox, year, idempotency_key, issued_by, self.clock.now()
            )
        log.info("titles.issued", year=year, issued=len(answer["issued"]),
                 already_issued=answer["already_issued"])
        return answer

    @rpc
    def late_titles(self, year):
        year = load(YearQuerySchema(), {"year": year})["year"]
        with self.db.transaction() as session:
            return TitleSchema(many=True).dump(
                ledger.late_titles(session, year, self.clock.today())
            )

    @rpc
    def correct_title(self, number, confirmed_by):
        with self.db.transaction() as session:
            credit_note, corrected = ledger.correct_title(
                session, self.outbox, number, confirmed_by, self.clock.now()
            )
        log.info("title.corrected", number=number, credit_note=credit_note["number"],
                 corrected_title=corrected and corrected["number"])
        return CorrectionSchema().dump({"credit_note": credit_note, "corrected_title": corrected})

    # -- extras (Art. 6)

    @rpc
    def record_extra(self, insee, extra, recorded_by):
        insee = ledger.member(insee)
        extra = load(NewExtraSchema(), extra)
        with self.db.transaction() as session:
            recorded = ledger.record_extra(session, insee, extra, recorded_by, self.clock.now())
        log.info("extra.recorded", commune=insee, extra_id=str(recorded.id), year=recorded.year)
        return ExtraSchema().dump(ledger.extra_view(recorded))

    @rpc
    def extras(self, insee, year=None):
        insee = ledger.member(insee)
        year = load(OptionalYearQuerySchema(), {"year": year})["year"]
        with self.db.transaction() as session:
            return ExtraSchema(many=True).dump(
                [ledger.extra_view(e) for e in ledger.extras_of(session, insee, year)]
            )

    # -- billing's view of subscriptions, from its events

    @event_handler("subscriptions", "population.updated")
    @idempotent
    def on_population_updated(self, session, event):
        ledger.record_population(session, event.data, event.occurred_at)

    @event_handler("subscriptions", "convention.registered")
    @idempotent
    def on_convention_registered(self, session, event):
        ledger.record_convention(session, event.data)

    @event_handler("subscriptions", "convention.amended")
    @idempotent
    def on_convention_amended(self, session, event):
        ledger.record_amendment(session, event.data)

    @event_handler("subscriptions", "subscription.changed")
    @idempotent
    def on_subscription_changed(self, session, event):
        ledger.record_subscription_change(session, event.event_id, event.data, event.occurred_at)

    @event_handler("subscriptions", "convention.terminated")
    @idempotent
    def on_convention_terminated(self, session, event):
        ledger.record_termination(session, event.data)
