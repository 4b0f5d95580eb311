"""Billing service: Annex 1 (per-capita shares, Art. 4), the annual titles (*titres de
recette*) and their corrections (Art. 5), extra work with VAT (Art. 6), and each title's life
on Chorus Pro: deposit, reception, contestation, acceptance, payment (Art. 5).

It follows subscriptions through its events only, into a view of its own; drafts are computed
from that view on read, and only issued documents are stored. Every issued document and every
step of its life is announced through the outbox. A timer deposits, follows and moves titles.
"""

from nameko.dependency_providers import Config

from contracts.billing import (
    AnnexSchema,
    BuyerSchema,
    BuyerUpdateSchema,
    ContestationDecisionSchema,
    CorrectionSchema,
    DeadlinesQuerySchema,
    DeadlinesSchema,
    DecisionAnswerSchema,
    DepositRequestedSchema,
    DepositTitlesSchema,
    ExtraSchema,
    IssueTitlesSchema,
    NewContestationSchema,
    NewExtraSchema,
    NewPaymentSchema,
    OptionalYearQuerySchema,
    TitleLifeSchema,
    TitleSchema,
    YearQuerySchema,
)
from contracts.errors import Conflict, Invalid
from servicekit.database import Database
from servicekit.inbox import event_handler, idempotent
from servicekit.logging import get_logger
from servicekit.outbox import Outbox
from servicekit.service import CommunsService, rpc
from servicekit.timer import timer
from servicekit.validation import load
from services.billing import einvoice, ledger, life
from services.billing.models import Base, Document
from services.billing.transports import InvoiceTransport

log = get_logger(__name__)

MAX_IDEMPOTENCY_KEY_LENGTH = 255


class BillingService(CommunsService):
    name = "billing"
    db = Database(Base.metadata)
    outbox = Outbox()
    transport = InvoiceTransport()
    config = Config()

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
            life.cancelled_by_correction(session, session.get(Document, number), credit_note,
                                         corrected, self.clock.now())
        log.info("title.corrected", number=number, credit_note=credit_note["number"],
                 corrected_title=corrected and corrected["number"])
        return CorrectionSchema().dump({"credit_note": credit_note, "corrected_title": corrected})

    # -- the title's life on Chorus Pro (Art. 5)

    @rpc
    def title(self, insee, number):
        insee = ledger.member(insee)
        with self.db.transaction() as session:
            return TitleLifeSchema().dump(life.title_view(session, insee, number))

    @rpc
    def e_invoice(self, insee, number):
        """The document's e-invoice (CII XML): as sent, or as it would be sent now."""
        insee = ledger.member(insee)
        with self.db.transaction() as session:
            document = life.document_of(session, insee, number, lock=False)
            if document.e_invoice is not None:
                return document.e_invoice
            buyer = life.buyer_of(session, insee)
            if buyer.siret is None:
                raise Conflict(life.NOT_SIRET)
            invoice = life.invoice_document(session, document, buyer, self._seller_siret())
            return einvoice.render_cii(invoice).decode("utf-8")

    @rpc
    def deposit_titles(self, year):
        year = load(DepositTitlesSchema(), {"year": year})["year"]
        with self.db.transaction() as session:
            answer = life.request_deposits(session, year, self.clock.now())
        log.info("titles.deposit_requested", year=year, requested=len(answer["requested"]))
        return DepositRequestedSchema().dump(answer)

    @rpc
    def deposit_again(self, insee, number):
        insee = ledger.member(insee)
        with self.db.transaction() as session:
            document = life.request_redeposit(session, insee, number, self.clock.now())
            return TitleLifeSchema().dump(life.life_view(session, document))

    @rpc
    def contest_title(self, insee, number, contestation, filed_by):
        insee = ledger.member(insee)
        contestation = load(NewContestationSchema(), contestation)
        with self.db.transaction() as session:
            document = life.contest(session, self.outbox, insee, number, contestation,
                                    filed_by, self.clock.today(), self.clock.now())
            log.info("title.contested", number=number, commune=insee)
            return TitleLifeSchema().dump(life.life_view(session, document))

    @rpc
    def decide_contestation(self, insee, number, decision, decided_by):
        insee = ledger.member(insee)
        decision = load(ContestationDecisionSchema(), decision)["decision"]
        with self.db.transaction() as session:
            document, correction = life.decide(session, self.outbox, insee, number, decision,
                                               decided_by, self.clock.today(), self.clock.now())
            log.info("title.contestation_decided", number=number, decision=decision)
            return DecisionAnswerSchema().dump(
                {"title": life.life_view(session, document), "correction": correction}
            )

    @rpc
    def record_payment(self, insee, number, payment, recorded_by):
        insee = ledger.member(insee)
        payment = load(NewPaymentSchema(), payment)
        with self.db.transaction() as session:
            document = life.record_payment(session, self.outbox, insee, number, payment,
                                           recorded_by, self.clock.today(), self.clock.now())
            log.info("title.payment_recorded", number=number, state=document.state)
            return TitleLifeSchema().dump(life.life_view(session, document))

    @rpc
    def deadlines(self, received_on):
        received_on = load(DeadlinesQuerySchema(), {"received_on": received_on})["received_on"]
        return DeadlinesSchema().dump(life.deadlines(received_on))

    @rpc
    def buyer(self, insee):
        insee = ledger.member(insee)
        with self.db.transaction() as session:
            return BuyerSchema().dump(life.buyer_view(life.buyer_of(session, insee)))

    @rpc
    def update_buyer(self, insee, update):
        insee = ledger.member(insee)
        update = load(BuyerUpdateSchema(), update)
        with self.db.transaction() as session:
            return BuyerSchema().dump(life.buyer_view(life.update_buyer(session, insee, update)))

    @timer("BILLING_ROUND_SECONDS", 30)
    def advance_titles(self):
        """Deposits what is due, follows what is deposited, lets time act (Art. 5)."""
        moved = life.run_round(self.db.transaction, self.outbox, self.transport,
                               self._seller_siret(), self.clock, log)
        if moved:
            log.info("titles.advanced", moved=moved)

    def _seller_siret(self):
        return self.config.get("METROPOLE_SIRET")

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

    @rpc
    def get_extra(self, insee, extra_id):
        insee = ledger.member(insee)
        with self.db.transaction() as session:
            return ExtraSchema().dump(ledger.extra_view(ledger.get_extra(session, insee, extra_id)))

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

    @event_handler("subscriptions", "commune.updated")
    @idempotent
    def on_commune_updated(self, session, event):
        life.record_siret(session, event.data)

    @event_handler("subscriptions", "convention.terminated")
    @idempotent
    def on_convention_terminated(self, session, event):
        ledger.record_termination(session, event.data)

    @event_handler("eservices", "custom_form.integrated")
    @idempotent
    def on_custom_form_integrated(self, session, event):
        extra = ledger.record_custom_form(session, event.data, self.clock.now())
        if extra is not None:
            log.info("extra.recorded", commune=extra.insee, extra_id=str(extra.id),
                     year=extra.year, source="custom_form")

    @event_handler("alerting", "campaign.costed")
    @idempotent
    def on_campaign_costed(self, session, event):
        extra = ledger.record_campaign_cost(session, event.data, self.clock.now())
        if extra is not None:
            log.info("extra.recorded", commune=extra.insee, extra_id=str(extra.id),
                     year=extra.year, source="campaign")
