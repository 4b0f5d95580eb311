"""Mail through a real SMTP server (the ``smtp_server`` fixture, aiosmtpd) and the convocation."""

import logging
import socket
from datetime import UTC, datetime

import pytest

from contracts.errors import ServiceUnavailable
from servicekit.config import from_environment
from servicekit.testing_smtp import TEST_SENDER
from services.eadmin.mail import (
    LEGAL_MENTION,
    Councillor,
    Mailer,
    MailError,
    Session,
    convocation_message,
    french_date,
    french_time,
)

ADA = Councillor("Ada Lovelace", "ada.lovelace@laverune.fr")
LINK = "https://communs.example/convocations/Zm9vYmFyYmF6cXV4LXRva2VuLTQzLWNoYXJzLWxvbmctX18"
SESSION = Session(
    council="conseil municipal de Lavérune",
    starts_at=datetime(2024, 3, 12, 17, 30, tzinfo=UTC),  # 18 h 30 in Paris (winter time)
    place="salle du conseil, mairie de Lavérune",
    agenda=("Approbation du procès-verbal de la séance du 6 février 2024",
            "Budget primitif 2024", "Tarifs de la cantine scolaire"),
)


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


def test_a_convocation_reaches_the_councillor(smtp_server):
    mailer = Mailer.from_config(smtp_server.mail_config())
    mailer.send_message(convocation_message(SESSION, ADA, LINK))

    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ("ada.lovelace@laverune.fr",)
    assert mail.message["To"] == "Ada Lovelace <ada.lovelace@laverune.fr>"
    assert mail.message["From"] == TEST_SENDER
    assert mail.message["Subject"] == (
        "Convocation à la séance du conseil municipal de Lavérune du mardi 12 mars 2024 à 18 h 30"
    )
    assert LINK in mail.text.splitlines()  # whole, on a line of its own: it can be followed


def test_the_convocation_says_when_where_what_and_the_law():
    text = convocation_message(SESSION, ADA, LINK).get_content()
    assert text == f"""Ada Lovelace,

Vous êtes convoqué(e) à la séance du conseil municipal de Lavérune qui se tiendra le mardi 12 mars 2024 à 18 h 30, salle du conseil, mairie de Lavérune.

Ordre du jour :
1. Approbation du procès-verbal de la séance du 6 février 2024
2. Budget primitif 2024
3. Tarifs de la cantine scolaire

Les documents de la séance (les projets de délibérations) sont à votre disposition à cette adresse, qui vous est personnelle :
{LINK}
Ne la transmettez pas : chaque ouverture est enregistrée comme accusé de lecture, et les documents ajoutés après cet envoi y sont horodatés.

{LEGAL_MENTION}
"""  # noqa: E501
    assert "L2121-10" in LEGAL_MENTION


def test_an_urgent_session_with_its_explanatory_note_says_so():
    urgent = Session(
        council="conseil de Montpellier Méditerranée Métropole",
        starts_at=datetime(2024, 7, 1, 9, 0),  # naive: legal time
        place="hôtel de Métropole", agenda=("Plan canicule",), urgent=True,
        explanatory_note=True,
    )
    message = convocation_message(urgent, ADA, LINK)
    text = message.get_content()
    assert "le lundi 1er juillet 2024 à 9 h, hôtel de Métropole." in text
    assert "projets de délibérations et la note explicative de synthèse" in text
    assert "convoquée en urgence" in text and "un jour franc" in text
    assert message["Subject"].endswith("du lundi 1er juillet 2024 à 9 h")


def test_summer_time_is_paris_time():
    summer = Session("conseil municipal de Lavérune", datetime(2024, 6, 25, 16, 45, tzinfo=UTC),
                     "mairie", ())
    text = convocation_message(summer, ADA, LINK).get_content()
    assert "le mardi 25 juin 2024 à 18 h 45, mairie." in text
    assert "(aucun point inscrit)" in text


@pytest.mark.parametrize(
    "moment, day, time",
    [
        (datetime(2024, 12, 1, 0, 5), "dimanche 1er décembre 2024", "0 h 05"),
        (datetime(2025, 8, 15, 20, 0), "vendredi 15 août 2025", "20 h"),
        (datetime(2025, 2, 3, 14, 30), "lundi 3 février 2025", "14 h 30"),
    ],
)
def test_french_dates_and_hours(moment, day, time):
    assert (french_date(moment.date()), french_time(moment)) == (day, time)


def test_a_refused_recipient_is_a_permanent_error_that_does_not_name_them(smtp_server, caplog):
    smtp_server.refuse("ada.lovelace@laverune.fr")
    mailer = Mailer.from_config(smtp_server.mail_config())
    caplog.set_level(logging.DEBUG, logger="services.eadmin.mail")

    with pytest.raises(MailError) as refused:
        mailer.send_message(convocation_message(SESSION, ADA, LINK))

    assert (refused.value.code, refused.value.permanent) == (550, True)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    assert "ada" not in str(refused.value).lower()
    assert smtp_server.messages == []
    ours = [r for r in caplog.records if r.name.startswith("services.eadmin")]
    assert not any("laverune.fr" in str(r.msg) for r in ours)


def test_a_sending_logs_its_message_id_not_the_address(smtp_server, caplog):
    caplog.set_level(logging.INFO, logger="services.eadmin.mail")
    message_id = Mailer.from_config(smtp_server.mail_config()).send_message(
        convocation_message(SESSION, ADA, LINK))

    (record,) = [r for r in caplog.records if r.name == "services.eadmin.mail"]
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
