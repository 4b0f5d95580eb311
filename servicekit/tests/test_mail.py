"""Mail through a real SMTP server (the ``smtp_server`` fixture, aiosmtpd)."""

import logging
import socket

import pytest

from contracts.errors import ServiceUnavailable
from servicekit.config import from_environment
from servicekit.mail import Mailer, MailError
from servicekit.testing_smtp import TEST_SENDER


def test_a_message_reaches_the_server_with_its_envelope(smtp_server):
    mailer = Mailer.from_config(smtp_server.mail_config())
    message_id = mailer.send(
        "ada.lovelace@laverune.fr", "Séance du 12 mars", "Bonjour,\nà mardi.",
        html="<p>Bonjour,<br>à mardi.</p>", headers={"X-Session": "42"},
    )

    (mail,) = smtp_server.messages
    assert mail.mail_from == "convocations@communs.test"
    assert mail.rcpt_tos == ("ada.lovelace@laverune.fr",)
    assert mail.message["Message-ID"] == message_id
    assert message_id.endswith("@communs.test>")
    assert mail.message["From"] == TEST_SENDER
    assert mail.message["Subject"] == "Séance du 12 mars"
    assert mail.message["X-Session"] == "42"
    assert mail.message["Date"] is not None
    assert mail.text == "Bonjour,\nà mardi.\n"
    assert "<br>" in mail.message.get_body(preferencelist=("html",)).get_content()


def test_a_refused_recipient_is_a_permanent_error_that_does_not_name_them(smtp_server, caplog):
    smtp_server.refuse("ada.lovelace@laverune.fr")
    mailer = Mailer.from_config(smtp_server.mail_config())
    caplog.set_level(logging.DEBUG, logger="servicekit.mail")

    with pytest.raises(MailError) as refused:
        mailer.send("ada.lovelace@laverune.fr", "Séance", "Bonjour")

    assert (refused.value.code, refused.value.permanent) == (550, True)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    assert "ada" not in str(refused.value).lower()
    assert smtp_server.messages == []
    ours = [r for r in caplog.records if r.name.startswith("servicekit")]
    assert not any("laverune.fr" in str(r.msg) for r in ours)


def test_one_connection_sends_a_batch_each_message_on_its_own(smtp_server):
    smtp_server.refuse("bob@laverune.fr")
    mailer = Mailer.from_config(smtp_server.mail_config())
    outcomes = []
    with mailer.connection() as connection:
        for address in ("ada@laverune.fr", "bob@laverune.fr", "eve@laverune.fr"):
            try:
                outcomes.append(connection.send(address, "Alerte", f"Bonjour {address}"))
            except MailError as error:
                outcomes.append((error.code, error.permanent))

    assert outcomes[1] == (550, True)
    assert [mail.rcpt_tos for mail in smtp_server.messages] == [("ada@laverune.fr",),
                                                                ("eve@laverune.fr",)]
    assert [mail.message["Message-ID"] for mail in smtp_server.messages] == [outcomes[0],
                                                                             outcomes[2]]


def test_a_plain_message_of_a_batch_reads_as_any_other(smtp_server):
    mailer = Mailer.from_config(smtp_server.mail_config())
    with mailer.connection() as connection:
        message_id = connection.send_plain("ada@laverune.fr", "Alerte inondation – Lavérune",
                                           "Bonjour Ada,\nmontez à l'étage.",
                                           headers={"Auto-Submitted": "auto-generated"})

    (mail,) = smtp_server.messages
    assert mail.mail_from == "convocations@communs.test"
    assert mail.rcpt_tos == ("ada@laverune.fr",)
    assert mail.message["Subject"] == "Alerte inondation – Lavérune"
    assert (mail.message["Message-ID"], mail.message["From"]) == (message_id, TEST_SENDER)
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert mail.text == "Bonjour Ada,\nmontez à l'étage.\n" or mail.text == (
        "Bonjour Ada,\nmontez à l'étage.")


def test_a_connection_to_no_server_is_an_error_worth_retrying():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailer = Mailer("127.0.0.1", port, "alerte@communs.test", timeout=1)
    with pytest.raises(MailError) as unreachable, mailer.connection():
        pass
    assert unreachable.value.permanent is False


def test_a_sending_logs_its_message_id_not_the_address(smtp_server, caplog):
    caplog.set_level(logging.INFO, logger="servicekit.mail")
    message_id = Mailer.from_config(smtp_server.mail_config()).send(
        "ada.lovelace@laverune.fr", "Séance", "Bonjour")

    (record,) = [r for r in caplog.records if r.name == "servicekit.mail"]
    assert record.msg["message_id"] == message_id
    assert "laverune.fr" not in str(record.msg)


def test_no_server_listening_is_an_error_worth_retrying():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailer = Mailer("127.0.0.1", port, "communs@localhost", timeout=2)

    with pytest.raises(MailError, match=f"No SMTP server answered at 127.0.0.1:{port}") as failed:
        mailer.send("ada.lovelace@laverune.fr", "Test", "Test")
    assert not failed.value.permanent


def test_starttls_the_server_does_not_offer_is_refused_rather_than_sent_in_clear(smtp_server):
    mailer = Mailer.from_config(smtp_server.mail_config(SMTP_STARTTLS=True))

    with pytest.raises(MailError, match="STARTTLS") as failed:
        mailer.send("ada.lovelace@laverune.fr", "Test", "Test")
    assert failed.value.permanent
    assert smtp_server.messages == []


def test_without_an_smtp_host_mail_is_unavailable_but_the_config_loads():
    config = from_environment({})

    with pytest.raises(ServiceUnavailable, match="COMMUNS_SMTP_HOST") as unavailable:
        Mailer.from_config(config)
    assert unavailable.value.status == 503


def test_the_config_makes_the_mailer():
    mailer = Mailer.from_config(from_environment({
        "COMMUNS_SMTP_HOST": "smtp.montpellier3m.fr", "COMMUNS_SMTP_PORT": "587",
        "COMMUNS_SMTP_SENDER": "convocations@laverune.fr", "COMMUNS_SMTP_STARTTLS": "true",
        "COMMUNS_SMTP_USERNAME": "convocations", "COMMUNS_SMTP_PASSWORD": "secret",
        "COMMUNS_SMTP_TIMEOUT": "3",
    }))
    assert (mailer.host, mailer.port, mailer.sender, mailer.starttls, mailer.username,
            mailer.password, mailer.timeout) == (
        "smtp.montpellier3m.fr", 587, "convocations@laverune.fr", True, "convocations",
        "secret", 3.0)
