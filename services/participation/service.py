"""Citizen participation, the fifth application of Article 1: each commune (or its CCAS) sets
up participatory processes — consultations, participatory budgets, petitions — in phases;
citizens propose, comment, vote, sign; the commune moderates; results are computed when the
voting closes and published, to open data too (``process.closed``).

Communes that subscribe to participation run processes; anyone reads them. A deleted account
(``account.deleted``) leaves its contributions without author and its votes counted.
"""

from contracts.errors import NotFound
from contracts.participation import (
    BallotSchema,
    BallotViewSchema,
    CommentSchema,
    ContributionsQuerySchema,
    ModerationSchema,
    NewCommentSchema,
    NewProcessSchema,
    NewProposalSchema,
    NewReportSchema,
    ParticipantSchema,
    ProcessQuerySchema,
    ProcessSchema,
    ProposalSchema,
    ReportPageSchema,
    ReportSchema,
    ResidenceSchema,
    SignatureSchema,
    VoteSchema,
)
from contracts.personal_data import CitizenSchema, ParticipationExportSchema
from servicekit.database import Database
from servicekit.inbox import event_handler, idempotent
from servicekit.logging import get_logger
from servicekit.outbox import Outbox
from servicekit.service import CommunsService, rpc
from servicekit.subscribed import FollowsSubscriptions
from servicekit.timer import timer
from servicekit.validation import load
from services.participation import personal_data, processes, voting
from services.participation.models import Base

log = get_logger(__name__)

APPLICATION = "participation"


class ParticipationService(FollowsSubscriptions, CommunsService):
    name = "participation"
    application = APPLICATION
    db = Database(Base.metadata)
    outbox = Outbox()

    def _process_view(self, session, process):
        return ProcessSchema().dump(processes.process_view(session, process, self.clock.now()))

    # -- what anyone reads

    @rpc
    def processes(self, query):
        query = load(ProcessQuerySchema(), query)
        with self.db.transaction() as session:
            now = self.clock.now()
            return ProcessSchema(many=True).dump(
                [processes.process_view(session, p, now)
                 for p in processes.processes(session, query.get("commune"),
                                              query.get("kind"))])

    @rpc
    def process(self, process_id):
        with self.db.transaction() as session:
            return self._process_view(session, processes.process_of(session, process_id))

    @rpc
    def proposals(self, process_id, page=None):
        """A page (``ContributionsQuerySchema``; the first by default) of the proposals."""
        page = load(ContributionsQuerySchema(), page or {})
        with self.db.transaction() as session:
            process = processes.process_of(session, process_id)
            return ProposalSchema(many=True).dump(
                [processes.proposal_view(session, process, p)
                 for p in processes.proposals(session, process, include_hidden=True,
                                              limit=page["limit"], offset=page["offset"])])

    @rpc
    def comments(self, process_id, proposal_id, page=None):
        """A page (``ContributionsQuerySchema``; the first by default) of the comments."""
        page = load(ContributionsQuerySchema(), page or {})
        with self.db.transaction() as session:
            process = processes.process_of(session, process_id)
            proposal = processes.proposal_of(session, process, proposal_id)
            return CommentSchema(many=True).dump(
                [processes.comment_view(c)
                 for c in processes.comments(session, proposal, page["limit"],
                                             page["offset"])])

    # -- what a citizen does

    @rpc
    def declare_residence(self, account_id, residence):
        residence = load(ResidenceSchema(), residence)
        with self.db.transaction() as session:
            row = processes.declare_residence(session, str(account_id), residence["commune"],
                                              self.clock.now())
            return ResidenceSchema().dump({"commune": row.commune})

    @rpc(sensitive_arguments=("participant",))
    def propose(self, process_id, participant, proposal):
        participant = load(ParticipantSchema(), participant)
        proposal = load(NewProposalSchema(), proposal)
        with self.db.transaction() as session:
            process = processes.process_of(session, process_id)
            row = processes.propose(session, process, participant, proposal, self.clock.now())
            log.info("proposal.submitted", process_id=str(process.id), proposal_id=str(row.id))
            return ProposalSchema().dump(processes.proposal_view(session, process, row))

    @rpc(sensitive_arguments=("participant",))
    def comment(self, process_id, proposal_id, participant, new_comment):
        participant = load(ParticipantSchema(), participant)
        new_comment = load(NewCommentSchema(), new_comment)
        with self.db.transaction() as session:
            process = processes.process_of(session, process_id)
            proposal = processes.proposal_of(session, process, proposal_id)
            row = processes.comment(session, process, proposal, participant, new_comment,
                                    self.clock.now())
            return CommentSchema().dump(processes.comment_view(row))

    @rpc(sensitive_arguments=("participant",))
    def report(self, process_id, target, target_id, participant, new_report):
        participant = load(ParticipantSchema(), participant)
        new_report = load(NewReportSchema(), new_report)
        with self.db.transaction() as session:
            process = processes.process_of(session, process_id)
            row = (processes.proposal_of(session, process, target_id) if target == "proposal"
                   else processes.comment_of(session, process, target_id))
            reported = processes.report(session, process, target, row.id,
                                        voting.voter_key(participant["account_id"]),
                                        new_report, self.clock.now())
            return ReportSchema().dump(processes.report_view(reported))

    @rpc(sensitive_arguments=("participant",))
    def vote(self, process_id, proposal_id, participant):
        participant = load(ParticipantSchema(), participant)
        with self.db.transaction() as session:
            process = processes.process_of(session, process_id)
            proposal = processes.proposal_of(session, process, proposal_id)
            row = voting.vote(session, process, proposal, participant, self.clock.now())
            return VoteSchema().dump({"proposal_id": proposal.id, "at": row.at})

    @rpc(sensitive_arguments=("participant",))
    def cast_ballot(self, process_id, participant, ballot):
        participant = load(ParticipantSchema(), participant)
        ballot = load(BallotSchema(), ballot)
        with self.db.transaction() as session:
            process = processes.process_of(session, process_id)
            row, total = voting.cast_ballot(session, process, participant,
                                            ballot["proposals"], self.clock.now())
            return BallotViewSchema().dump({"proposals": row.proposals, "total": total,
                                            "cast_at": row.cast_at})

    @rpc(sensitive_arguments=("participant",))
    def ballot(self, process_id, participant):
        participant = load(ParticipantSchema(), participant)
        with self.db.transaction() as session:
            process = processes.process_of(session, process_id)
            row, total = voting.ballot_of(session, process, participant)
            if row is None:
                raise NotFound("You have cast no ballot in this process.")
            return BallotViewSchema().dump({"proposals": row.proposals, "total": total,
                                            "cast_at": row.cast_at})

    @rpc(sensitive_arguments=("participant",))
    def sign(self, process_id, participant):
        participant = load(ParticipantSchema(), participant)
        with self.db.transaction() as session:
            process = processes.process_of(session, process_id)
            count = voting.sign(session, process, participant, self.clock.now())
            return SignatureSchema().dump({"process_id": process.id, "at": self.clock.now(),
                                           "signatures": count})

    # -- what a commune's agents do

    @rpc
    def create_process(self, insee, new, created_by):
        new = load(NewProcessSchema(), new)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            process = processes.create_process(session, insee, new, created_by,
                                               self.clock.now())
            log.info("process.created", commune=insee, process_id=str(process.id),
                     kind=process.kind)
            return self._process_view(session, process)

    @rpc
    def commune_processes(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            now = self.clock.now()
            return ProcessSchema(many=True).dump(
                [processes.process_view(session, p, now)
                 for p in processes.processes(session, insee)])

    @rpc
    def reports(self, insee, process_id, page=None):
        """A page (``ContributionsQuerySchema``; the first by default) of the reports."""
        page = load(ContributionsQuerySchema(), page or {})
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            process = processes.process_of(session, process_id, insee=insee)
            total, reports = processes.reports(session, process, page["limit"], page["offset"])
            return ReportPageSchema().dump({
                "total_count": total, "results": [processes.report_view(r) for r in reports]})

    @rpc
    def moderate(self, insee, process_id, target, target_id, moderation, moderator):
        moderation = load(ModerationSchema(), moderation)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            process = processes.process_of(session, process_id, insee=insee)
            if target == "proposal":
                row = processes.proposal_of(session, process, target_id)
                processes.moderate(session, process, target, row, moderation, moderator,
                                   self.clock.now())
                return ProposalSchema().dump(processes.proposal_view(session, process, row))
            row = processes.comment_of(session, process, target_id)
            processes.moderate(session, process, target, row, moderation, moderator,
                               self.clock.now())
            return CommentSchema().dump(processes.comment_view(row))

    @rpc
    def close_process(self, insee, process_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            process = processes.process_of(session, process_id, insee=insee, lock=True)
            if voting.close(session, self.outbox, process, self.clock.now()):
                log.info("process.closed", commune=insee, process_id=str(process.id))
            return self._process_view(session, process)

    # -- time and events

    @timer("PARTICIPATION_ROUND_SECONDS", 60)
    def close_ended_votes(self):
        """Results are computed as soon as a process's voting has ended."""
        with self.db.transaction() as session:
            for process in voting.due_for_closing(session, self.clock.now()):
                voting.close(session, self.outbox, process, self.clock.now())
                log.info("process.closed", commune=process.commune,
                         process_id=str(process.id))

    @rpc(sensitive_arguments=("citizen",))
    def export_personal_data(self, citizen):
        """participation's part of a citizen's export (GDPR art. 15)."""
        citizen = load(CitizenSchema(), citizen)
        with self.db.transaction() as session:
            return ParticipationExportSchema().dump(
                personal_data.export_of(session, citizen["account_id"]))

    @event_handler("identity", "account.deleted")
    @idempotent
    def on_account_deleted(self, session, event):
        count = personal_data.anonymise(session, event.data["account_id"])
        log.info("contributions.anonymised", account_id=str(event.data["account_id"]),
                 count=count)
