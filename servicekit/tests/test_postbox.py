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
from servicekit.postbox import FAILED, PENDING, SENT, MailRelay, Postbox, deliveries
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
