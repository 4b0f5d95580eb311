"""Routes of TéléAlerte (Art. 1, sixth application): the Metropole creates a commune's alert
accounts (fifteen at most, Art. 2); the commune's agents keep its recipients in sync from CSV,
read its groups, honour unsubscriptions, build on the scenario library, run crisis cells and
launch campaigns, which they follow live (Server-Sent Events), pause, resume, stop, send
again and export as CAP 1.2. The SMS and voice operator posts its receipts to a route of its
own, authenticated by the secret token in its path."""

import json
import time

import eventlet
from werkzeug.wrappers import Response

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
    OperatorCallbackAnswerSchema,
    OperatorCallbackSchema,
    ScenarioSchema,
)
from contracts.errors import CommunsError
from contracts.identity import METROPOLE_ADMIN
from gateway.http import route
from gateway.routes import ADMIN_OR_AGENT, IdempotencyKeyHeaderSchema
from servicekit.logging import get_logger

log = get_logger("gateway.alerting")

COMMUNE = "/api/v1/communes/<insee>/alerting"
# A recipients' file travels base64 in JSON.
IMPORT_BODY_BYTES = 32 * 1024 * 1024
REFUSALS = (403, 404)
CELL = f"{COMMUNE}/crisis-cells/<uuid:cell_id>"
# A launch queues a delivery per person and channel: 200,000 for a campaign to a large
# commune's register on two channels, some seconds of work, longer than the suite's deadline.
LAUNCH_TIMEOUT = 120
CAMPAIGN = f"{COMMUNE}/campaigns/<uuid:campaign_id>"
CAMPAIGN_REFUSALS = (*REFUSALS, 409)
CAP = "application/cap+xml"
EVENT_STREAM = "text/event-stream"
# A campaign in one of these states changes no more: its stream ends.
FINAL_STATUSES = ("completed", "stopped")
KEEP_ALIVE = b": keep-alive\n\n"
STREAM_FAILED = "The campaign could not be read; reconnect to follow it again."


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

    # -- campaigns

    @route("POST", f"{COMMUNE}/campaigns",
           summary="Launch a campaign: the scenario sent to the groups over the channels "
                   "chosen, each person once per channel", tag="alerting",
           body=NewCampaignSchema, headers=IdempotencyKeyHeaderSchema,
           response=CampaignSchema, status=201, roles=ADMIN_OR_AGENT,
           errors=CAMPAIGN_REFUSALS)
    def launch_campaign(self, request, principal, insee, body, headers, **_):
        campaign = self.rpc("alerting", "launch_campaign", insee, body, principal.id,
                            idempotency_key=headers["idempotency_key"],
                            timeout=LAUNCH_TIMEOUT)
        return campaign, {"Location": f"/api/v1/communes/{insee}/alerting/campaigns/"
                                      f"{campaign['id']}"}

    @route("GET", f"{COMMUNE}/campaigns", summary="The commune's campaigns", tag="alerting",
           response=CampaignSchema, many=True, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def campaigns(self, request, insee, **_):
        return self.rpc("alerting", "campaigns", insee)

    @route("GET", CAMPAIGN,
           summary="A campaign, with its live counts of deliveries per channel and state",
           tag="alerting", response=CampaignSchema, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def campaign(self, request, insee, campaign_id, **_):
        return self.rpc("alerting", "campaign", insee, str(campaign_id))

    @route("GET", f"{CAMPAIGN}/deliveries",
           summary="A campaign's deliveries, by channel and state", tag="alerting",
           query=DeliveryQuerySchema, response=DeliveryPageSchema, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def campaign_deliveries(self, request, insee, campaign_id, query, **_):
        return self.rpc("alerting", "campaign_deliveries", insee, str(campaign_id),
                        DeliveryQuerySchema().dump(query))

    @route("POST", f"{CAMPAIGN}/pause",
           summary="Pause a running campaign: nothing more leaves until it is resumed",
           tag="alerting", response=CampaignSchema, roles=ADMIN_OR_AGENT,
           errors=CAMPAIGN_REFUSALS)
    def pause_campaign(self, request, principal, insee, campaign_id, **_):
        return self.rpc("alerting", "pause_campaign", insee, str(campaign_id), principal.id)

    @route("POST", f"{CAMPAIGN}/resume", summary="Resume a paused campaign", tag="alerting",
           response=CampaignSchema, roles=ADMIN_OR_AGENT, errors=CAMPAIGN_REFUSALS)
    def resume_campaign(self, request, principal, insee, campaign_id, **_):
        return self.rpc("alerting", "resume_campaign", insee, str(campaign_id), principal.id)

    @route("POST", f"{CAMPAIGN}/stop",
           summary="Stop a campaign for good: what has not left yet never will",
           tag="alerting", response=CampaignSchema, roles=ADMIN_OR_AGENT,
           errors=CAMPAIGN_REFUSALS)
    def stop_campaign(self, request, principal, insee, campaign_id, **_):
        return self.rpc("alerting", "stop_campaign", insee, str(campaign_id), principal.id)

    @route("POST", f"{CAMPAIGN}/resend",
           summary="Send the campaign again, in a new round, to those it did not reach",
           tag="alerting", response=CampaignSchema, roles=ADMIN_OR_AGENT,
           errors=CAMPAIGN_REFUSALS)
    def resend_campaign(self, request, principal, insee, campaign_id, **_):
        return self.rpc("alerting", "resend_campaign", insee, str(campaign_id), principal.id)

    @route("GET", f"{CAMPAIGN}/cap.xml",
           summary="The campaign's alert as a CAP 1.2 document (OASIS Common Alerting "
                   "Protocol)", tag="alerting", roles=ADMIN_OR_AGENT, errors=REFUSALS,
           media_type=CAP)
    def campaign_cap(self, request, insee, campaign_id, **_):
        return self.rpc("alerting", "campaign_cap", insee, str(campaign_id))

    @route("GET", f"{CAMPAIGN}/events",
           summary="Follow a campaign live (Server-Sent Events): a `campaign` event with its "
                   "state at first and at each change, `: keep-alive` comments in between, "
                   "`end` once it is completed or stopped; `error` if it cannot be read, "
                   "after which the client may reconnect", tag="alerting",
           roles=ADMIN_OR_AGENT, errors=REFUSALS, media_type=EVENT_STREAM)
    def campaign_events(self, request, insee, campaign_id, **_):
        # Asked for now, so that a wrong campaign or commune is a problem, not a stream.
        first = self.rpc("alerting", "campaign", insee, str(campaign_id))
        # eventlet's server holds back what a response yields until 4 KiB have gathered;
        # an event must leave at once.
        request.environ["eventlet.minimum_write_chunk_size"] = 0
        events = campaign_events(
            first, lambda: self.rpc("alerting", "campaign", insee, str(campaign_id)),
            interval=float(self.config.get("ALERTING_SSE_INTERVAL", 1.0)),
            keep_alive=float(self.config.get("ALERTING_SSE_KEEPALIVE", 15)),
            max_seconds=float(self.config.get("ALERTING_SSE_MAX_SECONDS", 3600)),
        )
        return Response(events, mimetype=EVENT_STREAM, headers={
            "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # -- the operator

    @route("POST", "/api/v1/alerting/operator-callbacks/<token>",
           summary="The SMS and voice operator's (Sinch's) delivery receipts, replies and call "
                   "ends, as it sends them; authenticated by the secret token in its path, "
                   "not by an access token", tag="alerting",
           body=OperatorCallbackSchema, response=OperatorCallbackAnswerSchema, public=True,
           errors=(404,))
    def operator_callback(self, request, token, body, **_):
        # The operator's own JSON, no contract of ours: passed on as it came. A service that
        # does not answer is a 503, which the operator retries (it retries 5xx and 429 only).
        return self.rpc("alerting", "operator_callback", token, body)


def sse_event(name, data, event_id=None):
    """One Server-Sent Event: ``data`` as JSON unless it is text already, one ``data:`` line
    per line of it."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False,
                                                          separators=(",", ":"))
    lines = [f"event: {name}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.extend(f"data: {line}" for line in text.split("\n"))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def campaign_events(first, read, *, interval, keep_alive, max_seconds, sleep=eventlet.sleep,
                    clock=time.monotonic):
    """The stream of a campaign whose state is ``first``: ``read()`` again every ``interval``
    seconds, each new state sent, a comment when nothing was for ``keep_alive`` seconds;
    ``end`` after a final state. After ``max_seconds`` it stops without ``end`` (a browser's
    EventSource then reconnects); after a failed read it sends ``error`` and stops."""
    started = last_sent = clock()
    state, number = first, 1
    yield sse_event("campaign", state, number)
    while state["status"] not in FINAL_STATUSES:
        sleep(interval)
        if clock() - started >= max_seconds:
            return
        try:
            current = read()
        except Exception as error:
            detail = error.detail if isinstance(error, CommunsError) else STREAM_FAILED
            log.warning("alerting.campaign_stream_failed", campaign_id=state.get("id"),
                        error=type(error).__name__, detail=detail)
            yield sse_event("error", {"detail": detail})
            return
        if current != state:
            state, number = current, number + 1
            yield sse_event("campaign", state, number)
            last_sent = clock()
        elif clock() - last_sent >= keep_alive:
            yield KEEP_ALIVE
            last_sent = clock()
    yield sse_event("end", {"status": state["status"]})
