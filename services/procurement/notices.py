"""The e-mails companies that withdrew a consultation's file receive, in French: a changed
document, a published answer. Every company gets the same information at the same time (the
equal treatment of candidates)."""

from servicekit.mail import Notice
from services.procurement import rules

SIGNATURE = ("Message envoyé par la plateforme des marchés publics de la Métropole et de ses "
             "communes, parce que votre entreprise a retiré le dossier de cette consultation.")


def _heading(consultation):
    return (f"Consultation {consultation.reference} : {consultation.object}\n"
            f"Date limite de remise des offres : "
            f"{rules.in_paris(consultation.bid_deadline):%d/%m/%Y à %H:%M} (heure de Paris)")


def document_changed(consultation, document):
    text = (f"Bonjour,\n\n{_heading(consultation)}\n\n"
            f"Le document « {document.name} » du dossier de consultation a été modifié "
            f"(version {document.version}). Téléchargez-le de nouveau avant de remettre "
            f"votre offre.\n\n{SIGNATURE}\n")
    return Notice(f"Consultation {consultation.reference} : dossier modifié", text)


def question_answered(consultation, question):
    text = (f"Bonjour,\n\n{_heading(consultation)}\n\n"
            f"Une question a été posée sur la consultation :\n{question.text}\n\n"
            f"Réponse de l'acheteur :\n{question.answer}\n\n{SIGNATURE}\n")
    return Notice(f"Consultation {consultation.reference} : réponse à une question", text)
