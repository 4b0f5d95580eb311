"""The convocation of a councillor to a council session, as an e-mail (sent with
``servicekit.mail.Mailer``)."""

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage

from servicekit.clock import LEGAL_TIME_ZONE

# -- the convocation (CGCT L2121-10) -------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """What a convocation says of the session. ``council``: "conseil municipal de Lavérune";
    ``starts_at``: an aware datetime (a naive one is read as legal time); ``agenda``: the
    items' titles, in order."""

    council: str
    starts_at: datetime
    place: str
    agenda: tuple
    urgent: bool = False
    explanatory_note: bool = False


@dataclass(frozen=True)
class Councillor:
    name: str
    email: str


_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre")

URGENCY = (
    "Cette séance est convoquée en urgence : le délai de convocation est abrégé à un jour franc "
    "(articles L2121-11 et L2121-12 du CGCT) et le conseil se prononce sur l'urgence à "
    "l'ouverture de la séance."
)
LEGAL_MENTION = (
    "Convocation adressée de manière dématérialisée en application de l'article L2121-10 du "
    "code général des collectivités territoriales. Vous pouvez demander qu'elle vous soit "
    "adressée par écrit à votre domicile ou à une autre adresse."
)


def french_date(day):
    """``mardi 12 mars 2024``; the 1st of a month is ``1er``."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{_WEEKDAYS[day.weekday()]} {number} {_MONTHS[day.month - 1]} {day.year}"


def french_time(moment):
    """``18 h 30``, ``9 h``."""
    return f"{moment.hour} h {moment.minute:02d}" if moment.minute else f"{moment.hour} h"


def convocation_message(session, councillor, link):
    """The convocation of ``councillor`` to ``session`` (any objects with ``Session``'s and
    ``Councillor``'s attributes), in French: date and hour (legal time), place, agenda (L2121-10:
    a convocation states the matters on the agenda), the councillor's personal link to the
    documents, and the legal mention of L2121-10. The ``From`` is the mailer's."""
    starts_at = session.starts_at
    starts_at = (starts_at.replace(tzinfo=LEGAL_TIME_ZONE) if starts_at.tzinfo is None
                 else starts_at.astimezone(LEGAL_TIME_ZONE))
    when = f"{french_date(starts_at.date())} à {french_time(starts_at)}"
    agenda = "\n".join(f"{position}. {title}"
                       for position, title in enumerate(session.agenda, start=1))
    documents = ("les projets de délibérations et la note explicative de synthèse"
                 if getattr(session, "explanatory_note", False) else
                 "les projets de délibérations")
    paragraphs = [
        f"{councillor.name},",
        f"Vous êtes convoqué(e) à la séance du {session.council} qui se tiendra le {when}, "
        f"{session.place}.",
        f"Ordre du jour :\n{agenda or '(aucun point inscrit)'}",
        f"Les documents de la séance ({documents}) sont à votre disposition à cette adresse, "
        f"qui vous est personnelle :\n{link}\n"
        "Ne la transmettez pas : chaque ouverture est enregistrée comme accusé de lecture, et "
        "les documents ajoutés après cet envoi y sont horodatés.",
        *([URGENCY] if getattr(session, "urgent", False) else []),
        LEGAL_MENTION,
    ]
    text = "\n\n".join(paragraphs) + "\n"
    message = EmailMessage()
    message["To"] = Address(display_name=councillor.name, addr_spec=councillor.email)
    message["Subject"] = f"Convocation à la séance du {session.council} du {when}"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    return message
