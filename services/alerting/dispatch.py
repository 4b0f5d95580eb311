"""The dispatcher: greenthreads beside the alerting service's workers that send the queued
deliveries of running campaigns — SMS in operator batches, e-mail over one SMTP session per
batch, voice calls one by one — and settle the campaigns.

Each channel has its relay, so a slow channel never holds another. A relay claims a batch of
due deliveries in one short transaction (the claim hides them from another replica for
``CLAIM``), sends outside any transaction, and records the outcome in a second one. A
delivery is marked sent only if it is still queued: a receipt may overtake the record of its
own sending. An operator or mail server that is away leaves the batch queued, tried again
with a growing wait; only a number or an address refused for good fails at once.

A third relay reads the status of SMS whose receipt is late (a callback lost, or none asked
for), fails the calls whose end never came, completes the campaigns that have settled and
publishes their cost (``campaigns.settle``).
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from eventlet import GreenPool
from nameko.extensions import DependencyProvider
from sqlalchemy import bindparam, case, func, select, update

from contracts.communes import MEMBER_COMMUNES
from contracts.errors import ServiceUnavailable
from servicekit.clock import LEGAL_TIME_ZONE, ClockProvider
from servicekit.config import public_url
from servicekit.database import Database
from servicekit.logging import get_logger
from servicekit.mail import Mailer, MailError
from servicekit.outbox import Outbox
from servicekit.providers import Relay, sibling
from services.alerting import campaigns, rules
from services.alerting.models import Campaign, Delivery
from services.alerting.operator import OperatorClient, OperatorError

log = get_logger(__name__)

CLAIM = timedelta(minutes=2)
BATCH = {"sms": 1000, "email": 200, "voice": 20}
SMTP_SESSIONS = 4
# A relay's round sends this many batches at most, then lets the service breathe.
BATCHES_PER_ROUND = 20
CALLBACKS_PATH = "/api/v1/alerting/operator-callbacks"
CALL_GIVE_UP = timedelta(hours=1)
# Reading statuses is the fallback of lost callbacks, not a second channel: a few per round.
LATE_RECEIPTS_PER_ROUND = 20
MAX_API_BACKOFF = 60


@dataclass(frozen=True)
class DispatchSettings:
    """What the service and its relays read of the config."""

    callback_url: str
    callback_token: str
    retry_delay: timedelta
    receipt_wait: timedelta
    interval: float
    segment_price: Decimal
    minute_price: Decimal

    @classmethod
    def from_config(cls, config):
        token = config.get("OPERATOR_CALLBACK_TOKEN") or callback_token(
            config.get("OPERATOR_PASSWORD") or "")
        base = (config.get("OPERATOR_CALLBACK_URL")
                or public_url(config).rstrip("/") + CALLBACKS_PATH)
        return cls(
            callback_url=f"{base.rstrip('/')}/{token}", callback_token=token,
            retry_delay=timedelta(seconds=float(config.get("ALERTING_RETRY_SECONDS", 300))),
            receipt_wait=timedelta(seconds=float(config.get("ALERTING_RECEIPT_WAIT", 600))),
            interval=float(config.get("ALERTING_DISPATCH_INTERVAL", 1.0)),
            segment_price=Decimal(str(config.get("OPERATOR_SMS_SEGMENT_PRICE") or "0.045")),
            minute_price=Decimal(str(config.get("OPERATOR_VOICE_MINUTE_PRICE") or "0.12")),
        )

    @property
    def prices(self):
        return self.segment_price, self.minute_price

    def accepts(self, token):
        return hmac.compare_digest(str(token).encode(), self.callback_token.encode())


def callback_token(operator_secret):
    """The secret of the callback URL when none is configured: derived from the operator's API
    token, which the operator holds anyway, so that every replica agrees without storing one."""
    return hmac.new(operator_secret.encode(), b"communs operator callbacks",
                    hashlib.sha256).hexdigest()[:32]


def _now():
    return datetime.now(UTC)


class ChannelRelay(Relay):
    """Sends one channel's due deliveries."""

    def __init__(self, channel, access, config, settings):
        super().__init__(settings.interval)
        self.channel = channel
        self.access = access
        self.config = config
        self.settings = settings
        self._operator = None
        self._call_callback_set = False
        self._failures = 0

    def run_round(self):
        for _ in range(BATCHES_PER_ROUND):
            batch = self._claim()
            if not batch:
                return
            getattr(self, f"_send_{self.channel}")(batch)
            if len(batch) < BATCH[self.channel]:
                return

    def _claim(self):
        now = _now()
        with self.access.transaction() as session:
            rows = session.execute(
                select(Delivery.id, Delivery.campaign_id, Delivery.name, Delivery.address,
                       Delivery.attempts, Campaign.commune, Campaign.definition,
                       Campaign.variables)
                .join(Campaign, Campaign.id == Delivery.campaign_id)
                .where(Delivery.status == rules.QUEUED, Delivery.channel == self.channel,
                       Delivery.next_attempt_at <= now, Campaign.status == campaigns.RUNNING)
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(BATCH[self.channel])
                .with_for_update(skip_locked=True, of=Delivery)
            ).all()
            if rows:
                session.execute(update(Delivery).where(Delivery.id.in_([r.id for r in rows]))
                                .values(next_attempt_at=now + CLAIM))
        return rows

    @staticmethod
    def _text(row, template):
        return rules.personalised(row.definition[template], MEMBER_COMMUNES[row.commune].name,
                                  row.name, row.variables)

    # -- SMS and voice, through the operator

    def _operator_client(self, batch):
        if self._operator is None:
            try:
                self._operator = OperatorClient(self.config)
            except ValueError as unset:
                self._postpone(batch, str(unset))
                return None
        return self._operator

    def _send_sms(self, batch):
        client = self._operator_client(batch)
        if client is None:
            return
        by_campaign = {}
        for row in batch:
            by_campaign.setdefault(row.campaign_id, []).append(row)
        for campaign_id, rows in by_campaign.items():
            texts = {row.id: self._text(row, "sms") for row in rows}
            items = [{"recipient_id": row.id, "to": row.address, "text": texts[row.id]}
                     for row in rows]
            try:
                sent = client.send_sms(items, callback_url=self.settings.callback_url,
                                       client_reference=str(campaign_id))
            except OperatorError as error:
                sent = error.sent
                self._operator_failed(rows, sent, error)
            self._record_sent(campaign_id, sent, {row.id: rules.sms_segments(texts[row.id])
                                                  for row in rows if row.id in sent})

    def _send_voice(self, batch):
        client = self._operator_client(batch)
        if client is None:
            return
        if not self._call_callback_set:
            try:
                client.set_call_callback(self.settings.callback_url)
            except OperatorError as error:
                self._postpone(batch, error.detail)
                return
            self._call_callback_set = True
        for row in batch:
            item = {"recipient_id": row.id, "to": row.address, "text": self._text(row, "voice")}
            try:
                sent = client.call([item])
            except OperatorError as error:
                sent = error.sent
                self._operator_failed([row], sent, error)
            self._record_sent(row.campaign_id, sent, {})

    def _operator_failed(self, rows, sent, error):
        refused = set(error.refused)
        self._fail([row for row in rows if row.id in refused], error.detail)
        self._postpone([row for row in rows if row.id not in sent and row.id not in refused],
                       error.detail)

    def _record_sent(self, campaign_id, sent, segments):
        """The deliveries the operator took: sent (unless a receipt got there first), with
        their operator ids; their segments counted to the campaign."""
        if not sent:
            return
        self._failures = 0
        now = _now()
        statement = (
            update(Delivery.__table__)
            .where(Delivery.__table__.c.id == bindparam("delivery_id"))
            .values(status=case((Delivery.__table__.c.status == rules.QUEUED, rules.SENT),
                                else_=Delivery.__table__.c.status),
                    operator_id=func.coalesce(Delivery.__table__.c.operator_id,
                                              bindparam("sent_as")),
                    attempts=Delivery.__table__.c.attempts + 1,
                    segments=bindparam("sent_segments"), sent_at=now, checked_at=None))
        with self.access.transaction() as session:
            session.connection().execute(statement, [
                {"delivery_id": delivery_id, "sent_as": operator_id,
                 "sent_segments": segments.get(delivery_id)}
                for delivery_id, operator_id in sent.items()])
            total = sum(segments.values())
            if total:
                session.execute(update(Campaign).where(Campaign.id == campaign_id)
                                .values(sms_segments=Campaign.sms_segments + total))

    # -- e-mail

    def _send_email(self, batch):
        """The batch over ``SMTP_SESSIONS`` SMTP sessions side by side: a mail server's
        round trips overlap, and the channel keeps its share of the service while receipts
        keep its workers busy."""
        try:
            mailer = Mailer.from_config(self.config)
        except ServiceUnavailable as unset:
            self._postpone(batch, unset.detail)
            return
        parts = [batch[start::SMTP_SESSIONS] for start in range(SMTP_SESSIONS)]
        pool = GreenPool(SMTP_SESSIONS)
        outcomes = [outcome for sent in pool.imap(lambda part: self._mail(mailer, part),
                                                  [part for part in parts if part])
                    for outcome in sent]
        self._record_mail(outcomes)

    def _mail(self, mailer, rows):
        """(row, None or its MailError) for each row sent or refused; those a lost session
        could not send are left queued for later."""
        outcomes = []
        try:
            with mailer.connection() as connection:
                for row in rows:
                    try:
                        connection.send_plain(row.address, self._text(row, "email_subject"),
                                              self._text(row, "email_body"),
                                              headers={"Auto-Submitted": "auto-generated"})
                        outcomes.append((row, None))
                    except MailError as error:
                        outcomes.append((row, error))
        except MailError as unreachable:
            done = {row.id for row, _ in outcomes}
            self._postpone([row for row in rows if row.id not in done], unreachable.detail)
        return outcomes

    def _record_mail(self, outcomes):
        """Each message's outcome, in one statement per kind: delivered, tried again later,
        failed."""
        if not outcomes:
            return
        now = _now()
        table = Delivery.__table__
        by_outcome = {}
        for row, error in outcomes:
            if error is None:
                outcome = rules.DELIVERED
            elif rules.retries_after(error.permanent, row.attempts + 1):
                outcome = rules.QUEUED
            else:
                outcome = rules.FAILED
            by_outcome.setdefault(outcome, []).append({
                "delivery_id": row.id, "tried": row.attempts + 1,
                "error": error.detail[:500] if error is not None else None})
        with self.access.transaction() as session:
            for outcome, rows in by_outcome.items():
                values = {"status": outcome, "settled_at": now}
                if outcome == rules.QUEUED:
                    values = {"next_attempt_at": now + self.settings.retry_delay}
                elif outcome == rules.DELIVERED:
                    values["sent_at"] = now
                session.connection().execute(
                    update(table).where(table.c.id == bindparam("delivery_id"),
                                        table.c.status == rules.QUEUED)
                    .values(attempts=bindparam("tried"), last_error=bindparam("error"),
                            **values), rows)

    # -- what did not leave

    def _postpone(self, rows, reason):
        """Left queued, tried again after a wait that grows while the channel fails."""
        if not rows:
            return
        self._failures += 1
        wait = timedelta(seconds=min(MAX_API_BACKOFF, 2 ** self._failures))
        with self.access.transaction() as session:
            session.execute(update(Delivery).where(Delivery.id.in_([r.id for r in rows]))
                            .values(next_attempt_at=_now() + wait, last_error=reason[:500]))
        log.warning("deliveries.postponed", channel=self.channel, count=len(rows),
                    wait_seconds=wait.total_seconds(), reason=reason[:200])

    def _fail(self, rows, reason):
        if not rows:
            return
        now = _now()
        with self.access.transaction() as session:
            session.execute(update(Delivery).where(Delivery.id.in_([r.id for r in rows]))
                            .values(status=rules.FAILED, settled_at=now,
                                    attempts=Delivery.attempts + 1, last_error=reason[:500]))
        log.warning("deliveries.refused", channel=self.channel, count=len(rows))


class SettlingRelay(Relay):
    """Reads late receipts, gives up on calls that never ended, settles and costs campaigns."""

    def __init__(self, access, config, settings, outbox, wake_outbox, clock):
        super().__init__(settings.interval)
        self.access = access
        self.config = config
        self.settings = settings
        self.outbox = outbox
        self.wake_outbox = wake_outbox
        self.clock = clock
        self._operator = None

    def run_round(self):
        self.read_late_receipts()
        self.give_up_calls()
        self.settle()

    def read_late_receipts(self):
        late = _now() - self.settings.receipt_wait
        with self.access.transaction() as session:
            rows = session.execute(
                select(Delivery.id, Delivery.operator_id)
                .where(Delivery.channel == "sms", Delivery.status == rules.SENT,
                       Delivery.sent_at <= late, Delivery.operator_id.is_not(None),
                       (Delivery.checked_at.is_(None)) | (Delivery.checked_at <= late))
                .order_by(Delivery.sent_at).limit(LATE_RECEIPTS_PER_ROUND)).all()
        if not rows:
            return
        if self._operator is None:
            try:
                self._operator = OperatorClient(self.config)
            except ValueError:
                return
        for delivery_id, operator_id in rows:
            try:
                receipt = self._operator.status(operator_id)
            except OperatorError as error:
                log.warning("receipt.unread", delivery_id=delivery_id, reason=error.detail[:200])
                receipt = None
            with self.access.transaction() as session:
                session.execute(update(Delivery).where(Delivery.id == delivery_id)
                                .values(checked_at=_now()))
                if receipt is not None:
                    campaigns.apply_receipt(session, receipt, self.clock.now(),
                                            self.settings.retry_delay)

    def give_up_calls(self):
        with self.access.transaction() as session:
            session.execute(update(Delivery).where(
                Delivery.channel == "voice", Delivery.status == rules.SENT,
                Delivery.sent_at <= _now() - CALL_GIVE_UP)
                .values(status=rules.FAILED, settled_at=_now(),
                        last_error="The operator never reported the call's end."))

    def settle(self):
        now = self.clock.now()
        with self.access.transaction() as session:
            costed = campaigns.settle(session, self.outbox, self.settings.prices, now,
                                      now.astimezone(LEGAL_TIME_ZONE).date())
        for campaign, amount in costed:
            log.info("campaign.costed", commune=campaign.commune,
                     campaign_id=str(campaign.id), amount=str(amount))
        if costed:
            self.wake_outbox()


# The entrypoints that queue deliveries: once they committed, the relays run at once.
QUEUEING = frozenset(("launch_campaign", "resume_campaign", "resend_campaign", "activate_cell"))


class Dispatcher(DependencyProvider):
    """``dispatcher = Dispatcher()`` beside ``db``, ``outbox`` and ``clock``: runs the relays
    and gives workers the ``DispatchSettings``. A worker that queued deliveries (a launch, a
    resumption, a re-sending, a crisis cell) wakes them; the others (thousands of receipts)
    leave them to their poll."""

    def setup(self):
        self.settings = DispatchSettings.from_config(self.container.config)
        self._database = sibling(self.container, Database)
        self._outbox = sibling(self.container, Outbox)
        self.relays = []

    def start(self):
        access, config = self._database.access, self.container.config
        clock = sibling(self.container, ClockProvider).clock
        self.relays = [ChannelRelay(channel, access, config, self.settings)
                       for channel in BATCH]
        self.relays.append(SettlingRelay(access, config, self.settings,
                                         self._outbox.writer_outside_workers(),
                                         lambda: self._outbox.relay and self._outbox.relay.wake(),
                                         clock))
        self._threads = [self.container.spawn_managed_thread(
            relay.run_forever, identifier=f"dispatch-{type(relay).__name__.lower()}-{number}")
            for number, relay in enumerate(self.relays)]

    def stop(self):
        for thread in getattr(self, "_threads", ()):
            thread.kill()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.settings

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        if exc_info is None and worker_ctx.entrypoint.method_name in QUEUEING:
            for relay in self.relays:
                relay.wake()
