"""E-mail that must not be lost: written in the transaction of the change that causes it, sent
from there.

``postbox.add(session, to, subject, text)`` stores the message beside the business rows; it
leaves only if that transaction commits. A relay greenthread per service sends what is due
after each worker and at every poll, outside any transaction (an SMTP exchange must not hold
the database), and marks each message sent with its Message-ID. An SMTP server that is down,
or answers 4xx, or is not configured yet, leaves the message pending and retried with backoff;
a 5xx refusal (a mailbox that does not exist) marks it failed for good. Either way the sender's
own records (``state_of``) say what became of it.

Messages hold personal data (an address, a name): sent ones are deleted after
``SENT_RETENTION``, those refused for good after ``FAILED_RETENTION``, and those still pending
after ``PENDING_LIMIT`` are given up, then deleted as refused ones; the address is never logged.
"""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update

from contracts.errors import ServiceUnavailable
from servicekit import providers
from servicekit.database import Database
from servicekit.logging import CORRELATION_ID, get_logger
from servicekit.mail import Mailer, MailError
from servicekit.outbox import backoff
from servicekit.providers import sibling
from servicekit.tables import mail_outbox

log = get_logger(__name__)

BATCH_SIZE = 20
# A replica that claimed a message and died lets another send it once this has passed.
CLAIM = timedelta(minutes=2)
SENT_RETENTION = timedelta(days=30)
# A refused or abandoned message is kept as long as a sent one, for its sender's records to say
# what became of it; then its address and text go (GDPR art. 5(1)(e), storage limitation).
FAILED_RETENTION = timedelta(days=30)
# A message no server took within a week is news no more (a link of 48 hours, a notice): it is
# given up rather than retried, with its address, for ever (GDPR art. 5(1)(e)).
PENDING_LIMIT = timedelta(days=7)
ABANDONED = "Abandoned: not sent within 7 days."
# Given up and forgotten hourly, not at every round: the mail path waits on the rounds.
LOOK_EVERY = timedelta(hours=1)
PENDING, SENT, FAILED = "pending", "sent", "failed"


def state_of(row):
    if row.sent_at is not None:
        return SENT
    return FAILED if row.failed_at is not None else PENDING


def deliveries(session, mail_ids):
    """``{mail_id: "pending" | "sent" | "failed"}`` of the messages still kept."""
    if not mail_ids:
        return {}
    rows = session.execute(
        select(mail_outbox.c.id, mail_outbox.c.sent_at, mail_outbox.c.failed_at)
        .where(mail_outbox.c.id.in_(list(mail_ids)))
    )
    return {row.id: state_of(row) for row in rows}


def _to(addresses):
    keys = {address.strip().lower() for address in addresses if address}
    return func.lower(mail_outbox.c.recipient).in_(keys)


def kept_mails_to(session, addresses):
    """The messages still kept to any of the addresses, oldest first (a citizen's export)."""
    return session.execute(
        select(mail_outbox.c.subject, mail_outbox.c.body, mail_outbox.c.created_at,
               mail_outbox.c.sent_at, mail_outbox.c.failed_at)
        .where(_to(addresses)).order_by(mail_outbox.c.created_at)
    ).mappings().all()


def forget_mails_to(session, addresses):
    """Deletes every message kept to the addresses, sent or not (a citizen's erasure)."""
    return session.execute(delete(mail_outbox).where(_to(addresses))).rowcount


class PostboxWriter:
    """What a worker sees: ``add`` a message to the transaction it is in."""

    def __init__(self, correlation_id_of):
        self._correlation_id_of = correlation_id_of
        self.added = False

    def add(self, session, to, subject, text, headers=None):
        """Queue a plain-text message to ``to``; returns its id."""
        self.added = True
        mail_id = uuid.uuid4()
        now = datetime.now(UTC)
        session.execute(
            insert(mail_outbox).values(
                id=mail_id,
                recipient=to,
                subject=subject,
                body=text,
                headers=dict(headers or {}),
                correlation_id=self._correlation_id_of(),
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )
        return mail_id


class MailRelay(providers.Relay):
    """Sends the due messages of one service."""

    def __init__(self, access, config, poll_interval):
        super().__init__(poll_interval)
        self.access = access
        self.config = config
        self._looked_at = None

    def run_round(self):
        now = datetime.now(UTC)
        looking = self._looked_at is None or now - self._looked_at >= LOOK_EVERY
        if looking:
            # Before sending, so that a due message is not being sent while it is given up.
            self.give_up_pending(now)
        self.send_due()
        self.forget_sent()
        if looking:
            self.forget_failed(now)
            self._looked_at = now

    def send_due(self):
        """Send what is due; returns how many messages left."""
        sent = 0
        while True:
            rows = self._claim()
            if not rows:
                return sent
            try:
                mailer = Mailer.from_config(self.config)
            except ServiceUnavailable as unavailable:
                self._postpone_all(rows, unavailable)
                return sent
            for row in rows:
                sent += self._send(mailer, row)
            if len(rows) < BATCH_SIZE:
                return sent

    def _claim(self):
        now = datetime.now(UTC)
        with self.access.transaction() as session:
            rows = session.execute(
                select(mail_outbox)
                .where(mail_outbox.c.sent_at.is_(None), mail_outbox.c.failed_at.is_(None),
                       mail_outbox.c.next_attempt_at <= now)
                .order_by(mail_outbox.c.created_at)
                .limit(BATCH_SIZE)
                .with_for_update(skip_locked=True)
            ).all()
            if rows:
                session.execute(
                    update(mail_outbox)
                    .where(mail_outbox.c.id.in_([row.id for row in rows]))
                    .values(next_attempt_at=now + CLAIM)
                )
        return rows

    def _send(self, mailer, row):
        try:
            message_id = mailer.send(row.recipient, row.subject, row.body, headers=row.headers)
        except MailError as error:
            attempts = row.attempts + 1
            values = {"attempts": attempts, "last_error": error.detail[:2000]}
            if error.permanent:
                values["failed_at"] = datetime.now(UTC)
            else:
                values["next_attempt_at"] = datetime.now(UTC) + backoff(attempts)
            self._update(row.id, values)
            log.warning("postbox.not_sent", mail_id=str(row.id), attempts=attempts,
                        permanent=error.permanent, code=error.code,
                        correlation_id=row.correlation_id)
            return 0
        self._update(row.id, {"sent_at": datetime.now(UTC), "message_id": message_id[:200],
                              "attempts": row.attempts + 1, "last_error": None})
        log.info("postbox.sent", mail_id=str(row.id), message_id=message_id,
                 correlation_id=row.correlation_id)
        return 1

    def _postpone_all(self, rows, error):
        for row in rows:
            self._update(row.id, {"attempts": row.attempts + 1, "last_error": error.detail,
                                  "next_attempt_at": datetime.now(UTC) + backoff(row.attempts + 1)})
        log.warning("postbox.no_smtp_server", pending=len(rows))

    def _update(self, mail_id, values):
        with self.access.transaction() as session:
            session.execute(update(mail_outbox).where(mail_outbox.c.id == mail_id).values(values))

    def forget_sent(self):
        with self.access.transaction() as session:
            return session.execute(
                delete(mail_outbox).where(
                    mail_outbox.c.sent_at < datetime.now(UTC) - SENT_RETENTION)
            ).rowcount

    def give_up_pending(self, now):
        """Marks failed the messages still pending ``PENDING_LIMIT`` after they were written,
        unless a relay holds one now (claimed: its ``next_attempt_at`` is ahead); returns how
        many. Their ``last_error`` says so, and no longer the server's reply, which may repeat
        the address (GDPR art. 5(1)(c), (e))."""
        with self.access.transaction() as session:
            given_up = session.execute(
                update(mail_outbox)
                .where(mail_outbox.c.sent_at.is_(None), mail_outbox.c.failed_at.is_(None),
                       mail_outbox.c.created_at < now - PENDING_LIMIT,
                       mail_outbox.c.next_attempt_at <= now)
                .values(failed_at=now, last_error=ABANDONED)
            ).rowcount
        if given_up:
            log.warning("postbox.given_up", count=given_up)
        return given_up

    def forget_failed(self, now):
        """Deletes the messages refused for good or given up more than ``FAILED_RETENTION``
        before ``now`` (``failed_at``: their last attempt, or when they were given up);
        returns how many (GDPR art. 5(1)(e))."""
        with self.access.transaction() as session:
            return session.execute(
                delete(mail_outbox).where(mail_outbox.c.sent_at.is_(None),
                                          mail_outbox.c.failed_at < now - FAILED_RETENTION)
            ).rowcount


class Postbox(providers.RelayProvider):
    """``postbox = Postbox()`` beside ``db = Database(...)`` in a service."""

    def __init__(self, poll_interval=5.0):
        self.poll_interval = poll_interval

    def setup(self):
        super().setup()
        self._database = sibling(self.container, Database)

    def make_relay(self):
        return MailRelay(
            self._database.access,
            self.container.config,
            self.container.config.get("POSTBOX_POLL_INTERVAL", self.poll_interval),
        )

    def make_writer(self, worker_ctx):
        return PostboxWriter(lambda: worker_ctx.data.get(CORRELATION_ID))

    def writer_outside_workers(self):
        return PostboxWriter(lambda: None)
