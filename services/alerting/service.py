"""TéléAlerte, the sixth application of Article 1: a commune's alert accounts (fifteen at
most, created by the Metropole: Art. 2), its recipient database kept in sync from CSV with
each contact's consent, its groups, the library of scenarios it alerts with, its crisis cells,
and its campaigns: each recipient's deliveries sent by the dispatcher (``dispatch``) over SMTP
and the operator's API, tracked from the operator's receipts, costed for billing and exported
as CAP 1.2 alerts.

Only communes that subscribe to TéléAlerte use it.
"""

from nameko.timer import timer

from contracts.alerting import (
    AlertAccountSchema,
    CampaignSchema,
    CellClosingSchema,
    ContactImportSchema,
    ContactPageSchema,
    ContactQuerySchema,
    ContactSchema,
    CrisisCellSchema,
    DeliveryPageSchema,
    DeliveryQuerySchema,
    GroupSchema,
    ImportReportSchema,
    NewAlertAccountSchema,
    NewCampaignSchema,
    NewCrisisCellSchema,
    NewLogEntrySchema,
    NewScenarioSchema,
    ScenarioSchema,
)
from contracts.communes import MEMBER_COMMUNES
from contracts.errors import Invalid, NotFound
from contracts.personal_data import AlertingExportSchema, CitizenSchema
from servicekit.database import Database
from servicekit.inbox import event_handler, idempotent
from servicekit.logging import get_logger
from servicekit.outbox import Outbox
from servicekit.postbox import Postbox
from servicekit.service import CommunsService, rpc
from servicekit.subscribed import FollowsSubscriptions
from servicekit.validation import load
from services.alerting import campaigns, cells, personal_data, recipients
from services.alerting.dispatch import Dispatcher
from services.alerting.models import Base
from services.alerting.operator import InvalidReceipt, parse_receipt
from services.alerting.retention import anonymise_old_deliveries

log = get_logger(__name__)

APPLICATION = "alerting"


class AlertingService(FollowsSubscriptions, CommunsService):
    name = "alerting"
    application = APPLICATION
    db = Database(Base.metadata)
    postbox = Postbox()
    outbox = Outbox()
    dispatcher = Dispatcher()

    @rpc(sensitive_arguments=("citizen",))
    def export_personal_data(self, citizen):
        """alerting's part of a citizen's export (GDPR art. 15): the contacts communes hold
        with their confirmed address, and the messages sent to them."""
        citizen = load(CitizenSchema(), citizen)
        with self.db.transaction() as session:
            return AlertingExportSchema().dump(
                personal_data.export_of(session, citizen["email"]))

    @event_handler("identity", "account.deleted")
    @idempotent
    def on_account_deleted(self, session, event):
        count = personal_data.anonymise(session, event.data["email_digest"], self.clock.now())
        log.info("contacts.anonymised", account_id=str(event.data["account_id"]), count=count)

    @timer(interval=3600)
    def keep_retention(self):
        """Keeps of the campaigns ended a year ago their counts, not whom they reached."""
        with self.db.transaction() as session:
            anonymised = anonymise_old_deliveries(session, self.clock.now())
        if anonymised:
            log.info("deliveries.anonymised", count=anonymised)

    @rpc
    def create_account(self, insee, new, created_by):
        new = load(NewAlertAccountSchema(), new)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            account = recipients.create_account(session, insee, new, created_by,
                                                self.clock.now())
            log.info("alert_account.created", commune=insee, account_id=str(account.id))
            return AlertAccountSchema().dump(recipients.account_view(account))

    @rpc
    def accounts(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return AlertAccountSchema(many=True).dump(
                [recipients.account_view(a) for a in recipients.accounts(session, insee)])

    @rpc(sensitive_arguments=("upload",))
    def import_contacts(self, insee, upload):
        upload = load(ContactImportSchema(), upload)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            report = recipients.import_contacts(session, insee, upload["content"],
                                                self.clock.now())
        log.info("contacts.imported", commune=insee, inserted=report["inserted"],
                 updated=report["updated"], deleted=report["deleted"],
                 rejected=len(report["rejected"]))
        return ImportReportSchema().dump(report)

    @rpc
    def contacts(self, insee, query):
        query = load(ContactQuerySchema(), query)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            total, page = recipients.contacts(session, insee, query.get("group"),
                                              query["limit"], query["offset"])
            return ContactPageSchema().dump({
                "total_count": total, "results": [recipients.contact_view(c) for c in page]})

    @rpc
    def unsubscribe(self, insee, contact_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            contact = recipients.unsubscribe(session, insee, contact_id, self.clock.now())
            return ContactSchema().dump(recipients.contact_view(contact))

    @rpc
    def groups(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return GroupSchema(many=True).dump(recipients.groups(session, insee))

    @rpc
    def scenarios(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return ScenarioSchema(many=True).dump(recipients.scenarios(session, insee))

    @rpc
    def add_scenario(self, insee, scenario):
        scenario = load(NewScenarioSchema(), scenario)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return ScenarioSchema().dump(recipients.add_scenario(
                session, insee, NewScenarioSchema().dump(scenario), self.clock.now()))

    # -- crisis cells

    @rpc
    def activate_cell(self, insee, new, activated_by):
        new = load(NewCrisisCellSchema(), new)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            cell = cells.activate(session, self.postbox, insee, MEMBER_COMMUNES[insee].name,
                                  new, activated_by, self.clock.now())
            log.info("crisis_cell.activated", commune=insee, cell_id=str(cell.id),
                     stakeholders=cell.stakeholders_notified)
            return CrisisCellSchema().dump(cells.cell_view(session, cell))

    @rpc
    def crisis_cells(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return CrisisCellSchema(many=True).dump(
                [cells.cell_view(session, c) for c in cells.cells(session, insee)])

    @rpc
    def crisis_cell(self, insee, cell_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return CrisisCellSchema().dump(cells.cell_view(session,
                                                           cells.cell_of(session, insee, cell_id)))

    @rpc
    def log_to_cell(self, insee, cell_id, entry, author):
        entry = load(NewLogEntrySchema(), entry)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            cell = cells.cell_of(session, insee, cell_id)
            cells.record(session, cell, entry, author, self.clock.now())
            return CrisisCellSchema().dump(cells.cell_view(session, cell))

    @rpc
    def close_cell(self, insee, cell_id, closing, closed_by):
        closing = load(CellClosingSchema(), closing)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            cell = cells.cell_of(session, insee, cell_id)
            cells.close(session, cell, closing["summary"], closed_by, self.clock.now())
            log.info("crisis_cell.closed", commune=insee, cell_id=str(cell.id))
            return CrisisCellSchema().dump(cells.cell_view(session, cell))

    # -- campaigns

    def _campaign_views(self, session, found):
        counts = campaigns.counts(session, [campaign.id for campaign in found])
        return [campaigns.campaign_view(campaign, counts.get(campaign.id, {}),
                                        self.dispatcher.prices,
                                        MEMBER_COMMUNES[campaign.commune].name)
                for campaign in found]

    def _campaign_answer(self, session, campaign):
        return CampaignSchema().dump(self._campaign_views(session, [campaign])[0])

    @rpc
    def launch_campaign(self, insee, new, launched_by, idempotency_key=None):
        new = load(NewCampaignSchema(), new)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            cell = (cells.cell_of(session, insee, new["cell_id"]) if new["cell_id"] is not None
                    else None)
            campaign, launched = campaigns.launch(
                session, insee, MEMBER_COMMUNES[insee].name, new, launched_by, idempotency_key,
                self.clock.now(), cell)
            if launched and cell is not None:
                cells.record(session, cell, {
                    "kind": "message",
                    "text": f"Campagne « {campaign.headline} » lancée vers "
                            f"{campaign.recipients} destinataire(s) : "
                            f"{', '.join(campaign.channels)}"}, launched_by, self.clock.now())
            log.info("campaign.launched", commune=insee, campaign_id=str(campaign.id),
                     recipients=campaign.recipients, channels=campaign.channels)
            return self._campaign_answer(session, campaign)

    @rpc
    def campaigns(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return CampaignSchema(many=True).dump(
                self._campaign_views(session, campaigns.campaigns(session, insee)))

    @rpc
    def campaign(self, insee, campaign_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return self._campaign_answer(session,
                                         campaigns.campaign_of(session, insee, campaign_id))

    @rpc
    def campaign_deliveries(self, insee, campaign_id, query):
        query = load(DeliveryQuerySchema(), query)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            campaign = campaigns.campaign_of(session, insee, campaign_id)
            total, page = campaigns.deliveries(session, campaign, query.get("channel"),
                                               query.get("status"), query["limit"],
                                               query["offset"])
            return DeliveryPageSchema().dump({
                "total_count": total, "results": [campaigns.delivery_view(d) for d in page]})

    def _steer(self, insee, campaign_id, by, action, step):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            campaign = campaigns.campaign_of(session, insee, campaign_id)
            step(session, campaign)
            session.flush()
            log.info(f"campaign.{action}", commune=insee, campaign_id=str(campaign.id), by=by)
            return self._campaign_answer(session, campaign)

    @rpc
    def pause_campaign(self, insee, campaign_id, by):
        return self._steer(insee, campaign_id, by, "paused",
                           lambda session, campaign: campaigns.pause(campaign))

    @rpc
    def resume_campaign(self, insee, campaign_id, by):
        return self._steer(insee, campaign_id, by, "resumed",
                           lambda session, campaign: campaigns.resume(campaign))

    @rpc
    def stop_campaign(self, insee, campaign_id, by):
        return self._steer(insee, campaign_id, by, "stopped",
                           lambda session, campaign: campaigns.stop(campaign, self.clock.now()))

    @rpc
    def resend_campaign(self, insee, campaign_id, by):
        return self._steer(insee, campaign_id, by, "resent", campaigns.resend)

    @rpc
    def campaign_cap(self, insee, campaign_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            campaign = campaigns.campaign_of(session, insee, campaign_id)
            return campaigns.cap_alert(campaign, MEMBER_COMMUNES[insee].name).decode("utf-8")

    @rpc(sensitive_arguments=("token", "body"))
    def operator_callback(self, token, body):
        """A receipt, a reply or a call's end the operator posted to our callback URL."""
        if not self.dispatcher.accepts(token):
            raise NotFound("No such callback.")
        try:
            receipt = parse_receipt(body)
        except InvalidReceipt as invalid:
            raise Invalid({"body": [str(invalid)]}) from None
        with self.db.transaction() as session:
            recorded = campaigns.apply_receipt(session, receipt, self.clock.now(),
                                               self.dispatcher.retry_delay)
        return {"recorded": recorded}
