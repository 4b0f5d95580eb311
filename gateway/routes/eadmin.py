"""Routes of e-administration (Art. 1, first application), for communes that subscribe to it:
signing certificates, acts and their signatures, transmission to the prefecture, archive."""

import base64
import re

from contracts.eadmin import (
    AccountingBatchSchema,
    ActSchema,
    ArchiveEntrySchema,
    CertificateSchema,
    ConvocationPageSchema,
    FileSchema,
    IntegritySchema,
    NewAccountingBatchSchema,
    NewActSchema,
    NewAnswerSchema,
    NewCertificateSchema,
    NewSessionSchema,
    NewSignatureSchema,
    PublicationSchema,
    SessionSchema,
)
from gateway.http import route
from gateway.routes import ADMIN_OR_AGENT

EADMIN = "/api/v1/communes/<insee>/eadmin"
ACT = f"{EADMIN}/acts/<uuid:act_id>"
SESSION = f"{EADMIN}/sessions/<uuid:session_id>"
CONVOCATION = "/api/v1/convocations/<token>"
# Acts, annexes and session documents travel base64 in JSON: a request may carry 32 MiB, some
# 24 MiB of PDFs (one file may be 20 MiB, acts.MAX_FILE_BYTES).
FILES_BODY_BYTES = 32 * 1024 * 1024
# A commune that does not subscribe to e-administration is refused by the service: 403.
REFUSALS = (403, 404, 409)


class EadminRoutes:
    @route("POST", f"{EADMIN}/certificates",
           summary="Register a signing certificate of the commune (PKCS#12)", tag="eadmin",
           body=NewCertificateSchema, max_body=FILES_BODY_BYTES,
           response=CertificateSchema, status=201,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def register_certificate(self, request, insee, body, **_):
        return self.rpc("eadmin", "register_certificate", insee, body)

    @route("GET", f"{EADMIN}/certificates",
           summary="The commune's certificates, soonest expiry first; those expiring within "
                   "60 days are marked",
           tag="eadmin", response=CertificateSchema, many=True, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def certificates(self, request, insee, **_):
        return self.rpc("eadmin", "certificates", insee)

    @route("POST", f"{EADMIN}/certificates/<uuid:certificate_id>/revocation",
           summary="Revoke a certificate: it signs nothing more", tag="eadmin",
           response=CertificateSchema, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def revoke_certificate(self, request, insee, certificate_id, **_):
        return self.rpc("eadmin", "revoke_certificate", insee, str(certificate_id))

    @route("POST", f"{EADMIN}/acts",
           summary="Create an act with its PDF, annexes and signature circuit", tag="eadmin",
           body=NewActSchema, max_body=FILES_BODY_BYTES,
           response=ActSchema, status=201, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def create_act(self, request, principal, insee, body, **_):
        act = self.rpc("eadmin", "create_act", insee, body, created_by=principal.id)
        return act, {"Location": f"/api/v1/communes/{insee}/eadmin/acts/{act['id']}"}

    @route("GET", f"{EADMIN}/acts", summary="The commune's acts", tag="eadmin",
           response=ActSchema, many=True, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def acts(self, request, insee, **_):
        return self.rpc("eadmin", "acts", insee)

    @route("GET", ACT, summary="An act: files, signatures, transmission, enforceability",
           tag="eadmin", response=ActSchema, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def act(self, request, insee, act_id, **_):
        return self.rpc("eadmin", "act", insee, str(act_id))

    @route("POST", f"{ACT}/signatures",
           summary="The next signatory of the circuit signs the act (PAdES)", tag="eadmin",
           body=NewSignatureSchema, response=ActSchema, status=201, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def sign_act(self, request, insee, act_id, body, **_):
        return self.rpc("eadmin", "sign_act", insee, str(act_id), body)

    @route("POST", f"{ACT}/transmission",
           summary="Transmit the signed act to the prefecture (@ctes)", tag="eadmin",
           response=ActSchema, status=202, roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 503))
    def transmit_act(self, request, insee, act_id, **_):
        return self.rpc("eadmin", "transmit_act", insee, str(act_id))

    @route("POST", f"{ACT}/publication", summary="Record the act's publication date",
           tag="eadmin", body=PublicationSchema, response=ActSchema, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def publish_act(self, request, insee, act_id, body, **_):
        return self.rpc("eadmin", "publish_act", insee, str(act_id), body)

    @route("POST", f"{ACT}/answers",
           summary="Answer a message of the prefecture about the act (additional documents, "
                   "observations)",
           tag="eadmin", body=NewAnswerSchema, max_body=FILES_BODY_BYTES,
           response=ActSchema, status=201,
           roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 503))
    def answer_prefecture(self, request, insee, act_id, body, **_):
        return self.rpc("eadmin", "answer_prefecture", insee, str(act_id), body)

    @route("GET", f"{EADMIN}/archive", summary="The commune's archived acts", tag="eadmin",
           response=ArchiveEntrySchema, many=True, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def archive(self, request, insee, **_):
        return self.rpc("eadmin", "archive", insee)

    @route("GET", f"{EADMIN}/archive/<uuid:act_id>/package",
           summary="The act's transfer package for the archives: SEDA 2.1 manifest and files",
           tag="eadmin", roles=ADMIN_OR_AGENT, errors=REFUSALS, media_type="application/zip")
    def export_archive(self, request, insee, act_id, **_):
        package = self.rpc("eadmin", "export_archive", insee, str(act_id))
        return base64.b64decode(package), {
            "Content-Disposition": f'attachment; filename="archive-{act_id}.zip"'}

    @route("GET", f"{EADMIN}/archive/<uuid:act_id>/integrity",
           summary="Check every archived file's fingerprint and the act's signatures",
           tag="eadmin", response=IntegritySchema, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def check_archive(self, request, insee, act_id, **_):
        return self.rpc("eadmin", "check_archive", insee, str(act_id))

    # -- council sessions and convocations

    @route("POST", f"{EADMIN}/sessions",
           summary="Prepare a council session: agenda, documents, councillors", tag="eadmin",
           body=NewSessionSchema, max_body=FILES_BODY_BYTES,
           response=SessionSchema, status=201, roles=ADMIN_OR_AGENT,
           errors=(*REFUSALS, 503))
    def create_session(self, request, insee, body, **_):
        created = self.rpc("eadmin", "create_session", insee, body)
        return created, {"Location": f"/api/v1/communes/{insee}/eadmin/sessions/"
                                     f"{created['id']}"}

    @route("GET", SESSION, summary="A session, its documents and each convocation's receipt",
           tag="eadmin", response=SessionSchema, roles=ADMIN_OR_AGENT,
           errors=(*REFUSALS, 503))
    def council_session(self, request, insee, session_id, **_):
        return self.rpc("eadmin", "council_session", insee, str(session_id))

    @route("POST", f"{SESSION}/convocations",
           summary="Send every councillor's convocation by e-mail, if the delay in jours "
                   "francs allows it (L2121-11, L2121-12)",
           tag="eadmin", response=SessionSchema, roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 503))
    def convene(self, request, insee, session_id, **_):
        return self.rpc("eadmin", "convene", insee, str(session_id))

    @route("POST", f"{SESSION}/documents",
           summary="Add a document to the session; after the convocations it is time-stamped "
                   "and announced to each councillor",
           tag="eadmin", body=FileSchema, max_body=FILES_BODY_BYTES,
           response=SessionSchema, status=201,
           roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 503))
    def add_session_document(self, request, insee, session_id, body, **_):
        return self.rpc("eadmin", "add_session_document", insee, str(session_id), body)

    @route("GET", CONVOCATION,
           summary="A councillor's personal convocation link: opening it is the read receipt",
           tag="convocations", response=ConvocationPageSchema, public=True, errors=(404,))
    def open_convocation(self, request, token, **_):
        return self.rpc("eadmin", "open_convocation", token)

    @route("GET", f"{CONVOCATION}/documents/<int:position>",
           summary="A document of the session, through the councillor's link",
           tag="convocations", public=True, errors=(404,), media_type="application/pdf")
    def convocation_document(self, request, token, position, **_):
        document = self.rpc("eadmin", "convocation_document", token, position)
        # The name was typed by an agent: only harmless characters reach the header.
        name = re.sub(r"[^\w.\- ]", "_", document["file_name"])
        return base64.b64decode(document["content"]), {
            "Content-Disposition": f'inline; filename="{name}"'}

    # -- accounting pieces (Hélios)

    @route("POST", f"{EADMIN}/accounting-batches",
           summary="Send a bordereau of titres or mandats to the public accountant (PES Aller)",
           tag="eadmin", body=NewAccountingBatchSchema, max_body=FILES_BODY_BYTES,
           response=AccountingBatchSchema,
           status=202, roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 503))
    def send_accounting_batch(self, request, insee, body, **_):
        return self.rpc("eadmin", "send_accounting_batch", insee, body)

    @route("GET", f"{EADMIN}/accounting-batches",
           summary="The commune's bordereaux and the accountant's ACK or NACK", tag="eadmin",
           response=AccountingBatchSchema, many=True, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def accounting_batches(self, request, insee, **_):
        return self.rpc("eadmin", "accounting_batches", insee)
