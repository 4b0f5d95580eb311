"""Routes of the public procurement portal (Art. 1, third application): anyone searches the
consultations of every buyer and downloads their files; a company withdraws a file under its
name, asks questions and deposits sealed bids; a buyer's agents publish, answer, open the bids
after the deadline and award."""

import base64

from werkzeug.wrappers import Response

from contracts.errors import NotFound
from contracts.identity import COMPANY
from contracts.procurement import (
    AnswerSchema,
    AwardSchema,
    BidCountSchema,
    BidReceiptSchema,
    BuyerPageSchema,
    BuyerSchema,
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
from gateway.http import route
from gateway.routes import ADMIN_OR_AGENT

PORTAL = "/api/v1/procurement"
PUBLIC_CONSULTATION = f"{PORTAL}/consultations/<uuid:consultation_id>"
COMMUNE = "/api/v1/communes/<insee>/procurement"
CONSULTATION = f"{COMMUNE}/consultations/<uuid:consultation_id>"
# Files travel base64 in JSON: a bid or a DCE file of up to 20 MiB.
FILE_BODY_BYTES = 32 * 1024 * 1024
REFUSALS = (403, 404)


class ProcurementRoutes:
    def _company(self, principal):
        who = self.rpc("identity", "get_principal", principal.kind, principal.id)
        return {"account_id": principal.id, "name": who["name"], "siret": who["siret"],
                "email": who["email"]}

    # -- the public portal

    @route("GET", f"{PORTAL}/consultations",
           summary="Search the consultations of every buyer: words, CPV, buyer, procedure, "
                   "deadline", tag="procurement", query=ConsultationSearchSchema,
           response=ConsultationPageSchema, public=True)
    def search_consultations(self, request, query, **_):
        return self.rpc("procurement", "search_consultations",
                        ConsultationSearchSchema().dump(query))

    @route("GET", PUBLIC_CONSULTATION, summary="A published consultation and its file",
           tag="procurement", response=ConsultationSchema, public=True, errors=(404,))
    def consultation(self, request, consultation_id, **_):
        return self.rpc("procurement", "consultation", str(consultation_id))

    @route("GET", f"{PUBLIC_CONSULTATION}/documents/<name>",
           summary="Download a file of the consultation (DCE): free and open to anyone",
           tag="procurement", public=True, errors=(404,),
           media_type="application/octet-stream")
    def download_document(self, request, consultation_id, name, **_):
        document = self.rpc("procurement", "document", str(consultation_id), name)
        return Response(base64.b64decode(document["content"]),
                        mimetype="application/octet-stream",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{document["file_name"]}"',
                                 "X-Document-Version": str(document["version"])})

    @route("GET", f"{PUBLIC_CONSULTATION}/questions",
           summary="The questions companies asked and the buyer's answers, oldest first, a "
                   "page at a time", tag="procurement", query=RegisterQuerySchema,
           response=QuestionPageSchema, public=True, errors=(404,))
    def public_questions(self, request, consultation_id, query, **_):
        return self.rpc("procurement", "public_questions", str(consultation_id),
                        RegisterQuerySchema().dump(query))

    @route("GET", f"{PORTAL}/buyers",
           summary="The buyers: each commune, its CCAS and the Metropole", tag="procurement",
           response=BuyerSchema, many=True, public=True)
    def procurement_buyers(self, request, **_):
        return self.rpc("procurement", "buyers")

    @route("GET", f"{PORTAL}/buyers/<buyer_id>", summary="A buyer's home page",
           tag="procurement", response=BuyerSchema, public=True, errors=(404,))
    def procurement_buyer(self, request, buyer_id, **_):
        return self.rpc("procurement", "buyer", buyer_id)

    # -- a buyer's agents

    @route("PUT", f"{COMMUNE}/buyers/<kind>",
           summary="The commune's (or its CCAS's) buyer page: welcome text, logo, SIRET",
           tag="procurement", body=BuyerPageSchema, response=BuyerSchema,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def set_buyer_page(self, request, insee, kind, body, **_):
        if kind not in ("commune", "ccas"):
            raise NotFound("No such buyer in this commune.")
        return self.rpc("procurement", "set_buyer_page", insee, kind, body)

    @route("POST", f"{COMMUNE}/consultations",
           summary="Prepare a consultation (a draft, its bids sealed with a key of its own)",
           tag="procurement", body=NewConsultationSchema, response=ConsultationSchema,
           status=201, roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def create_consultation(self, request, principal, insee, body, **_):
        return self.rpc("procurement", "create_consultation", insee, body, principal.id)

    @route("GET", f"{COMMUNE}/consultations",
           summary="The commune's consultations, drafts included", tag="procurement",
           response=ConsultationSchema, many=True, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def commune_consultations(self, request, insee, **_):
        return self.rpc("procurement", "commune_consultations", insee)

    @route("GET", CONSULTATION, summary="One of the commune's consultations",
           tag="procurement", response=ConsultationSchema, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def commune_consultation(self, request, insee, consultation_id, **_):
        return self.rpc("procurement", "commune_consultation", insee, str(consultation_id))

    @route("POST", f"{CONSULTATION}/documents",
           summary="Add a file to the DCE, or a new version of one: once published, every "
                   "company that withdrew the file is e-mailed", tag="procurement",
           body=NewDocumentSchema, response=ConsultationSchema, status=201,
           roles=ADMIN_OR_AGENT, max_body=FILE_BODY_BYTES, errors=(*REFUSALS, 409))
    def add_document(self, request, principal, insee, consultation_id, body, **_):
        return self.rpc("procurement", "add_document", insee, str(consultation_id), body,
                        principal.id)

    @route("POST", f"{CONSULTATION}/publication", summary="Publish the consultation",
           tag="procurement", response=ConsultationSchema, roles=ADMIN_OR_AGENT,
           errors=(*REFUSALS, 409))
    def publish(self, request, principal, insee, consultation_id, **_):
        return self.rpc("procurement", "publish", insee, str(consultation_id), principal.id)

    @route("GET", f"{CONSULTATION}/withdrawals",
           summary="The withdrawal register: who downloaded the file, when, which versions; "
                   "oldest first, a page at a time", tag="procurement",
           query=RegisterQuerySchema, response=WithdrawalPageSchema, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def withdrawals(self, request, insee, consultation_id, query, **_):
        return self.rpc("procurement", "withdrawals", insee, str(consultation_id),
                        RegisterQuerySchema().dump(query))

    @route("GET", f"{CONSULTATION}/questions",
           summary="Every question, answered or not, oldest first, a page at a time",
           tag="procurement", query=RegisterQuerySchema, response=QuestionPageSchema,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def questions(self, request, insee, consultation_id, query, **_):
        return self.rpc("procurement", "questions", insee, str(consultation_id),
                        RegisterQuerySchema().dump(query))

    @route("POST", f"{CONSULTATION}/questions/<uuid:question_id>/answer",
           summary="Answer a question: published, and e-mailed to every company that "
                   "withdrew the file", tag="procurement", body=AnswerSchema,
           response=QuestionSchema, roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def answer_question(self, request, principal, insee, consultation_id, question_id, body,
                        **_):
        return self.rpc("procurement", "answer_question", insee, str(consultation_id),
                        str(question_id), body, principal.id)

    @route("GET", f"{CONSULTATION}/bids",
           summary="How many bids each lot has, on time and late — never what they contain",
           tag="procurement", response=BidCountSchema, many=True, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def bid_counts(self, request, insee, consultation_id, **_):
        return self.rpc("procurement", "bid_counts", insee, str(consultation_id))

    @route("POST", f"{CONSULTATION}/opening",
           summary="Open the bids, after the deadline only: each file unsealed and checked "
                   "against its receipt", tag="procurement", response=OpeningReportSchema,
           roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def open_bids(self, request, principal, insee, consultation_id, **_):
        return self.rpc("procurement", "open_bids", insee, str(consultation_id), principal.id)

    @route("GET", f"{CONSULTATION}/opening", summary="The opening report", tag="procurement",
           response=OpeningReportSchema, roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def opening_report(self, request, insee, consultation_id, **_):
        return self.rpc("procurement", "opening_report", insee, str(consultation_id))

    @route("POST", f"{CONSULTATION}/award",
           summary="Award a lot to an admitted bid; its contract data (DECP) goes to open "
                   "data", tag="procurement", body=NewAwardSchema, response=AwardSchema,
           status=201, roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def award(self, request, principal, insee, consultation_id, body, **_):
        return self.rpc("procurement", "award", insee, str(consultation_id), body,
                        principal.id)

    @route("POST", f"{CONSULTATION}/destruction",
           summary="Destroy the offers and files once their retention is over, on a recorded "
                   "decision (R2184-12)", tag="procurement", body=DestructionSchema,
           response=ConsultationSchema, roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def destroy_archive(self, request, principal, insee, consultation_id, body, **_):
        return self.rpc("procurement", "destroy_archive", insee, str(consultation_id), body,
                        principal.id)

    @route("GET", f"{CONSULTATION}/history",
           summary="The consultation's append-only history: withdrawals, questions, deposits, "
                   "opening; oldest first, a page at a time", tag="procurement",
           query=RegisterQuerySchema, response=HistoryPageSchema, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def history(self, request, insee, consultation_id, query, **_):
        return self.rpc("procurement", "history", insee, str(consultation_id),
                        RegisterQuerySchema().dump(query))

    # -- a company

    @route("POST", f"{CONSULTATION}/withdrawals",
           summary="Withdraw the file under the company's name, to be told of its changes "
                   "(companies)", tag="procurement", response=WithdrawalSchema, status=201,
           roles=(COMPANY,), any_commune=True, errors=(404,))
    def withdraw(self, request, principal, insee, consultation_id, **_):
        return self.rpc("procurement", "withdraw", insee, str(consultation_id),
                        self._company(principal))

    @route("POST", f"{CONSULTATION}/questions",
           summary="Ask the buyer a question, before the questions' deadline (companies)",
           tag="procurement", body=NewQuestionSchema, response=QuestionSchema, status=201,
           roles=(COMPANY,), any_commune=True, errors=(404, 409))
    def ask_question(self, request, principal, insee, consultation_id, body, **_):
        return self.rpc("procurement", "ask_question", insee, str(consultation_id),
                        self._company(principal), body)

    @route("POST", f"{CONSULTATION}/bids",
           summary="Deposit a sealed bid for a lot; the receipt gives its time to the second "
                   "and each file's SHA-256 (companies)", tag="procurement", body=NewBidSchema,
           response=BidReceiptSchema, status=201, roles=(COMPANY,), any_commune=True,
           max_body=FILE_BODY_BYTES, errors=(404, 409))
    def deposit_bid(self, request, principal, insee, consultation_id, body, **_):
        return self.rpc("procurement", "deposit_bid", insee, str(consultation_id),
                        self._company(principal), body)
