"""Online services to citizens, the second application of Article 1: the tele-service
catalogue, each commune's forms and branding, the custom forms the Metropole integrates (Art.
2, 3), and citizens' requests from submission to decision, with their e-mails.

Communes that subscribe to online services (learnt from subscriptions' events) receive
requests; a citizen's account is identity's, whom the gateway names in each call. A deleted
account (``account.deleted``) leaves its requests anonymised.
"""


from contracts.eservices import (
    AgendaSchema,
    BrandingSchema,
    CampSchema,
    CommuneBrandingSchema,
    CommuneFormSchema,
    CustomFormSchema,
    FormDefinitionSchema,
    NewAgendaSchema,
    NewCampSchema,
    NewCustomFormSchema,
    NewMessageSchema,
    NewRequestSchema,
    NewSlotsSchema,
    NewTransitionSchema,
    RequesterSchema,
    RequestPageSchema,
    RequestQuerySchema,
    RequestSchema,
    SlotQuerySchema,
    SlotSchema,
)
from contracts.personal_data import CitizenSchema, EservicesExportSchema
from servicekit import subscribed
from servicekit.database import Database, Seed
from servicekit.files import Files
from servicekit.inbox import event_handler, idempotent
from servicekit.logging import get_logger
from servicekit.outbox import Outbox
from servicekit.postbox import Postbox
from servicekit.service import CommunsService, rpc
from servicekit.subscribed import FollowsSubscriptions
from servicekit.timer import timer
from servicekit.validation import load
from services.eservices import bookings, casework, communes
from services.eservices.models import Base

log = get_logger(__name__)

APPLICATION = "eservices"


class EservicesService(FollowsSubscriptions, CommunsService):
    name = "eservices"
    application = APPLICATION
    db = Database(Base.metadata)
    outbox = Outbox()
    postbox = Postbox()
    files = Files()
    catalogue_at_start = Seed(communes.ensure_catalogue, "catalogue")


    def _request_view(self, session, request):
        return RequestSchema().dump(casework.request_view(session, request, self.clock.now()))

    # -- what anyone reads

    @rpc
    def catalogue(self):
        with self.db.transaction() as session:
            return FormDefinitionSchema(many=True).dump(communes.catalogue_forms(session))

    @rpc
    def commune_forms(self, insee, include_inactive=False):
        """The forms the commune offers (an agent also sees the catalogue's others)."""
        with self.db.transaction() as session:
            if not subscribed.is_subscribed(session, insee, APPLICATION, self.clock.today()):
                return []
            return CommuneFormSchema(many=True).dump(
                communes.commune_forms(session, insee, include_inactive))

    @rpc
    def branding(self, insee):
        with self.db.transaction() as session:
            return CommuneBrandingSchema().dump(
                communes.branding_view(communes.branding_of(session, insee)))

    @rpc
    def agendas(self, insee):
        with self.db.transaction() as session:
            return AgendaSchema(many=True).dump(
                [bookings.agenda_view(a) for a in bookings.agendas(session, insee)])

    @rpc
    def slots(self, insee, agenda_id, query):
        query = load(SlotQuerySchema(), query)
        with self.db.transaction() as session:
            agenda = bookings.agenda_of(session, insee, agenda_id)
            return SlotSchema(many=True).dump(
                [bookings.slot_view(s) for s in bookings.slots(
                    session, agenda, query["available"], after=self.clock.now())])

    @rpc
    def camps(self, insee):
        with self.db.transaction() as session:
            return CampSchema(many=True).dump(
                [bookings.camp_view(session, c) for c in bookings.camps(session, insee)])

    # -- the Metropole sets a commune up (Art. 2)

    @rpc
    def set_branding(self, insee, branding, set_by):
        branding = load(BrandingSchema(), branding)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            row = communes.set_branding(session, insee, branding, set_by, self.clock.now())
            return CommuneBrandingSchema().dump(communes.branding_view(row))

    @rpc
    def create_custom_form(self, insee, new_form, created_by):
        new_form = load(NewCustomFormSchema(), new_form)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            row = communes.create_custom_form(session, self.outbox, insee, new_form,
                                              created_by, self.clock.now(), self.clock.today())
            log.info("custom_form.integrated", commune=insee, slug=row.slug,
                     integration_number=row.integration_number, billable=row.billable)
            return CustomFormSchema().dump(communes.custom_form_view(row))

    @rpc
    def custom_forms(self, insee):
        with self.db.transaction() as session:
            return CustomFormSchema(many=True).dump(
                [communes.custom_form_view(r) for r in communes.custom_forms(session, insee)])

    # -- what a commune's agents do

    @rpc
    def activate_form(self, insee, slug, changed_by, active=True):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            form = communes.set_activation(session, insee, slug, active, changed_by,
                                           self.clock.now())
            log.info("form.activation_changed", commune=insee, slug=slug, active=active)
            return CommuneFormSchema().dump(form)

    @rpc
    def create_agenda(self, insee, agenda):
        agenda = load(NewAgendaSchema(), agenda)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return AgendaSchema().dump(bookings.agenda_view(
                bookings.create_agenda(session, insee, agenda, self.clock.now())))

    @rpc
    def open_slots(self, insee, agenda_id, new_slots):
        new_slots = load(NewSlotsSchema(), new_slots)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            agenda = bookings.agenda_of(session, insee, agenda_id)
            return SlotSchema(many=True).dump(
                [bookings.slot_view(s) for s in bookings.open_slots(session, agenda, new_slots)])

    @rpc
    def create_camp(self, insee, camp):
        camp = load(NewCampSchema(), camp)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            row = bookings.create_camp(session, insee, camp, self.clock.now())
            return CampSchema().dump(bookings.camp_view(session, row))

    @rpc
    def commune_requests(self, insee, query):
        query = load(RequestQuerySchema(), query)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            page, counts, next_cursor = casework.commune_requests(session, insee, query)
            now = self.clock.now()
            return RequestPageSchema().dump({
                "items": [casework.request_view(session, r, now) for r in page],
                "counts": counts, "next_cursor": next_cursor})

    @rpc
    def commune_request(self, insee, request_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return self._request_view(session, casework.request_of(session, request_id,
                                                                   insee=insee))

    @rpc
    def move_request(self, insee, request_id, transition, agent_id):
        transition = load(NewTransitionSchema(), transition)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            request = casework.request_of(session, request_id, insee=insee, lock=True)
            casework.move(session, self.postbox, request, transition["to"],
                          transition["message"], agent_id, self.clock.now())
            log.info("request.moved", commune=insee, request_id=str(request.id),
                     status=request.status)
            return self._request_view(session, request)

    @rpc
    def agent_message(self, insee, request_id, message, agent_id):
        message = load(NewMessageSchema(), message)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            request = casework.request_of(session, request_id, insee=insee, lock=True)
            casework.agent_message(session, self.postbox, request, message["text"], agent_id,
                                   self.clock.now())
            return self._request_view(session, request)

    # -- what a citizen does

    @rpc(sensitive_arguments=("requester", "new_request"))
    def submit_request(self, insee, new_request, requester, idempotency_key=None):
        new_request = load(NewRequestSchema(), new_request)
        requester = load(RequesterSchema(), requester)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            request, created = casework.submit(
                session, self.postbox, self.files, insee, new_request, requester,
                idempotency_key, self.clock.now())
            if created:
                log.info("request.submitted", commune=insee, request_id=str(request.id),
                         form=request.form_slug, reference=request.reference)
            return self._request_view(session, request)

    @rpc
    def citizen_requests(self, account_id):
        with self.db.transaction() as session:
            now = self.clock.now()
            return RequestSchema(many=True).dump(
                [casework.request_view(session, r, now)
                 for r in casework.citizen_requests(session, account_id)])

    @rpc
    def citizen_request(self, account_id, request_id):
        with self.db.transaction() as session:
            return self._request_view(session, casework.request_of(
                session, request_id, account_id=account_id))

    @rpc(sensitive_arguments=("message",))
    def citizen_message(self, account_id, request_id, message):
        message = load(NewMessageSchema(), message)
        with self.db.transaction() as session:
            request = casework.request_of(session, request_id, account_id=account_id,
                                          lock=True)
            casework.citizen_message(session, request, message["text"], self.clock.now())
            return self._request_view(session, request)

    @rpc
    def cancel_request(self, account_id, request_id):
        with self.db.transaction() as session:
            request = casework.request_of(session, request_id, account_id=account_id,
                                          lock=True)
            casework.cancel(session, self.postbox, request, self.clock.now())
            log.info("request.cancelled", commune=request.commune, request_id=str(request.id))
            return self._request_view(session, request)

    @rpc(sensitive_arguments=("citizen",))
    def export_personal_data(self, citizen):
        """eservices' part of a citizen's export (GDPR art. 15): their requests in every
        commune, and the mails still kept to them."""
        citizen = load(CitizenSchema(), citizen)
        with self.db.transaction() as session:
            now = self.clock.now()
            return EservicesExportSchema().dump({
                "requests": [casework.request_view(session, r, now) for r in
                             casework.citizen_requests(session, citizen["account_id"])],
                "mails": casework.citizen_mails(session, citizen["account_id"],
                                                citizen["email"]),
            })

    # -- time and events

    @timer("ESERVICES_ROUND_SECONDS", 3600)
    def keep_legal_delays(self):
        """Sends the accusés de réception that fall due, and deletes what is past its
        retention and the files of anonymised requests."""
        with self.db.transaction() as session:
            acknowledged = casework.acknowledge_due_receipts(
                session, self.postbox, self.clock.today(), self.clock.now())
        with self.db.transaction() as session:
            purged = casework.purge_expired(session, self.clock.now())
        with self.db.transaction() as session:
            casework.delete_unneeded_files(session, self.files)
        if acknowledged or purged:
            log.info("requests.legal_delays_kept", acknowledged=acknowledged, purged=purged)



    @event_handler("identity", "account.deleted")
    @idempotent
    def on_account_deleted(self, session, event):
        count = casework.anonymise_requests_of(session, event.data["account_id"],
                                               self.clock.now())
        log.info("requests.anonymised", account_id=str(event.data["account_id"]), count=count)
