"""E-administration service, the first application of Article 1: the commune's signing
certificates (Art. 2), its acts signed in PAdES along a signature circuit, their transmission
to the prefecture for the legality control (@ctes), and the electronic archive.

Only communes subscribed to e-administration use it: the service keeps what subscriptions
announces (``servicekit.subscribed``) and refuses the others, naming the subscription.
"""

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider

from contracts.communes import is_member
from contracts.eadmin import (
    TRANSMITTED,
    ActSchema,
    ArchiveEntrySchema,
    CertificateSchema,
    IntegritySchema,
    NewActSchema,
    NewCertificateSchema,
    NewSignatureSchema,
    PublicationSchema,
)
from contracts.errors import NotFound, ServiceUnavailable
from servicekit import subscribed
from servicekit.config import data_dir
from servicekit.database import Database
from servicekit.inbox import event_handler, idempotent
from servicekit.logging import get_logger
from servicekit.outbox import Outbox
from servicekit.service import CommunsService, rpc
from servicekit.timer import timer
from servicekit.validation import load
from services.eadmin import archive, registry
from services.eadmin.models import Act, Base
from services.eadmin.transmission import PrefectureClient, PrefectureError, PrefectureSettings

log = get_logger(__name__)

APPLICATION = "eadmin"


class Files(DependencyProvider):
    """The content-addressed store of the service's files, under its data dir."""

    def setup(self):
        self.store = archive.FileStore(data_dir(self.container.config) / "eadmin" / "files")

    def get_dependency(self, worker_ctx):
        return self.store


class Prefecture(DependencyProvider):
    def setup(self):
        self.client = PrefectureClient(PrefectureSettings.from_config(self.container.config))

    def get_dependency(self, worker_ctx):
        return self.client


class EadminService(CommunsService):
    name = "eadmin"
    db = Database(Base.metadata)
    outbox = Outbox()
    files = Files()
    prefecture = Prefecture()
    config = Config()

    def _subscribed(self, session, insee):
        if not is_member(insee):
            raise NotFound("No such member commune.")
        subscribed.require_subscription(session, insee, APPLICATION, self.clock.today())

    # -- certificates

    @rpc
    def register_certificate(self, insee, certificate):
        certificate = load(NewCertificateSchema(), certificate)
        with self.db.transaction() as session:
            self._subscribed(session, insee)
            row = registry.register_certificate(session, insee, certificate, self.clock.now())
            log.info("certificate.registered", commune=insee, certificate_id=str(row.id))
            return CertificateSchema().dump(registry.certificate_view(row, self.clock.today()))

    @rpc
    def certificates(self, insee):
        with self.db.transaction() as session:
            self._subscribed(session, insee)
            return CertificateSchema(many=True).dump(
                [registry.certificate_view(c, self.clock.today())
                 for c in registry.certificates_of(session, insee)]
            )

    # -- acts

    @rpc
    def create_act(self, insee, act, created_by):
        act = load(NewActSchema(), act)
        with self.db.transaction() as session:
            self._subscribed(session, insee)
            created = registry.create_act(session, self.files, insee, act, created_by,
                                          self.clock.now())
            log.info("act.created", commune=insee, act_id=str(created.id))
            return ActSchema().dump(registry.act_view(session, created, self.clock.today()))

    @rpc
    def acts(self, insee):
        with self.db.transaction() as session:
            self._subscribed(session, insee)
            return ActSchema(many=True).dump(
                [registry.act_view(session, a, self.clock.today())
                 for a in registry.acts_of(session, insee)]
            )

    @rpc
    def act(self, insee, act_id):
        with self.db.transaction() as session:
            self._subscribed(session, insee)
            return ActSchema().dump(registry.act_view(
                session, registry.act_of(session, insee, act_id), self.clock.today()))

    @rpc
    def sign_act(self, insee, act_id, signature):
        signature = load(NewSignatureSchema(), signature)
        with self.db.transaction() as session:
            self._subscribed(session, insee)
            act = registry.sign(session, self.files, insee, act_id, signature,
                                self.clock.today(), self.clock.now())
            log.info("act.signed", commune=insee, act_id=str(act.id), state=act.state)
            return ActSchema().dump(registry.act_view(session, act, self.clock.today()))

    @rpc
    def publish_act(self, insee, act_id, publication):
        publication = load(PublicationSchema(), publication)
        with self.db.transaction() as session:
            self._subscribed(session, insee)
            act = registry.publish(session, insee, act_id, publication["published_on"],
                                   self.clock.now())
            return ActSchema().dump(registry.act_view(session, act, self.clock.today()))

    @rpc
    def transmit_act(self, insee, act_id):
        """Posts the signed act to the prefecture; the acknowledgement follows (timer)."""
        with self.db.transaction() as session:
            self._subscribed(session, insee)
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
        """Asks the prefecture where each transmitted act is; an acknowledged act is archived."""
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

    # -- archive

    @rpc
    def archive(self, insee):
        with self.db.transaction() as session:
            self._subscribed(session, insee)
            return ArchiveEntrySchema(many=True).dump(
                [registry.archive_view(entry, act)
                 for entry, act in registry.archive_of(session, insee)]
            )

    @rpc
    def check_archive(self, insee, act_id):
        with self.db.transaction() as session:
            self._subscribed(session, insee)
            return IntegritySchema().dump(
                registry.check_integrity(session, self.files, insee, act_id))

    # -- who subscribes, from subscriptions' events

    @event_handler("subscriptions", "subscription.changed")
    @idempotent
    def on_subscription_changed(self, session, event):
        subscribed.record_change(session, event.event_id, event.data, event.occurred_at)

    @event_handler("subscriptions", "convention.terminated")
    @idempotent
    def on_convention_terminated(self, session, event):
        subscribed.record_termination(session, event.data)
