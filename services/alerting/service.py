"""TéléAlerte, the sixth application of Article 1: a commune's alert accounts (fifteen at
most, created by the Metropole: Art. 2), its recipient database kept in sync from CSV with
each contact's consent, its groups, the library of scenarios it alerts with, and its crisis
cells.

Only communes that subscribe to TéléAlerte use it. Campaigns are to come; the rules they
follow (``rules``), the CAP 1.2 export (``cap``) and the operator's client (``operator``) are
here.
"""

from contracts.alerting import (
    AlertAccountSchema,
    CellClosingSchema,
    ContactImportSchema,
    ContactPageSchema,
    ContactQuerySchema,
    ContactSchema,
    CrisisCellSchema,
    GroupSchema,
    ImportReportSchema,
    NewAlertAccountSchema,
    NewCrisisCellSchema,
    NewLogEntrySchema,
    NewScenarioSchema,
    ScenarioSchema,
)
from contracts.communes import MEMBER_COMMUNES
from servicekit.database import Database
from servicekit.logging import get_logger
from servicekit.postbox import Postbox
from servicekit.service import CommunsService, rpc
from servicekit.subscribed import FollowsSubscriptions
from servicekit.validation import load
from services.alerting import cells, recipients
from services.alerting.models import Base

log = get_logger(__name__)

APPLICATION = "alerting"


class AlertingService(FollowsSubscriptions, CommunsService):
    name = "alerting"
    application = APPLICATION
    db = Database(Base.metadata)
    postbox = Postbox()

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
