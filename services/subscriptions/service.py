"""Subscriptions service: the member communes and their populations, the conventions and
their amendments, subscriptions with their effective periods, change requests (Art. 9) and
terminations (Art. 10). Every accepted change is announced through the outbox."""

from marshmallow import EXCLUDE

from contracts.subscriptions import (
    CommuneSchema,
    CommuneUpdateSchema,
    ConventionSchema,
    DecisionSchema,
    Filer,
    NewAmendmentSchema,
    NewConventionSchema,
    NewSubscriptionRequestSchema,
    NewTerminationSchema,
    PopulationSchema,
    SubscriptionRequestSchema,
    TerminationSchema,
)
from servicekit.database import Database
from servicekit.logging import get_logger
from servicekit.outbox import Outbox
from servicekit.service import CommunsService, rpc
from servicekit.validation import load
from services.subscriptions import registry
from services.subscriptions.bootstrap import MemberCommunes
from services.subscriptions.models import Base

log = get_logger(__name__)


class SubscriptionsService(CommunsService):
    name = "subscriptions"
    db = Database(Base.metadata)
    outbox = Outbox()
    member_communes = MemberCommunes()

    # -- communes

    @rpc
    def list_communes(self):
        with self.db.transaction() as session:
            return CommuneSchema(many=True).dump(
                [registry.commune_view(session, c) for c in registry.communes(session)]
            )

    @rpc
    def get_commune(self, insee):
        with self.db.transaction() as session:
            return self._commune(session, registry.commune(session, insee))

    @rpc
    def update_commune(self, insee, update):
        update = load(CommuneUpdateSchema(), update)
        with self.db.transaction() as session:
            commune = registry.update_commune(
                session, self.outbox, insee, update, self.clock.now()
            )
            log.info("commune.updated", commune=insee)
            return self._commune(session, commune)

    @rpc
    def update_population(self, insee, population):
        population = load(PopulationSchema(), population)
        with self.db.transaction() as session:
            commune = registry.update_population(
                session, self.outbox, insee, population, self.clock.now()
            )
            log.info("population.updated", commune=insee, vintage=population["vintage"])
            return self._commune(session, commune)

    # -- conventions

    @rpc
    def register_convention(self, convention, registered_by):
        convention = load(NewConventionSchema(), convention)
        with self.db.transaction() as session:
            registered = registry.register_convention(
                session, self.outbox, convention, registered_by, self.clock.now()
            )
            log.info("convention.registered", convention_id=str(registered.id))
            return self._convention(session, registered)

    @rpc
    def list_conventions(self):
        with self.db.transaction() as session:
            return ConventionSchema(many=True).dump(
                [registry.convention_view(session, c) for c in registry.conventions(session)]
            )

    @rpc
    def get_convention(self, convention_id):
        with self.db.transaction() as session:
            return self._convention(session, registry.get_convention(session, convention_id))

    @rpc
    def amend_convention(self, convention_id, amendment, recorded_by):
        amendment = load(NewAmendmentSchema(), amendment)
        with self.db.transaction() as session:
            convention = registry.amend_convention(
                session, self.outbox, convention_id, amendment, recorded_by, self.clock.now()
            )
            log.info("convention.amended", convention_id=str(convention.id),
                     application=amendment["application"])
            return self._convention(session, convention)

    # -- change requests (Art. 9)

    @rpc
    def file_subscription_request(self, insee, request, filed_by):
        request = load(NewSubscriptionRequestSchema(), request)
        filed_by = load(Filer(), filed_by, unknown=EXCLUDE)
        received_on = registry.date_of_receipt(
            request["received_on"], filed_by, self.clock.today()
        )
        with self.db.transaction() as session:
            filed = registry.file_request(
                session, insee, request, received_on, filed_by, self.clock.now()
            )
        log.info("subscription_request.filed", commune=insee, request_id=str(filed.id),
                 status=filed.status)
        return SubscriptionRequestSchema().dump(registry.request_view(filed))

    @rpc
    def subscription_requests(self, insee):
        with self.db.transaction() as session:
            return SubscriptionRequestSchema(many=True).dump(
                [registry.request_view(r) for r in registry.requests_of(session, insee)]
            )

    @rpc
    def get_subscription_request(self, insee, request_id):
        with self.db.transaction() as session:
            request = registry.get_request(session, insee, request_id)
            return SubscriptionRequestSchema().dump(registry.request_view(request))

    @rpc
    def decide_subscription_request(self, insee, request_id, decision, decided_by):
        decision = load(DecisionSchema(), decision)
        with self.db.transaction() as session:
            request = registry.decide_request(
                session, self.outbox, insee, request_id, decision, decided_by, self.clock.now()
            )
        log.info("subscription_request.decided", commune=insee, request_id=str(request.id),
                 status=request.status)
        return SubscriptionRequestSchema().dump(registry.request_view(request))

    # -- terminations (Art. 10)

    @rpc
    def notify_termination(self, insee, notice, filed_by):
        notice = load(NewTerminationSchema(), notice)
        filed_by = load(Filer(), filed_by, unknown=EXCLUDE)
        received_on = registry.date_of_receipt(notice["received_on"], filed_by, self.clock.today())
        with self.db.transaction() as session:
            termination = registry.notify_termination(
                session, self.outbox, insee, received_on, filed_by, self.clock.now()
            )
        log.info("termination.notified", commune=insee, termination_id=str(termination.id),
                 status=termination.status)
        return TerminationSchema().dump(registry.termination_view(termination))

    @rpc
    def terminations(self, insee):
        with self.db.transaction() as session:
            return TerminationSchema(many=True).dump(
                [registry.termination_view(t) for t in registry.terminations_of(session, insee)]
            )

    @rpc
    def get_termination(self, insee, termination_id):
        with self.db.transaction() as session:
            termination = registry.get_termination(session, insee, termination_id)
            return TerminationSchema().dump(registry.termination_view(termination))

    @staticmethod
    def _commune(session, commune):
        return CommuneSchema().dump(registry.commune_view(session, commune))

    @staticmethod
    def _convention(session, convention):
        return ConventionSchema().dump(registry.convention_view(session, convention))
