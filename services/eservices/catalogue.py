"""The catalogue of tele-services the agreement offers every member commune (Art. 2): ten
form definitions in the wire shape of ``contracts.eservices.FormDefinitionSchema``.

Field names are the API citizens' submissions use; labels and descriptions are what the
citizen reads, in French. A field marked ``personal`` is erased when its author deletes their
account (GDPR art. 17); the rest stays in the commune's records until the request's retention
ends.
"""

import copy

from contracts.eservices import (
    CANCELLED,
    COPY_TYPES,
    DONE,
    IN_PROGRESS,
    MAX_ATTACHMENT_BYTES,
    NEW,
    REFUSED,
    RELATIONSHIPS,
    WAITING_FOR_CITIZEN,
)

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"

STANDARD_TRANSITIONS = tuple(
    {"from": source, "to": target}
    for source, target in (
        (NEW, IN_PROGRESS),
        (NEW, REFUSED),
        (NEW, CANCELLED),
        (IN_PROGRESS, WAITING_FOR_CITIZEN),
        (WAITING_FOR_CITIZEN, IN_PROGRESS),
        (IN_PROGRESS, DONE),
        (IN_PROGRESS, REFUSED),
        (WAITING_FOR_CITIZEN, REFUSED),
        (IN_PROGRESS, CANCELLED),
        (WAITING_FOR_CITIZEN, CANCELLED),
    )
)

# The civil-status register is the record: a request for a copy only serves to deliver it,
# and a year covers any complaint about the delivery.
CIVIL_STATUS_RETENTION_DAYS = 365
# Urbanism records are kept long: the declaration proves the works started in time, which keeps
# the permit alive (code de l'urbanisme R424-17), and is looked for again at the conformity
# check and in disputes about the building years later.
URBANISM_RETENTION_DAYS = 3650
# A street fault often comes back: two years let the technical services see it recur.
INTERVENTION_RETENTION_DAYS = 730
ORDINARY_RETENTION_DAYS = 365


def _field(name, label, field_type, *, required=False, personal=False, choices=None,
           max_length=None, minimum=None, maximum=None):
    return {"name": name, "label": label, "type": field_type, "required": required,
            "choices": list(choices) if choices else None, "max_length": max_length,
            "minimum": minimum, "maximum": maximum, "personal": personal}


def _attachment(name, label, content_types, *, required=False, personal=False):
    return {"name": name, "label": label, "required": required,
            "content_types": list(content_types), "max_bytes": MAX_ATTACHMENT_BYTES,
            "personal": personal}


def _form(slug, title, description, category, kind, handling_service, retention_days,
          fields, attachments=()):
    return {"slug": slug, "version": 1, "title": title, "description": description,
            "category": category, "kind": kind, "handling_service": handling_service,
            "retention_days": retention_days, "fields": list(fields),
            "attachments": list(attachments),
            "transitions": [dict(transition) for transition in STANDARD_TRANSITIONS],
            "commune": None}


def _relationship():
    return _field("relationship", "Votre lien avec la personne concernée", "choice",
                  required=True, choices=RELATIONSHIPS)


def _names_of_the_person():
    return [
        _field("family_name", "Nom de famille de la personne concernée", "text",
               required=True, personal=True, max_length=100),
        _field("given_names", "Prénoms de la personne concernée", "text", required=True,
               personal=True, max_length=200),
    ]


def _act_copy(slug, title, act_date_label, extra_fields=()):
    return _form(
        slug, title,
        "Copie intégrale ou extrait, avec ou sans filiation, envoyé par courriel ou par "
        "courrier. La copie intégrale et l'extrait avec filiation sont réservés à la "
        "personne concernée, à son conjoint, à ses ascendants, descendants ou à son "
        "représentant légal.",
        "civil_status", "civil_status_copy", "Service état civil",
        CIVIL_STATUS_RETENTION_DAYS,
        [
            _field("copy_type", "Type de document", "choice", required=True,
                   choices=COPY_TYPES),
            _relationship(),
            *_names_of_the_person(),
            *extra_fields,
            _field("act_date", act_date_label, "date", required=True),
            _field("delivery", "Mode de délivrance", "choice", required=True,
                   choices=("email", "post")),
            _field("postal_address", "Adresse postale de réception (envoi par courrier)",
                   "address", personal=True),
        ],
        [_attachment("proof_of_link", "Justificatif de votre lien avec la personne concernée",
                     (PDF, JPEG, PNG), personal=True)],
    )


CATALOGUE = (
    _act_copy("acte-de-naissance", "Demande de copie d'acte de naissance",
              "Date de naissance"),
    _act_copy("acte-de-mariage", "Demande de copie d'acte de mariage", "Date du mariage",
              [_field("spouse_family_name", "Nom de famille du conjoint", "text",
                      personal=True, max_length=100)]),
    _act_copy("acte-de-deces", "Demande de copie d'acte de décès", "Date du décès"),
    _form(
        "livret-de-famille", "Demande de duplicata de livret de famille",
        "Un second livret de famille en cas de perte, de vol, de divorce ou de séparation. "
        "Il est délivré aux titulaires du livret ou à leur représentant légal, par courrier.",
        "civil_status", "civil_status_copy", "Service état civil",
        CIVIL_STATUS_RETENTION_DAYS,
        [
            _relationship(),
            *_names_of_the_person(),
            _field("reason", "Motif de la demande", "choice", required=True,
                   choices=("loss", "theft", "divorce", "other")),
            _field("postal_address", "Adresse postale de réception", "address",
                   required=True, personal=True),
        ],
        [_attachment("identity_document", "Pièce d'identité du demandeur", (PDF, JPEG, PNG),
                     required=True, personal=True)],
    ),
    _form(
        "demande-intervention", "Demande d'intervention des services municipaux",
        "Signaler un problème sur la voie publique : chaussée, éclairage, propreté, espaces "
        "verts, mobilier urbain.",
        "municipal_services", "intervention", "Services techniques",
        INTERVENTION_RETENTION_DAYS,
        [
            _field("category", "Nature du problème", "choice", required=True,
                   choices=("voirie", "eclairage", "proprete", "espaces-verts",
                            "mobilier-urbain", "autre")),
            _field("description", "Description", "textarea", required=True, max_length=2000),
            _field("location", "Emplacement sur la carte", "geolocation"),
            _field("address", "Adresse", "address"),
        ],
        [_attachment("photo", "Photo", (JPEG, PNG))],
    ),
    _form(
        "inscription-centre-vacances", "Inscription en centre de vacances",
        "Inscrire un enfant à un séjour du centre de vacances. Quand le séjour est complet, "
        "l'inscription est placée sur liste d'attente.",
        "childhood", "holiday_camp", "Service enfance jeunesse", ORDINARY_RETENTION_DAYS,
        [
            _field("camp_id", "Séjour", "reference", required=True),
            _field("child_family_name", "Nom de famille de l'enfant", "text", required=True,
                   personal=True, max_length=100),
            _field("child_given_names", "Prénoms de l'enfant", "text", required=True,
                   personal=True, max_length=200),
            _field("child_birth_date", "Date de naissance de l'enfant", "date",
                   required=True, personal=True),
            _field("guardian_phone", "Téléphone du responsable légal", "phone",
                   required=True, personal=True),
        ],
        [_attachment("vaccination_record", "Carnet de vaccination", (PDF, JPEG, PNG),
                     required=True, personal=True)],
    ),
    _form(
        "stationnement-demenagement", "Demande de stationnement pour un déménagement",
        "Réserver un emplacement de stationnement sur la voie publique pour un déménagement, "
        "sept jours au plus.",
        "roads", "move_parking", "Service voirie", ORDINARY_RETENTION_DAYS,
        [
            _field("address", "Adresse de l'emplacement", "address", required=True),
            _field("starts_on", "Premier jour", "date", required=True),
            _field("ends_on", "Dernier jour", "date", required=True),
            _field("length_m", "Longueur à réserver (mètres)", "decimal", required=True,
                   minimum="5", maximum="40"),
            _field("vehicle_registration", "Immatriculation du véhicule", "text",
                   personal=True, max_length=20),
        ],
    ),
    _form(
        "declaration-ouverture-chantier", "Déclaration d'ouverture de chantier",
        "Déclarer l'ouverture du chantier d'un permis de construire ou d'aménager "
        "(formulaire cerfa n° 13407).",
        "urbanism", "building_site", "Service urbanisme", URBANISM_RETENTION_DAYS,
        [
            _field("permit_number", "Numéro du permis", "text", required=True, max_length=30),
            _field("opening_date", "Date d'ouverture du chantier", "date", required=True),
            _field("address", "Adresse du chantier", "address", required=True),
            _field("applicant_name", "Nom du bénéficiaire du permis", "text", required=True,
                   personal=True, max_length=200),
        ],
        [_attachment("cerfa_13407", "Déclaration cerfa n° 13407 signée", (PDF,),
                     required=True)],
    ),
    _form(
        "rendez-vous", "Demande de rendez-vous",
        "Prendre rendez-vous avec un élu ou un service municipal.",
        "appointments", "appointment", "Accueil de la mairie", ORDINARY_RETENTION_DAYS,
        [
            _field("slot_id", "Créneau", "reference", required=True),
            _field("subject", "Objet du rendez-vous", "textarea", required=True,
                   max_length=1000),
            _field("phone", "Téléphone", "phone", personal=True),
        ],
    ),
    _form(
        "contact", "Formulaire de contact",
        "Écrire à la mairie.",
        "contact", "contact", "Accueil de la mairie", ORDINARY_RETENTION_DAYS,
        [
            _field("subject", "Objet", "text", required=True, max_length=200),
            _field("message", "Message", "textarea", required=True, max_length=5000),
        ],
    ),
)

_BY_SLUG = {form["slug"]: form for form in CATALOGUE}


def definition(slug):
    """The catalogue's definition of ``slug`` (``KeyError`` if it has none), as a copy: what
    a caller changes never reaches the catalogue."""
    return copy.deepcopy(_BY_SLUG[slug])
