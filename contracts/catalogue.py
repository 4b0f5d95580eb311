"""The seven applications of Article 1 of the agreement, with their stable codes."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Application:
    code: str
    name: str


APPLICATIONS = (
    Application("eadmin", "Administration électronique"),
    Application("eservices", "Services en ligne aux usagers"),
    Application("procurement", "Dématérialisation des procédures de marchés publics"),
    Application("opendata", "Plateforme Open Data"),
    Application("participation", "Plateforme de participation citoyenne"),
    Application("alerting", "Plateforme de TéléAlerte"),
    Application("accessibility", "Échanges entre personnes sourdes, malentendantes et entendantes"),
)

APPLICATION_CODES = tuple(application.code for application in APPLICATIONS)

# Every Nameko service of the suite, in the order the health report lists them.
SERVICES = ("identity", "subscriptions", "billing", *APPLICATION_CODES)
