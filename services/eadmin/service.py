"""E-administration service, the first application of Article 1: the commune's signing
certificates (Art. 2), its acts signed in PAdES along a signature circuit, their transmission
to the prefecture for the legality control (@ctes), and the electronic archive.

Only communes subscribed to e-administration use it: the service keeps what subscriptions
announces (``servicekit.subscribed``) and refuses the others, naming the subscription.
"""

import base64

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy

from contracts.eadmin import (
    TRANSMITTED,
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
from contracts.errors import ServiceUnavailable
from contracts.subscriptions import population_vintage_for
from servicekit.config import public_url
from servicekit.database import Database
from servicekit.files import Files
from servicekit.logging import get_logger
from servicekit.mail import Mailer
from servicekit.outbox import Outbox
from servicekit.rpc import call as rpc_call
from servicekit.service import CommunsService, rpc
from servicekit.subscribed import FollowsSubscriptions
from servicekit.timer import timer
from servicekit.validation import load
from services.eadmin import accounting, acts, registry, sessions
from services.eadmin.models import Act, Base
from services.eadmin.transmission import (
    REPLIES,
    PrefectureClient,
    PrefectureError,
    PrefectureSettings,
)

log = get_logger(__name__)

APPLICATION = "eadmin"
# The archives départementales de l'Hérault, which take the communes' public archives.
DEFAULT_ARCHIVAL_AGENCY = "FRAD034"


class Prefecture(DependencyProvider):
    def setup(self):
        self.client = PrefectureClient(PrefectureSettings.from_config(self.container.config))

    def get_dependency(self, worker_ctx):
        return self.client


class EadminService(FollowsSubscriptions, CommunsService):
    name = "eadmin"
    application = APPLICATION
    db = Database(Base.metadata)
    outbox = Outbox()
    files = Files()
    prefecture = Prefecture()
    config = Config()
    subscriptions = RpcProxy("subscriptions")


    # -- certificates

    @rpc
    def register_certificate(self, insee, certificate):
        certificate = load(NewCertificateSchema(), certificate)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            row = registry.register_certificate(session, insee, certificate, self.clock.now())
            log.info("certificate.registered", commune=insee, certificate_id=str(row.id))
            return CertificateSchema().dump(registry.certificate_view(row, self.clock.today()))

    @rpc
    def certificates(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return CertificateSchema(many=True).dump(
                [registry.certificate_view(c, self.clock.today())
                 for c in registry.certificates_of(session, insee)]
            )

    @rpc
    def revoke_certificate(self, insee, certificate_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            row = registry.revoke_certificate(session, insee, certificate_id)
            log.info("certificate.revoked", commune=insee, certificate_id=str(row.id))
            return CertificateSchema().dump(registry.certificate_view(row, self.clock.today()))

    # -- acts

    @rpc
    def create_act(self, insee, act, created_by):
        act = load(NewActSchema(), act)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            created = registry.create_act(session, self.files, insee, act, created_by,
                                          self.clock.now())
            log.info("act.created", commune=insee, act_id=str(created.id))
            return ActSchema().dump(registry.act_view(session, created, self.clock.today()))

    @rpc
    def acts(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return ActSchema(many=True).dump(
                [registry.act_view(session, a, self.clock.today())
                 for a in registry.acts_of(session, insee)]
            )

    @rpc
    def act(self, insee, act_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return ActSchema().dump(registry.act_view(
                session, registry.act_of(session, insee, act_id), self.clock.today()))

    @rpc
    def sign_act(self, insee, act_id, signature):
        signature = load(NewSignatureSchema(), signature)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            act = registry.sign(session, self.files, insee, act_id, signature,
                                self.clock.today(), self.clock.now())
            log.info("act.signed", commune=insee, act_id=str(act.id), state=act.state)
            return ActSchema().dump(registry.act_view(session, act, self.clock.today()))

    @rpc
    def publish_act(self, insee, act_id, publication):
        publication = load(PublicationSchema(), publication)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            act = registry.publish(session, insee, act_id, publication["published_on"],
                                   self.clock.now())
            return ActSchema().dump(registry.act_view(session, act, self.clock.today()))

    @rpc
    def transmit_act(self, insee, act_id):
        """Posts the signed act to the prefecture; the acknowledgement follows (timer)."""
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            act, transmission = registry.prepare_transmission(session, self.files, insee,
                                                              act_id, self.clock.now())
        # Outside any transaction: the prefecture may be slow. Posting the same identifier
        # twice is refused there, so a retry after a lost answer cannot file the act twice.
        try:
            transaction_id = self.prefecture.post_act(transmission)
        except PrefectureError as error:
            raise ServiceUnavailable(f"The prefecture did not take the act: {error}") from None
        with self.db.transaction() as session:
            act = registry.act_of(session, insee, act_id, lock=True)
            registry.transmitted(session, act, transmission, transaction_id, self.clock.now())
            log.info("act.transmitted", commune=insee, act_id=str(act.id))
            return ActSchema().dump(registry.act_view(session, act, self.clock.today()))

    @timer("EADMIN_ROUND_SECONDS", 30)
    def follow_transmissions(self):
        """Asks the platform where each transmitted act and PES is; an acknowledged act is
        archived, a PES gets the accountant's ACK or NACK."""
        self._follow_acts()
        self._follow_messages()
        self._follow_accounting()

    def _follow_accounting(self):
        with self.db.transaction() as session:
            waiting = [(b.id, b.insee, b.transaction_id) for b in accounting.to_follow(session)]
        for batch_id, insee, transaction_id in waiting:
            try:
                status = self.prefecture.pes_status(transaction_id)
            except PrefectureError as error:
                log.warning("accounting.follow_failed", batch_id=str(batch_id),
                            error=type(error).__name__)
                continue
            if status.verdict is None:
                continue
            with self.db.transaction() as session:
                batch = accounting.batch_of(session, insee, batch_id)
                if batch.state == accounting.POSTED:
                    accounting.answered(batch, status, self.clock.now())

    def _follow_messages(self):
        with self.db.transaction() as session:
            watched = [(a.id, a.transaction_id)
                       for a in registry.under_control(session, self.clock.today())]
        for act_id, transaction_id in watched:
            try:
                messages = self.prefecture.messages(transaction_id)
            except PrefectureError as error:
                log.warning("act.messages_failed", act_id=str(act_id),
                            error=type(error).__name__)
                continue
            with self.db.transaction() as session:
                act = session.get(Act, act_id, with_for_update=True)
                registry.record_messages(session, act, messages, self.clock.now())

    @rpc
    def answer_prefecture(self, insee, act_id, answer):
        """Answers a message of the prefecture (additional documents, observations)."""
        answer = load(NewAnswerSchema(), answer)
        document = answer["document"]
        acts.check_files([("document", document["content"])])
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            act = registry.act_of(session, insee, act_id)
            registry.message_to_answer(session, act, answer["message_id"], answer["reply"],
                                       REPLIES)
        try:
            self.prefecture.answer(answer["message_id"], answer["reply"],
                                   (document["file_name"], document["content"]))
        except PrefectureError as error:
            raise ServiceUnavailable(f"The answer did not reach the prefecture: {error}") \
                from None
        with self.db.transaction() as session:
            act = registry.act_of(session, insee, act_id, lock=True)
            registry.answered(session, act, answer["message_id"], answer["reply"],
                              REPLIES[answer["reply"]][1], self.clock.now())
            return ActSchema().dump(registry.act_view(session, act, self.clock.today()))

    def _follow_acts(self):
        with self.db.transaction() as session:
            waiting = [(a.id, a.transaction_id) for a in registry.to_follow(session)]
        for act_id, transaction_id in waiting:
            try:
                status = self.prefecture.status(transaction_id)
            except PrefectureError as error:
                log.warning("act.follow_failed", act_id=str(act_id), error=type(error).__name__)
                continue
            with self.db.transaction() as session:
                act = session.get(Act, act_id, with_for_update=True)
                if act.state != TRANSMITTED:
                    continue
                if status.acknowledged_on is not None:
                    registry.acknowledged(session, self.files, act, status.acknowledged_on,
                                          status.message, self.clock.now())
                elif status.refused:
                    registry.refused(session, act, status.reason, self.clock.now())

    # -- council sessions and convocations (R1)

    def _population(self, insee):
        """The commune's legal population in force today, from subscriptions."""
        commune = rpc_call(self.subscriptions, "get_commune", insee,
                           timeout=self.config.get("RPC_TIMEOUT", 10))
        vintage = population_vintage_for(self.clock.today().year)
        populations = {p["vintage"]: p["population"] for p in commune["populations"]}
        if not populations:
            raise ServiceUnavailable("The commune's population is not known yet.")
        return populations.get(vintage, populations[max(populations)])

    def _link_of(self, token):
        return f"{public_url(self.config)}/api/v1/convocations/{token}"

    @rpc
    def create_session(self, insee, new):
        new = load(NewSessionSchema(), new)
        population = self._population(insee)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            row = sessions.create_session(session, self.files, insee, new, population,
                                          self.clock.now())
            log.info("session.created", commune=insee, session_id=str(row.id))
            return SessionSchema().dump(
                sessions.session_view(session, row, population, self.clock.today()))

    @rpc
    def council_session(self, insee, session_id):
        population = self._population(insee)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return SessionSchema().dump(sessions.session_view(
                session, sessions.session_of(session, insee, session_id), population,
                self.clock.today()))

    @rpc
    def convene(self, insee, session_id):
        mailer = Mailer.from_config(self.config)
        population = self._population(insee)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            row = sessions.convene(session, mailer, insee, session_id, population,
                                   self._link_of, self.clock.today(), self.clock.now())
            log.info("session.convened", commune=insee, session_id=str(row.id))
            return SessionSchema().dump(
                sessions.session_view(session, row, population, self.clock.today()))

    @rpc
    def add_session_document(self, insee, session_id, document):
        document = load(FileSchema(), document)
        mailer = Mailer.from_config(self.config)
        population = self._population(insee)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            row = sessions.add_document(session, self.files, mailer, insee, session_id,
                                        document, self._link_of, self.clock.now())
            return SessionSchema().dump(
                sessions.session_view(session, row, population, self.clock.today()))

    @rpc
    def open_convocation(self, token):
        with self.db.transaction() as session:
            return ConvocationPageSchema().dump(
                sessions.open_convocation(session, token, self.clock.now()))

    @rpc
    def convocation_document(self, token, position):
        with self.db.transaction() as session:
            file_name, content = sessions.document_by_link(session, self.files, token,
                                                           position)
        return {"file_name": file_name, "content": base64.b64encode(content).decode("ascii")}

    # -- accounting pieces to the public accountant (R3)

    @rpc
    def send_accounting_batch(self, insee, new):
        new = load(NewAccountingBatchSchema(), new)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            batch, pes_file = accounting.create_batch(session, self.files, insee, new,
                                                      self.clock.today(), self.clock.now())
            batch_id = batch.id
        # Outside the transaction, as an act's transmission: the platform may be slow.
        try:
            transaction_id = self.prefecture.post_pes(pes_file)
        except PrefectureError as error:
            raise ServiceUnavailable(f"The PES was not taken: {error}") from None
        with self.db.transaction() as session:
            batch = accounting.batch_of(session, insee, batch_id)
            accounting.posted(batch, transaction_id, self.clock.now())
            log.info("accounting.posted", commune=insee, batch_id=str(batch_id))
            return AccountingBatchSchema().dump(accounting.batch_view(batch))

    @rpc
    def accounting_batches(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return AccountingBatchSchema(many=True).dump(
                [accounting.batch_view(b) for b in accounting.batches_of(session, insee)])

    # -- archive

    @rpc
    def archive(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return ArchiveEntrySchema(many=True).dump(
                [registry.archive_view(entry, act)
                 for entry, act in registry.archive_of(session, insee)]
            )

    @rpc
    def export_archive(self, insee, act_id):
        """The SEDA transfer package of an archived act, base64."""
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            package = registry.export_archive(
                session, self.files, insee, act_id,
                self.config.get("EADMIN_ARCHIVAL_AGENCY", DEFAULT_ARCHIVAL_AGENCY),
                self.clock.now())
        return base64.b64encode(package).decode("ascii")

    @rpc
    def check_archive(self, insee, act_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return IntegritySchema().dump(
                registry.check_integrity(session, self.files, insee, act_id))

    # -- who subscribes, from subscriptions' events


