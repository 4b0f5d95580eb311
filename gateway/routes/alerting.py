"""Routes of TéléAlerte (Art. 1, sixth application): the Metropole creates a commune's alert
accounts (fifteen at most, Art. 2); the commune's agents keep its recipients in sync from CSV,
read its groups, honour unsubscriptions, build on the scenario library and run crisis
cells."""

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
from contracts.identity import METROPOLE_ADMIN
from gateway.http import route
from gateway.routes import ADMIN_OR_AGENT

COMMUNE = "/api/v1/communes/<insee>/alerting"
# A recipients' file travels base64 in JSON.
IMPORT_BODY_BYTES = 32 * 1024 * 1024
REFUSALS = (403, 404)
CELL = f"{COMMUNE}/crisis-cells/<uuid:cell_id>"


class AlertingRoutes:
    @route("POST", f"{COMMUNE}/accounts",
           summary="Create one of the commune's alert accounts, fifteen at most (Metropole "
                   "admins)", tag="alerting", body=NewAlertAccountSchema,
           response=AlertAccountSchema, status=201, roles=(METROPOLE_ADMIN,),
           errors=(*REFUSALS, 409))
    def create_alert_account(self, request, principal, insee, body, **_):
        return self.rpc("alerting", "create_account", insee, body, principal.id)

    @route("GET", f"{COMMUNE}/accounts", summary="The commune's alert accounts",
           tag="alerting", response=AlertAccountSchema, many=True, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def alert_accounts(self, request, insee, **_):
        return self.rpc("alerting", "accounts", insee)

    @route("POST", f"{COMMUNE}/contacts/import",
           summary="Keep the recipients in sync from a CSV file (by external id): each refused "
                   "row reported, the others taken whole", tag="alerting",
           body=ContactImportSchema, response=ImportReportSchema, roles=ADMIN_OR_AGENT,
           max_body=IMPORT_BODY_BYTES, errors=(*REFUSALS, 409))
    def import_contacts(self, request, insee, body, **_):
        return self.rpc("alerting", "import_contacts", insee, body)

    @route("GET", f"{COMMUNE}/contacts", summary="The commune's recipients, by group",
           tag="alerting", query=ContactQuerySchema, response=ContactPageSchema,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def contacts(self, request, insee, query, **_):
        return self.rpc("alerting", "contacts", insee, ContactQuerySchema().dump(query))

    @route("POST", f"{COMMUNE}/contacts/<uuid:contact_id>/unsubscription",
           summary="A recipient asked to receive nothing more: honoured at once",
           tag="alerting", response=ContactSchema, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def unsubscribe_contact(self, request, insee, contact_id, **_):
        return self.rpc("alerting", "unsubscribe", insee, str(contact_id))

    @route("GET", f"{COMMUNE}/groups",
           summary="The commune's recipient groups, and how many of each may be alerted",
           tag="alerting", response=GroupSchema, many=True, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def alert_groups(self, request, insee, **_):
        return self.rpc("alerting", "groups", insee)

    @route("GET", f"{COMMUNE}/scenarios",
           summary="The scenario library and the commune's own, with each SMS's length and "
                   "segments", tag="alerting", response=ScenarioSchema, many=True,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def scenarios(self, request, insee, **_):
        return self.rpc("alerting", "scenarios", insee)

    @route("POST", f"{COMMUNE}/scenarios", summary="Add a scenario of the commune's own",
           tag="alerting", body=NewScenarioSchema, response=ScenarioSchema, status=201,
           roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def add_scenario(self, request, insee, body, **_):
        return self.rpc("alerting", "add_scenario", insee, body)

    @route("POST", f"{COMMUNE}/crisis-cells",
           summary="Activate a crisis cell: its members and the stakeholders of the groups "
                   "named are e-mailed at once", tag="alerting", body=NewCrisisCellSchema,
           response=CrisisCellSchema, status=201, roles=ADMIN_OR_AGENT,
           errors=(*REFUSALS, 409))
    def activate_cell(self, request, principal, insee, body, **_):
        return self.rpc("alerting", "activate_cell", insee, body, principal.id)

    @route("GET", f"{COMMUNE}/crisis-cells", summary="The commune's crisis cells",
           tag="alerting", response=CrisisCellSchema, many=True, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def crisis_cells(self, request, insee, **_):
        return self.rpc("alerting", "crisis_cells", insee)

    @route("GET", CELL, summary="A crisis cell and its log", tag="alerting",
           response=CrisisCellSchema, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def crisis_cell(self, request, insee, cell_id, **_):
        return self.rpc("alerting", "crisis_cell", insee, str(cell_id))

    @route("POST", f"{CELL}/log", summary="Log a decision or a message of the cell",
           tag="alerting", body=NewLogEntrySchema, response=CrisisCellSchema, status=201,
           roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def log_to_cell(self, request, principal, insee, cell_id, body, **_):
        return self.rpc("alerting", "log_to_cell", insee, str(cell_id), body, principal.id)

    @route("POST", f"{CELL}/closure", summary="Close the cell with its summary",
           tag="alerting", body=CellClosingSchema, response=CrisisCellSchema,
           roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def close_cell(self, request, principal, insee, cell_id, body, **_):
        return self.rpc("alerting", "close_cell", insee, str(cell_id), body, principal.id)
