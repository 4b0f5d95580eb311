"""Public procurement, the third application of Article 1: the shared *profil d'acheteur* where
companies find every consultation of every partner (each commune, its CCAS, the Metropole),
download the files, ask questions and deposit sealed bids, and where buyers publish, answer,
open the bids after the deadline and award — each award published as contract data (DECP)
for open data.

Publishing is for the agents of communes that subscribe to procurement; reading and
downloading are open to anyone (arrêté du 22 mars 2019: free, unrestricted access to the DCE).
"""

import base64

from nameko.extensions import DependencyProvider

from contracts.errors import NotFound
from contracts.procurement import (
    DRAFT,
    AnswerSchema,
    AwardSchema,
    BidCountSchema,
    BidReceiptSchema,
    BuyerPageSchema,
    BuyerSchema,
    CompanySchema,
    ConsultationPageSchema,
    ConsultationSchema,
    ConsultationSearchSchema,
    DestructionSchema,
    HistoryPageSchema,
    NewAwardSchema,
    NewBidSchema,
    NewConsultationSchema,
    NewDocumentSchema,
    NewQuestionSchema,
    OpeningReportSchema,
    QuestionPageSchema,
    QuestionSchema,
    RegisterQuerySchema,
    WithdrawalPageSchema,
    WithdrawalSchema,
)
from servicekit.config import data_dir
from servicekit.database import Database, Seed
from servicekit.files import Files
from servicekit.logging import get_logger
from servicekit.outbox import Outbox
from servicekit.postbox import Postbox
from servicekit.service import CommunsService, rpc
from servicekit.subscribed import FollowsSubscriptions
from servicekit.validation import load
from services.procurement import notices, portal, sealing, tendering
from services.procurement.models import Base

log = get_logger(__name__)

APPLICATION = "procurement"


class SealKey(DependencyProvider):
    """The master key that wraps each consultation's private key (``sealing``)."""

    def setup(self):
        self.key = sealing.load_master_key(self.container.config,
                                           data_dir(self.container.config))

    def get_dependency(self, worker_ctx):
        return self.key


def _question_page(total, questions):
    """A page of questions as every reader sees them: anonymous."""
    return QuestionPageSchema().dump({"total_count": total,
                                      "results": [portal.question_view(q) for q in questions]})


class ProcurementService(FollowsSubscriptions, CommunsService):
    name = "procurement"
    application = APPLICATION
    db = Database(Base.metadata)
    outbox = Outbox()
    postbox = Postbox()
    files = Files()
    seal_key = SealKey()
    buyers_at_start = Seed(lambda session, now: portal.ensure_buyers(session), "buyers")

    def _view(self, session, consultation):
        return ConsultationSchema().dump(
            portal.consultation_view(session, consultation, self.clock.now()))

    def _tell(self, session, withdrawals, notice):
        for address in portal.recipients(withdrawals):
            self.postbox.add(session, address, notice.subject, notice.text)

    # -- what anyone reads

    @rpc
    def buyers(self):
        with self.db.transaction() as session:
            now = self.clock.now()
            return BuyerSchema(many=True).dump(
                [portal.buyer_view(session, b, now) for b in portal.buyers(session)])

    @rpc
    def buyer(self, buyer_id):
        with self.db.transaction() as session:
            return BuyerSchema().dump(portal.buyer_view(
                session, portal.buyer_of(session, buyer_id), self.clock.now()))

    @rpc
    def search_consultations(self, query):
        query = load(ConsultationSearchSchema(), query)
        with self.db.transaction() as session:
            now = self.clock.now()
            total, page = portal.search(session, query, now)
            return ConsultationPageSchema().dump({
                "total_count": total,
                "results": [portal.consultation_view(session, c, now) for c in page]})

    @rpc
    def consultation(self, consultation_id):
        with self.db.transaction() as session:
            return self._view(session, portal.published_consultation(session,
                                                                     consultation_id))

    @rpc
    def document(self, consultation_id, name):
        """A file of the DCE, free and open to anyone."""
        with self.db.transaction() as session:
            consultation = portal.published_consultation(session, consultation_id)
            row, content = portal.document_content(session, self.files, consultation, name)
            return {"file_name": row.name, "version": row.version,
                    "content": base64.b64encode(content).decode("ascii")}

    @rpc
    def public_questions(self, consultation_id, page=None):
        """A page (``RegisterQuerySchema``; the first by default) of the answered questions."""
        page = load(RegisterQuerySchema(), page or {})
        with self.db.transaction() as session:
            consultation = portal.published_consultation(session, consultation_id)
            return _question_page(*portal.questions(session, consultation, page["limit"],
                                                    page["offset"], answered_only=True))

    # -- what a buyer's agents do

    @rpc
    def set_buyer_page(self, insee, kind, page):
        page = load(BuyerPageSchema(), page)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            buyer = portal.set_buyer_page(session, insee, kind, page)
            return BuyerSchema().dump(portal.buyer_view(session, buyer, self.clock.now()))

    @rpc
    def create_consultation(self, insee, new, created_by):
        new = load(NewConsultationSchema(), new)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            consultation = portal.create_consultation(session, insee, new, self.seal_key,
                                                      created_by, self.clock.now())
            log.info("consultation.created", commune=insee,
                     consultation_id=str(consultation.id))
            return self._view(session, consultation)

    @rpc
    def commune_consultations(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            now = self.clock.now()
            return ConsultationSchema(many=True).dump(
                [portal.consultation_view(session, c, now)
                 for c in portal.commune_consultations(session, insee)])

    @rpc
    def commune_consultation(self, insee, consultation_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return self._view(session, portal.commune_consultation(session, insee,
                                                                   consultation_id))

    @rpc
    def add_document(self, insee, consultation_id, document, added_by):
        document = load(NewDocumentSchema(), document)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            consultation = portal.commune_consultation(session, insee, consultation_id,
                                                       lock=True)
            row, withdrawals = portal.add_document(session, self.files, consultation,
                                                   document, added_by, self.clock.now())
            self._tell(session, withdrawals, notices.document_changed(consultation, row))
            log.info("document.added", consultation_id=str(consultation.id), name=row.name,
                     version=row.version, told=len(portal.recipients(withdrawals)))
            return self._view(session, consultation)

    @rpc
    def publish(self, insee, consultation_id, published_by):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            consultation = portal.commune_consultation(session, insee, consultation_id,
                                                       lock=True)
            portal.publish(session, consultation, published_by, self.clock.now())
            log.info("consultation.published", consultation_id=str(consultation.id))
            return self._view(session, consultation)

    @rpc
    def withdrawals(self, insee, consultation_id, page=None):
        """A page (``RegisterQuerySchema``; the first by default) of the withdrawal register."""
        page = load(RegisterQuerySchema(), page or {})
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            consultation = portal.commune_consultation(session, insee, consultation_id)
            total, withdrawals = portal.withdrawal_register(session, consultation,
                                                            page["limit"], page["offset"])
            return WithdrawalPageSchema().dump({
                "total_count": total,
                "results": [portal.withdrawal_view(w) for w in withdrawals]})

    @rpc
    def questions(self, insee, consultation_id, page=None):
        """A page (``RegisterQuerySchema``; the first by default) of every question."""
        page = load(RegisterQuerySchema(), page or {})
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            consultation = portal.commune_consultation(session, insee, consultation_id)
            return _question_page(*portal.questions(session, consultation, page["limit"],
                                                    page["offset"]))

    @rpc
    def answer_question(self, insee, consultation_id, question_id, answer, answered_by):
        answer = load(AnswerSchema(), answer)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            consultation = portal.commune_consultation(session, insee, consultation_id)
            question = portal.answer(session, consultation, question_id, answer["answer"],
                                     answered_by, self.clock.now())
            self._tell(session, portal.withdrawals_of(session, consultation),
                       notices.question_answered(consultation, question))
            return QuestionSchema().dump(portal.question_view(question))

    @rpc
    def bid_counts(self, insee, consultation_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            consultation = portal.commune_consultation(session, insee, consultation_id)
            return BidCountSchema(many=True).dump(tendering.counts(session, consultation))

    @rpc
    def open_bids(self, insee, consultation_id, opened_by):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            consultation = portal.commune_consultation(session, insee, consultation_id,
                                                       lock=True)
            report = tendering.open_bids(session, self.files, consultation, self.seal_key,
                                         opened_by, self.clock.now())
            log.info("bids.opened", consultation_id=str(consultation.id),
                     bids=len(report["bids"]))
            return OpeningReportSchema().dump(report)

    @rpc
    def opening_report(self, insee, consultation_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            consultation = portal.commune_consultation(session, insee, consultation_id)
            return OpeningReportSchema().dump(
                tendering.opening_report(session, self.files, consultation, self.seal_key))

    @rpc
    def award(self, insee, consultation_id, terms, awarded_by):
        terms = load(NewAwardSchema(), terms)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            consultation = portal.commune_consultation(session, insee, consultation_id,
                                                       lock=True)
            row, chosen = tendering.award(session, self.outbox, consultation, terms,
                                          awarded_by, self.clock.now(), self.clock.today())
            log.info("lot.awarded", consultation_id=str(consultation.id), lot=row.lot,
                     contract_id=row.contract_id)
            return AwardSchema().dump(tendering.award_view(row, chosen))

    @rpc
    def destroy_archive(self, insee, consultation_id, destruction, destroyed_by):
        destruction = load(DestructionSchema(), destruction)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            consultation = portal.commune_consultation(session, insee, consultation_id,
                                                       lock=True)
            stored = tendering.destroy_archive(session, consultation, destruction["decision"],
                                               destroyed_by, self.clock.today(),
                                               self.clock.now())
        with self.db.transaction() as session:
            for sha256 in tendering.unreferenced(session, consultation, stored):
                self.files.remove(sha256)
        log.info("archive.destroyed", consultation_id=str(consultation.id),
                 files=len(stored))
        with self.db.transaction() as session:
            return self._view(session, portal.commune_consultation(session, insee,
                                                                   consultation_id))

    @rpc
    def history(self, insee, consultation_id, page=None):
        """A page (``RegisterQuerySchema``; the first by default) of the history."""
        page = load(RegisterQuerySchema(), page or {})
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            consultation = portal.commune_consultation(session, insee, consultation_id)
            total, entries = portal.history(session, consultation, page["limit"],
                                            page["offset"])
            return HistoryPageSchema().dump({
                "total_count": total,
                "results": [{"at": h.at, "kind": h.kind, "actor": h.actor, "detail": h.detail}
                            for h in entries]})

    # -- what a company does

    @rpc(sensitive_arguments=("company",))
    def withdraw(self, insee, consultation_id, company):
        company = load(CompanySchema(), company)
        with self.db.transaction() as session:
            consultation = self._published_of(session, insee, consultation_id)
            row = portal.withdraw(session, consultation, company, self.clock.now())
            return WithdrawalSchema().dump(portal.withdrawal_view(row))

    @rpc(sensitive_arguments=("company", "question"))
    def ask_question(self, insee, consultation_id, company, question):
        company = load(CompanySchema(), company)
        question = load(NewQuestionSchema(), question)
        with self.db.transaction() as session:
            consultation = self._published_of(session, insee, consultation_id)
            asked = portal.ask(session, consultation, company, question["text"],
                               self.clock.now())
            return QuestionSchema().dump(portal.question_view(asked))

    @rpc(sensitive_arguments=("company", "bid"))
    def deposit_bid(self, insee, consultation_id, company, bid):
        company = load(CompanySchema(), company)
        bid = load(NewBidSchema(), bid)
        with self.db.transaction() as session:
            consultation = self._published_of(session, insee, consultation_id)
            deposited, files = tendering.deposit(session, self.files, consultation, company,
                                                 bid, self.clock.now())
            log.info("bid.deposited", consultation_id=str(consultation.id),
                     bid_id=str(deposited.id), lot=deposited.lot, late=deposited.late)
            return BidReceiptSchema().dump(tendering.receipt(consultation, deposited, files))

    def _published_of(self, session, insee, consultation_id):
        consultation = portal.commune_consultation(session, insee, consultation_id,
                                                   lock=True)
        if consultation.state == DRAFT:
            raise NotFound("No such consultation.")
        return consultation
