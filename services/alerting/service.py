"""TéléAlerte, the sixth application of Article 1: a commune's alert accounts (fifteen at
most, created by the Metropole: Art. 2), its recipient database kept in sync from CSV with
each contact's consent, its groups, and the library of scenarios it alerts with.

Only communes that subscribe to TéléAlerte use it. Campaigns and crisis cells are to come; the
rules they follow (``rules``), the CAP 1.2 export (``cap``) and the operator's client
(``operator``) are here.
"""

from contracts.alerting import (
    AlertAccountSchema,
    ContactImportSchema,
    ContactPageSchema,
    ContactQuerySchema,
    ContactSchema,
    GroupSchema,
    ImportReportSchema,
    NewAlertAccountSchema,
    NewScenarioSchema,
    ScenarioSchema,
)
from servicekit.database import Database
from servicekit.logging import get_logger
from servicekit.service import CommunsService, rpc
from servicekit.subscribed import FollowsSubscriptions
from servicekit.validation import load
from services.alerting import recipients
from services.alerting.models import Base

log = get_logger(__name__)

APPLICATION = "alerting"


class AlertingService(FollowsSubscriptions, CommunsService):
    name = "alerting"
    application = APPLICATION
    db = Database(Base.metadata)

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
