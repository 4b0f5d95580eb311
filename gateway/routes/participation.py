"""Routes of the citizen participation platform (Art. 1, fifth application): anyone reads the
processes, their proposals, comments and results; citizens propose, comment, report, vote,
cast a ballot or sign; a commune's agents create processes, moderate and close them."""

from contracts.identity import CITIZEN
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
    ProcessQuerySchema,
    ProcessSchema,
    ProposalSchema,
    ReportPageSchema,
    ReportSchema,
    ResidenceSchema,
    SignatureSchema,
    VoteSchema,
)
from gateway.http import route
from gateway.routes import ADMIN_OR_AGENT

PLATFORM = "/api/v1/participation/processes"
PROCESS = f"{PLATFORM}/<uuid:process_id>"
PROPOSAL = f"{PROCESS}/proposals/<uuid:proposal_id>"
COMMUNE = "/api/v1/communes/<insee>/participation/processes"
COMMUNE_PROCESS = f"{COMMUNE}/<uuid:process_id>"
CITIZENS = (CITIZEN,)
REFUSALS = (403, 404)


class ParticipationRoutes:
    def _participant(self, principal):
        who = self.rpc("identity", "get_principal", principal.kind, principal.id)
        return {"account_id": principal.id, "name": who["name"]}

    # -- what anyone reads

    @route("GET", PLATFORM, summary="The participatory processes of every commune",
           tag="participation", query=ProcessQuerySchema, response=ProcessSchema, many=True,
           public=True)
    def participation_processes(self, request, query, **_):
        return self.rpc("participation", "processes", ProcessQuerySchema().dump(query))

    @route("GET", PROCESS, summary="A process, its phases and, once closed, its results",
           tag="participation", response=ProcessSchema, public=True, errors=(404,))
    def participation_process(self, request, process_id, **_):
        return self.rpc("participation", "process", str(process_id))

    @route("GET", f"{PROCESS}/proposals",
           summary="A process's proposals, oldest first, a page at a time (their votes once "
                   "voting has closed)",
           tag="participation", query=ContributionsQuerySchema, response=ProposalSchema,
           many=True, public=True, errors=(404,))
    def proposals(self, request, process_id, query, **_):
        return self.rpc("participation", "proposals", str(process_id),
                        ContributionsQuerySchema().dump(query))

    @route("GET", f"{PROPOSAL}/comments",
           summary="A proposal's comments, oldest first (threaded by parent_id), a page at a "
                   "time",
           tag="participation", query=ContributionsQuerySchema, response=CommentSchema,
           many=True, public=True, errors=(404,))
    def comments(self, request, process_id, proposal_id, query, **_):
        return self.rpc("participation", "comments", str(process_id), str(proposal_id),
                        ContributionsQuerySchema().dump(query))

    # -- what a citizen does

    @route("PUT", "/api/v1/me/participation/residence",
           summary="Declare one's commune of residence (processes open to residents)",
           tag="participation", body=ResidenceSchema, response=ResidenceSchema,
           roles=CITIZENS)
    def declare_residence(self, request, principal, body, **_):
        return self.rpc("participation", "declare_residence", principal.id, body)

    @route("POST", f"{PROCESS}/proposals", summary="Propose, during the proposals phase",
           tag="participation", body=NewProposalSchema, response=ProposalSchema, status=201,
           roles=CITIZENS, errors=(404, 409))
    def propose(self, request, principal, process_id, body, **_):
        return self.rpc("participation", "propose", str(process_id),
                        self._participant(principal), body)

    @route("POST", f"{PROPOSAL}/comments", summary="Comment on a proposal, or answer a comment",
           tag="participation", body=NewCommentSchema, response=CommentSchema, status=201,
           roles=CITIZENS, errors=(404, 409))
    def comment(self, request, principal, process_id, proposal_id, body, **_):
        return self.rpc("participation", "comment", str(process_id), str(proposal_id),
                        self._participant(principal), body)

    @route("POST", f"{PROPOSAL}/reports", summary="Report a proposal to the moderators",
           tag="participation", body=NewReportSchema, response=ReportSchema, status=201,
           roles=CITIZENS, errors=(404,))
    def report_proposal(self, request, principal, process_id, proposal_id, body, **_):
        return self.rpc("participation", "report", str(process_id), "proposal",
                        str(proposal_id), self._participant(principal), body)

    @route("POST", f"{PROCESS}/comments/<uuid:comment_id>/reports",
           summary="Report a comment to the moderators", tag="participation",
           body=NewReportSchema, response=ReportSchema, status=201, roles=CITIZENS,
           errors=(404,))
    def report_comment(self, request, principal, process_id, comment_id, body, **_):
        return self.rpc("participation", "report", str(process_id), "comment",
                        str(comment_id), self._participant(principal), body)

    @route("POST", f"{PROPOSAL}/votes",
           summary="Vote for a proposal of a consultation, once, during the voting phase",
           tag="participation", response=VoteSchema, status=201, roles=CITIZENS,
           errors=(404, 409))
    def vote(self, request, principal, process_id, proposal_id, **_):
        return self.rpc("participation", "vote", str(process_id), str(proposal_id),
                        self._participant(principal))

    @route("PUT", f"{PROCESS}/ballot",
           summary="Cast (or change, until voting closes) one's participatory budget ballot",
           tag="participation", body=BallotSchema, response=BallotViewSchema, roles=CITIZENS,
           errors=(404, 409))
    def cast_ballot(self, request, principal, process_id, body, **_):
        return self.rpc("participation", "cast_ballot", str(process_id),
                        self._participant(principal), body)

    @route("GET", f"{PROCESS}/ballot", summary="One's own ballot", tag="participation",
           response=BallotViewSchema, roles=CITIZENS, errors=(404,))
    def my_ballot(self, request, principal, process_id, **_):
        return self.rpc("participation", "ballot", str(process_id),
                        self._participant(principal))

    @route("POST", f"{PROCESS}/signatures", summary="Sign a petition, once",
           tag="participation", response=SignatureSchema, status=201, roles=CITIZENS,
           errors=(404, 409))
    def sign(self, request, principal, process_id, **_):
        return self.rpc("participation", "sign", str(process_id), self._participant(principal))

    # -- what a commune's agents do

    @route("POST", COMMUNE, summary="Set up a participatory process", tag="participation",
           body=NewProcessSchema, response=ProcessSchema, status=201, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def create_process(self, request, principal, insee, body, **_):
        return self.rpc("participation", "create_process", insee, body, principal.id)

    @route("GET", COMMUNE, summary="The commune's processes", tag="participation",
           response=ProcessSchema, many=True, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def commune_processes(self, request, insee, **_):
        return self.rpc("participation", "commune_processes", insee)

    @route("GET", f"{COMMUNE_PROCESS}/reports",
           summary="What citizens reported, oldest first, a page at a time",
           tag="participation", query=ContributionsQuerySchema, response=ReportPageSchema,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def reports(self, request, insee, process_id, query, **_):
        return self.rpc("participation", "reports", insee, str(process_id),
                        ContributionsQuerySchema().dump(query))

    @route("POST", f"{COMMUNE_PROCESS}/proposals/<uuid:proposal_id>/moderation",
           summary="Hide (with a reason, kept for audit) or show again a proposal",
           tag="participation", body=ModerationSchema, response=ProposalSchema,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def moderate_proposal(self, request, principal, insee, process_id, proposal_id, body,
                          **_):
        return self.rpc("participation", "moderate", insee, str(process_id), "proposal",
                        str(proposal_id), body, principal.id)

    @route("POST", f"{COMMUNE_PROCESS}/comments/<uuid:comment_id>/moderation",
           summary="Hide (with a reason, kept for audit) or show again a comment",
           tag="participation", body=ModerationSchema, response=CommentSchema,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def moderate_comment(self, request, principal, insee, process_id, comment_id, body, **_):
        return self.rpc("participation", "moderate", insee, str(process_id), "comment",
                        str(comment_id), body, principal.id)

    @route("POST", f"{COMMUNE_PROCESS}/closure",
           summary="Close a process whose voting has ended: its results computed and "
                   "published", tag="participation", response=ProcessSchema,
           roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def close_process(self, request, insee, process_id, **_):
        return self.rpc("participation", "close_process", insee, str(process_id))
