"""Each buyer's contracts' essential data (DECP), kept by the portal from procurement's
``contract.awarded``: a buyer publishes the essential data of its contracts on its buyer
profile and in open data (Code de la commande publique R2196-1; arrêté du 22 décembre 2022).

One dataset per buyer, published under the Licence Ouverte as the consolidated DECP are, with
one CSV resource in the columns of those files. Each award adds a version holding every
contract so far; an award already in it changes nothing, so a redelivered event is harmless.
"""

import csv
import io
import uuid

from sqlalchemy import select

from contracts.communes import METROPOLE, partner_ids
from contracts.opendata import LICENCE_OUVERTE, PUBLISHED
from services.opendata import catalog, ingest, rules
from services.opendata.models import Dataset, Publisher, Resource

MAINTAINER = "decp"
SCHEMA_NAME = "decp"
FILE_NAME = "decp.csv"


def decp_row(award):
    """The award in the DECP columns (``schemas/decp.json``)."""
    return {
        "id": award["contract_id"],
        "acheteur.id": award["buyer_siret"],
        "acheteur.nom": award["buyer_name"],
        "nature": award["nature"],
        "objet": award["object"],
        "codeCPV": award["cpv"],
        "procedure": award["procedure"],
        "lieuExecution.code": award["place_code"],
        "lieuExecution.typeCode": award["place_type"],
        "dureeMois": str(award["duration_months"]),
        "dateNotification": award["notified_on"].isoformat(),
        "datePublicationDonnees": award["published_on"].isoformat(),
        "montant": f"{award['amount']:.2f}",
        "formePrix": award["price_form"],
        "titulaires": "|".join(f"{h['id_type']}:{h['id']}" for h in award["holders"]),
    }


def buyer_publisher(award):
    if award["buyer_kind"] == METROPOLE:
        return METROPOLE
    return partner_ids(award["commune"])[award["buyer_kind"]]


def record_award(session, files, award, now):
    """Adds the award to its buyer's DECP; returns the new version, or None when the
    contract was already there."""
    dataset, resource = _buyer_decp(session, buyer_publisher(award), now)
    current = catalog.current_version(session, resource)
    previous = files.get(current.sha256) if current else b""
    row = decp_row(award)
    if current and row["id"] in {r["id"] for r in csv.DictReader(
            io.StringIO(previous.decode("utf-8")))}:
        return None
    added = io.StringIO()
    writer = csv.DictWriter(added, fieldnames=list(row), lineterminator="\r\n")
    if not current:
        writer.writeheader()
    writer.writerow(row)
    content = previous + added.getvalue().encode("utf-8")
    return ingest.ingest_version(session, files, dataset, resource, io.BytesIO(content),
                                 FILE_NAME, None, now)


def _buyer_decp(session, publisher_id, now):
    dataset = session.scalars(select(Dataset).where(
        Dataset.publisher_id == publisher_id, Dataset.maintained_by == MAINTAINER)).first()
    if dataset is not None:
        return dataset, catalog.resources_of(session, dataset)[0]
    publisher = session.get(Publisher, publisher_id)
    dataset = Dataset(
        id=uuid.uuid4(), publisher_id=publisher_id,
        title=f"Données essentielles des marchés publics — {publisher.name}",
        description=(f"Les données essentielles des marchés publics attribués par "
                     f"{publisher.name}, tenues à jour par la plateforme à chaque attribution "
                     "(article R2196-1 du code de la commande publique, arrêté du 22 décembre "
                     "2022)."),
        keywords=["marchés publics", "commande publique", "DECP"], theme="GOVE",
        licence=rules.licence_of({"code": LICENCE_OUVERTE}), frequency="irregular",
        temporal_start=None, temporal_end=None, spatial=None,
        contact={"name": publisher.name, "email": None}, state=PUBLISHED,
        maintained_by=MAINTAINER, created_at=now, published_at=now,
    )
    session.add(dataset)
    resource = Resource(id=uuid.uuid4(), dataset_id=dataset.id, title="Marchés attribués",
                        description="Un marché par ligne, dans les colonnes des DECP "
                                    "consolidées.",
                        format="csv", schema_name=SCHEMA_NAME, schema_descriptor=None,
                        created_at=now)
    session.add(resource)
    session.flush()
    return dataset, resource
