"""The scenarios shipped with TéléAlerte: the alerts communes send most, ready to send, in
French. ``{{ commune }}`` and ``{{ name }}`` are filled in for each recipient; a commune adds
its own scenarios beside these."""

LIBRARY = (
    {
        "slug": "inondation", "title": "Risque d'inondation", "event": "Inondation",
        "category": "Met", "severity": "Severe", "urgency": "Expected",
        "instruction": "Montez à l'étage, coupez l'électricité, ne prenez pas votre voiture.",
        "sms": "Mairie de {{ commune }} : risque d'inondation. Montez à l'étage, ne prenez pas "
               "votre voiture. Infos : site de la mairie.",
        "email_subject": "Alerte inondation – {{ commune }}",
        "email_body": "Bonjour {{ name }},\n\nUn risque d'inondation concerne {{ commune }}. "
                      "Montez à l'étage, coupez l'électricité, ne prenez pas votre voiture et "
                      "suivez les consignes des secours.\n\nLa mairie",
        "voice": "Message de la mairie de {{ commune }}. Risque d'inondation. Montez à "
                 "l'étage et ne prenez pas votre voiture.",
    },
    {
        "slug": "canicule", "title": "Canicule", "event": "Canicule", "category": "Met",
        "severity": "Moderate", "urgency": "Expected",
        "instruction": "Buvez de l'eau, restez au frais, prenez des nouvelles de vos proches.",
        "sms": "Mairie de {{ commune }} : canicule. Buvez de l'eau, restez au frais. Personne "
               "isolée ? Appelez la mairie.",
        "email_subject": "Canicule – {{ commune }}",
        "email_body": "Bonjour {{ name }},\n\nUne canicule est annoncée. Buvez de l'eau, "
                      "restez au frais et prenez des nouvelles des personnes isolées.\n\n"
                      "La mairie",
        "voice": "Message de la mairie de {{ commune }}. Canicule annoncée. Buvez de l'eau et "
                 "restez au frais.",
    },
    {
        "slug": "accident-industriel", "title": "Accident industriel", "event":
        "Accident industriel", "category": "CBRNE", "severity": "Extreme",
        "urgency": "Immediate",
        "instruction": "Mettez-vous à l'abri dans un bâtiment, fermez portes et fenêtres, "
                       "n'allez pas chercher vos enfants à l'école.",
        "sms": "Mairie de {{ commune }} : accident industriel. Abritez-vous, fermez portes et "
               "fenêtres, n'allez pas chercher vos enfants.",
        "email_subject": "Alerte – accident industriel à {{ commune }}",
        "email_body": "Bonjour {{ name }},\n\nUn accident industriel est en cours. "
                      "Mettez-vous à l'abri, fermez portes et fenêtres, n'allez pas chercher "
                      "vos enfants à l'école.\n\nLa mairie",
        "voice": "Alerte. Accident industriel. Mettez-vous à l'abri et fermez portes et "
                 "fenêtres.",
    },
    {
        "slug": "coupure-eau", "title": "Coupure d'eau", "event": "Coupure d'eau",
        "category": "Infra", "severity": "Minor", "urgency": "Expected",
        "instruction": "Faites une réserve d'eau avant la coupure.",
        "sms": "Mairie de {{ commune }} : coupure d'eau prévue. Faites une réserve d'eau.",
        "email_subject": "Coupure d'eau – {{ commune }}",
        "email_body": "Bonjour {{ name }},\n\nUne coupure d'eau est prévue. Faites une "
                      "réserve d'eau avant la coupure.\n\nLa mairie",
        "voice": "Message de la mairie de {{ commune }}. Coupure d'eau prévue.",
    },
    {
        "slug": "exercice", "title": "Exercice", "event": "Exercice", "category": "Other",
        "severity": "Minor", "urgency": "Future",
        "instruction": "Ceci est un exercice : aucune action n'est demandée.",
        "sms": "EXERCICE – Mairie de {{ commune }} : ceci est un test du dispositif d'alerte.",
        "email_subject": "EXERCICE – test du dispositif d'alerte de {{ commune }}",
        "email_body": "Bonjour {{ name }},\n\nCeci est un exercice du dispositif d'alerte de "
                      "{{ commune }} : aucune action n'est demandée.\n\nLa mairie",
        "voice": "Exercice. Ceci est un test du dispositif d'alerte de {{ commune }}.",
    },
)
