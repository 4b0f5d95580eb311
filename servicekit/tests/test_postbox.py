"""The postbox: a message leaves only with the change that caused it, through a real SMTP server,
and waits (never lost) while that server is away or not configured; a mailbox that does not
exist fails it for good."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import dummy, entrypoint_hook
from sqlalchemy import insert, select, update

from contracts.errors import Conflict
from servicekit.database import Database
from servicekit.logging import LoggingContext
from servicekit.postbox import (
    ABANDONED,
    CLAIM,
    FAILED,
    FAILED_RETENTION,
    PENDING,
    PENDING_LIMIT,
    SENT,
    MailRelay,
    Postbox,
    deliveries,
)
from servicekit.providers import sibling
from servicekit.tables import mail_outbox
from servicekit.tests.support import (
    DatabaseWithBusinessTables,
    closed_port,
    parcel,
    parcels,
    wait_until,
)

ADA = "ada.lovelace@laverune.fr"


class CadastreService:
    name = "cadastre"
    db = DatabaseWithBusinessTables()
    postbox = Postbox()
    log_context = LoggingContext()

    @dummy
    def register(self, new_parcel, owner_email, refuse_after_writing=False):
        with self.db.transaction() as session:
            session.execute(insert(parcels).values(id=new_parcel["parcel_id"],
                                                   area_m2=new_parcel["area_m2"]))
            mail_id = self.postbox.add(session, owner_email, "Parcelle enregistrée",
                                       "Votre parcelle est enregistrée.",
                                       headers={"X-Parcel": str(new_parcel["parcel_id"])})
            if refuse_after_writing:
                raise Conflict("The parcel overlaps another one.")
        return mail_id


@pytest.fixture
def start_cadastre(container_factory, suite_config):
    def start(**overrides):
        container = container_factory(CadastreService, {**suite_config, **overrides})
        container.start()
        return container

    return start


def register(container, owner_email=ADA, **options):
    with entrypoint_hook(container, "register") as hook:
        return hook(parcel(), owner_email, **options)


def states(container, *mail_ids):
    with sibling(container, Database).access.transaction() as session:
        return deliveries(session, mail_ids)


def rows(container):
    with sibling(container, Database).access.transaction() as session:
        return session.execute(select(mail_outbox)).all()


def test_a_message_leaves_after_its_transaction_commits(start_cadastre, smtp_server):
    cadastre = start_cadastre(**smtp_server.mail_config())

    mail_id = register(cadastre)

    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == (ADA,)
    assert mail.message["Subject"] == "Parcelle enregistrée"
    assert mail.message["X-Parcel"]
    assert mail.text == "Votre parcelle est enregistrée.\n"
    wait_until(lambda: states(cadastre, mail_id) == {mail_id: SENT}, what="the mail marked sent")
    (row,) = rows(cadastre)
    assert row.message_id == mail.message["Message-ID"]


def test_a_rolled_back_change_sends_nothing(start_cadastre, smtp_server):
    cadastre = start_cadastre(**smtp_server.mail_config())

    with pytest.raises(Conflict):
        register(cadastre, refuse_after_writing=True)

    assert rows(cadastre) == []
    assert smtp_server.messages == []


def test_without_an_smtp_server_the_message_waits_then_leaves(start_cadastre, smtp_server):
    cadastre = start_cadastre(SMTP_HOST="127.0.0.1", SMTP_PORT=closed_port(), SMTP_TIMEOUT=1)
    relay = sibling(cadastre, Postbox).relay

    mail_id = register(cadastre)

    wait_until(lambda: rows(cadastre)[0].attempts >= 1, what="a first attempt")
    assert states(cadastre, mail_id) == {mail_id: PENDING}
    assert "No SMTP server answered" in rows(cadastre)[0].last_error
    relay.config = {**relay.config, **smtp_server.mail_config()}
    _due_now(cadastre)
    relay.wake()
    smtp_server.wait_for(1)
    wait_until(lambda: states(cadastre, mail_id) == {mail_id: SENT}, what="the mail sent")


def test_an_unconfigured_server_keeps_the_message_pending(start_cadastre):
    cadastre = start_cadastre(SMTP_HOST=None)

    mail_id = register(cadastre)

    wait_until(lambda: rows(cadastre)[0].attempts >= 1, what="a first attempt")
    assert states(cadastre, mail_id) == {mail_id: PENDING}
    assert "COMMUNS_SMTP_HOST" in rows(cadastre)[0].last_error


def test_a_refused_mailbox_fails_for_good_without_stopping_the_others(start_cadastre,
                                                                       smtp_server):
    smtp_server.refuse("nobody@laverune.fr")
    cadastre = start_cadastre(**smtp_server.mail_config())

    refused = register(cadastre, owner_email="nobody@laverune.fr")
    delivered = register(cadastre)

    smtp_server.wait_for(1)
    wait_until(lambda: states(cadastre, refused, delivered) == {refused: FAILED, delivered: SENT},
               what="one failed, one sent")


def test_sent_messages_are_forgotten_after_the_retention(start_cadastre):
    access = sibling(start_cadastre(SMTP_HOST=None), Database).access
    relay = MailRelay(access, {}, poll_interval=60)
    now = datetime.now(UTC)
    with access.transaction() as session:
        for sent_at in (now - timedelta(days=31), now - timedelta(days=1), None):
            session.execute(insert(mail_outbox).values(
                id=parcel()["parcel_id"], recipient=ADA, subject="s", body="b", headers={},
                created_at=now, attempts=1, next_attempt_at=now + timedelta(days=1),
                sent_at=sent_at))

    assert relay.forget_sent() == 1
    with access.transaction() as session:
        kept = session.execute(select(mail_outbox.c.sent_at)).scalars().all()
    assert len(kept) == 2


def _due_now(container):
    with sibling(container, Database).access.transaction() as session:
        session.execute(update(mail_outbox).values(next_attempt_at=datetime.now(UTC)))


# -- retention: refused and abandoned mail. Rows are dated past the container relay's own clock
# (and its poll set to an hour), so that only the calls of the test touch them.

AT = datetime(2031, 6, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
REPLY_NAMING_ADA = f"451 4.2.0 <{ADA}>: mailbox busy, try again later"


def quiet_relay(start_cadastre):
    access = sibling(start_cadastre(SMTP_HOST=None, POSTBOX_POLL_INTERVAL=3600),
                     Database).access
    return access, MailRelay(access, {}, poll_interval=60)


def put_mail(access, created_at, next_attempt_at=None, sent_at=None, failed_at=None,
             last_error=None):
    mail_id = parcel()["parcel_id"]
    with access.transaction() as session:
        session.execute(insert(mail_outbox).values(
            id=mail_id, recipient=ADA, subject="s", body="b", headers={},
            created_at=created_at, attempts=3, next_attempt_at=next_attempt_at or created_at,
            sent_at=sent_at, failed_at=failed_at, last_error=last_error))
    return mail_id


def row_of(access, mail_id):
    with access.transaction() as session:
        return session.execute(select(mail_outbox).where(mail_outbox.c.id == mail_id)).first()


@pytest.mark.parametrize("written_before, next_attempt_after, sent, given_up", [
    (PENDING_LIMIT - SECOND, -SECOND, False, False),
    (PENDING_LIMIT + SECOND, -SECOND, False, True),
    # Claimed by a relay that is sending it now: left to that relay.
    (PENDING_LIMIT + SECOND, CLAIM, False, False),
    (PENDING_LIMIT + SECOND, -SECOND, True, False),
], ids=["a second before the limit", "a second after", "claimed", "sent"])
def test_mail_still_pending_after_seven_days_is_given_up_without_its_reply(
    start_cadastre, written_before, next_attempt_after, sent, given_up
):
    access, relay = quiet_relay(start_cadastre)
    mail_id = put_mail(access, AT - written_before, next_attempt_at=AT + next_attempt_after,
                       sent_at=AT - timedelta(days=6) if sent else None,
                       last_error=REPLY_NAMING_ADA)

    assert relay.give_up_pending(AT) == int(given_up)

    row = row_of(access, mail_id)
    assert (row.failed_at, row.last_error) == (
        (AT, ABANDONED) if given_up else (None, REPLY_NAMING_ADA))
    assert ADA not in ABANDONED


@pytest.mark.parametrize("failed_before, forgotten", [
    (FAILED_RETENTION - SECOND, False),
    (FAILED_RETENTION + SECOND, True),
], ids=["a second before the retention", "a second after"])
def test_refused_mail_is_deleted_30_days_after_its_last_attempt(start_cadastre, failed_before,
                                                                forgotten):
    access, relay = quiet_relay(start_cadastre)
    refused = put_mail(access, AT - timedelta(days=40), failed_at=AT - failed_before,
                       last_error=f"550 5.1.1 <{ADA}>: no such mailbox")

    assert relay.forget_failed(AT) == int(forgotten)
    assert (row_of(access, refused) is None) == forgotten


def test_abandoned_mail_is_deleted_30_days_after_it_was_given_up(start_cadastre):
    access, relay = quiet_relay(start_cadastre)
    abandoned = put_mail(access, AT - PENDING_LIMIT - SECOND)
    sent_long_ago = put_mail(access, AT - timedelta(days=40), sent_at=AT - timedelta(days=20))
    relay.give_up_pending(AT)

    assert relay.forget_failed(AT + FAILED_RETENTION - SECOND) == 0
    assert relay.forget_failed(AT + FAILED_RETENTION + SECOND) == 1
    assert row_of(access, abandoned) is None
    assert row_of(access, sent_long_ago) is not None  # sent mail goes by SENT_RETENTION


def test_a_round_gives_up_before_sending_and_looks_again_an_hour_later(start_cadastre):
    access, relay = quiet_relay(start_cadastre)
    now = datetime.now(UTC)
    stale = put_mail(access, now - timedelta(days=8), next_attempt_at=now - timedelta(minutes=1))
    refused = put_mail(access, now - timedelta(days=40), failed_at=now - timedelta(days=31))

    relay.run_round()
    assert row_of(access, stale).last_error == ABANDONED
    assert row_of(access, refused) is None

    # Within the hour a round does not look again: the next stale message is only retried.
    later = put_mail(access, now - timedelta(days=8), next_attempt_at=now - timedelta(minutes=1))
    relay.run_round()
    assert (row_of(access, later).failed_at, row_of(access, later).attempts) == (None, 4)
