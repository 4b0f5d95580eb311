"""The e-mails a citizen receives about a request, in French.

The acknowledgements carry what the code des relations entre le public et l'administration
requires: the date of receipt, the service that handles the request, its postal address, its
e-mail address and its telephone (R112-11-1), and the reference under which to ask about it.
"""

from contracts.eservices import CANCELLED, DONE, IN_PROGRESS, NEW, REFUSED, WAITING_FOR_CITIZEN
from servicekit.clock import LEGAL_TIME_ZONE
from servicekit.mail import Notice

STATUS_LABELS = {
    NEW: "reçue",
    IN_PROGRESS: "en cours de traitement",
    WAITING_FOR_CITIZEN: "en attente d'un complément de votre part",
    DONE: "traitée",
    REFUSED: "refusée",
    CANCELLED: "annulée",
}

SIGNATURE = ("Ce message est envoyé automatiquement par les services en ligne de la Métropole "
             "et de ses communes ; pour toute question, écrivez au service ci-dessus en "
             "rappelant la référence de votre demande.")


def _moment(at):
    local = at.astimezone(LEGAL_TIME_ZONE)
    return f"{local:%d/%m/%Y} à {local:%H:%M}"


def _service_block(commune_name, handling_service, contact):
    lines = [f"Service chargé de votre demande : {handling_service}, {commune_name}",
             f"Adresse postale : {contact['address']}",
             f"Adresse électronique : {contact['email']}",
             f"Téléphone : {contact['phone']}"]
    if contact.get("opening_hours"):
        lines.append(f"Horaires : {contact['opening_hours']}")
    return "\n".join(lines)


def registration_acknowledgement(reference, form_title, submitted_at, commune_name,
                                 handling_service, contact, waiting_list_position=None):
    """The accusé d'enregistrement, sent as the request arrives (CRPA R112-11-2)."""
    waiting = ("" if waiting_list_position is None else
               f"\nToutes les places sont prises : votre inscription est sur liste d'attente, "
               f"en position {waiting_list_position}. Vous serez prévenu(e) si une place se "
               f"libère.\n")
    text = (
        f"Bonjour,\n\n"
        f"Votre demande « {form_title} » a bien été enregistrée le {_moment(submitted_at)} "
        f"sous la référence {reference}.\n{waiting}\n"
        f"{_service_block(commune_name, handling_service, contact)}\n\n"
        f"Un accusé de réception vous sera adressé dans un délai de dix jours ouvrés "
        f"(article L112-11 du code des relations entre le public et l'administration).\n\n"
        f"{SIGNATURE}\n")
    return Notice(f"Accusé d'enregistrement de votre demande {reference}", text)


def receipt_acknowledgement(reference, form_title, submitted_at, commune_name,
                            handling_service, contact):
    """The accusé de réception (CRPA L112-11, R112-11-1), within ten working days."""
    text = (
        f"Bonjour,\n\n"
        f"Votre demande « {form_title} », référence {reference}, a été reçue le "
        f"{_moment(submitted_at)} et est instruite par le service ci-dessous.\n\n"
        f"{_service_block(commune_name, handling_service, contact)}\n\n"
        f"Si votre demande est incomplète, le service vous indiquera les pièces ou "
        f"informations manquantes et le délai pour les fournir. Vous serez informé(e) par "
        f"message de chaque étape de son traitement.\n\n"
        f"Accusé de réception délivré en application des articles L112-11 et R112-11-1 du code "
        f"des relations entre le public et l'administration.\n\n"
        f"{SIGNATURE}\n")
    return Notice(f"Accusé de réception de votre demande {reference}", text)


def status_notice(reference, form_title, status, message, commune_name, handling_service,
                  contact):
    text = (f"Bonjour,\n\nVotre demande « {form_title} », référence {reference}, est "
            f"{STATUS_LABELS[status]}.\n")
    if message:
        text += f"\nMessage du service :\n{message}\n"
    if status == WAITING_FOR_CITIZEN:
        text += ("\nVous pouvez répondre depuis votre espace personnel, rubrique « Mes "
                 "demandes ».\n")
    text += f"\n{_service_block(commune_name, handling_service, contact)}\n\n{SIGNATURE}\n"
    return Notice(f"Votre demande {reference} : {STATUS_LABELS[status]}", text)


def message_notice(reference, form_title, message, commune_name, handling_service, contact):
    text = (f"Bonjour,\n\nLe service vous a écrit au sujet de votre demande « {form_title} », "
            f"référence {reference} :\n\n{message}\n\n"
            f"{_service_block(commune_name, handling_service, contact)}\n\n{SIGNATURE}\n")
    return Notice(f"Nouveau message sur votre demande {reference}", text)


def place_freed_notice(reference, camp_name, commune_name, handling_service, contact):
    text = (f"Bonjour,\n\nUne place s'est libérée pour « {camp_name} » : votre inscription "
            f"(référence {reference}) quitte la liste d'attente et est retenue.\n\n"
            f"{_service_block(commune_name, handling_service, contact)}\n\n{SIGNATURE}\n")
    return Notice(f"Une place s'est libérée : demande {reference}", text)
