"""The convocation as an e-mail, through a real SMTP server (the ``smtp_server`` fixture)."""

from datetime import UTC, datetime

import pytest

from servicekit.mail import Mailer
from servicekit.testing_smtp import TEST_SENDER
from services.eadmin.mail import (
    LEGAL_MENTION,
    Councillor,
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

