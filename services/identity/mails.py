"""The e-mails identity sends to citizens and companies, in French: the link that confirms an
address, and the notice that an address already has an account.

They never repeat what the sign-up form said (names, company name, SIRET): whoever signs up
may type an address that is not theirs, and the message must carry nothing of theirs to its
owner.
"""

from dataclasses import dataclass

from contracts.identity import CITIZEN, COMPANY
from services.identity import rules

SIGNATURE = (
    "—\n"
    "Services numériques communs de Montpellier Méditerranée Métropole et de ses 31 "
    "communes.\n"
    "Ce message est envoyé automatiquement ; merci de ne pas y répondre."
)
HOURS_VALID = int(rules.VERIFICATION_LIFETIME.total_seconds() // 3600)
# What an account is called, and what it is for, by role; other accounts are just "un compte".
ACCOUNT_OF = {CITIZEN: "un compte citoyen", COMPANY: "un compte entreprise"}
USE_OF = {
    CITIZEN: "Ce compte unique sert dans chacune des 31 communes.",
    COMPANY: "Ce compte unique sert à retirer les dossiers de consultation et à déposer des "
             "offres auprès de la Métropole et de chacune des 31 communes.",
}


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str


def verification(link, role):
    """To a new account's address, or to an address whose holder asked for a new link;
    ``role`` is the account's (citizen or company)."""
    return Mail(
        "Confirmez votre adresse e-mail",
        "Bonjour,\n\n"
        f"{ACCOUNT_OF[role].capitalize()} a été créé avec cette adresse sur les services "
        f"numériques des communes de la Métropole. {USE_OF[role]}\n\n"
        f"Pour confirmer votre adresse, ouvrez ce lien dans les {HOURS_VALID} heures :\n\n"
        f"{link}\n\n"
        "Tant que l'adresse n'est pas confirmée, le compte ne permet pas de se connecter. "
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n\n"
        f"{SIGNATURE}\n",
    )


def already_registered(role, link=None):
    """To an address that has an account already (``role`` is that account's): someone tried
    to sign up with it again, as a citizen or a company. ``link`` confirms the address when
    the account has not been confirmed yet."""
    if link is None:
        news = (
            "Vous pouvez vous connecter avec cette adresse et le mot de passe de votre compte ; "
            "aucun nouveau compte n'a été créé et le vôtre n'a pas changé."
        )
    else:
        news = (
            "Aucun nouveau compte n'a été créé. Votre adresse n'est pas encore confirmée : "
            f"pour la confirmer, ouvrez ce lien dans les {HOURS_VALID} heures :\n\n"
            f"{link}\n\n"
            "Le mot de passe reste celui choisi lors de la première inscription."
        )
    return Mail(
        "Vous avez déjà un compte",
        "Bonjour,\n\n"
        "Une inscription vient d'être demandée avec cette adresse, qui a déjà "
        f"{ACCOUNT_OF.get(role, 'un compte')} sur les services numériques des communes de la "
        "Métropole. Une même adresse ne sert qu'à un seul compte.\n\n"
        f"{news}\n\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n\n"
        f"{SIGNATURE}\n",
    )
