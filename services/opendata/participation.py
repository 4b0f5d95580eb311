"""A closed participatory process's results, kept by the portal from participation's
``process.closed``: the consultation, participatory budget or petition of a commune (or of its
CCAS) published as open data once its voting closes.

One dataset per process, its id being the process's, published under the Licence Ouverte with
one CSV resource in the ``participation/resultats`` schema: a proposal a row, in rank order.
A process's results are final, so the dataset has one version; a process already there
changes nothing, so a redelivered event is harmless.
"""

import csv
import io
import uuid

from contracts.communes import partner_ids
from contracts.opendata import LICENCE_OUVERTE, PUBLISHED
from services.opendata import ingest, rules
from services.opendata.models import Dataset, Publisher, Resource

MAINTAINER = "participation"
SCHEMA_NAME = "participation/resultats"
FILE_NAME = "resultats.csv"
COLUMNS = ("rang", "proposition", "votes", "montant", "retenu")
TITLE_LENGTH = 200  # Dataset.title
# Each kind's name in French, and "closed" agreeing with it.
KINDS = {
    "consultation": ("consultation", "close"),
    "participatory_budget": ("budget participatif", "clos"),
    "petition": ("pétition", "close"),
}
_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre")


def result_rows(results):
    """The proposals in the ``participation/resultats`` columns, in rank order (a tie keeps
    the order the event gave)."""
    return [{
        "rang": str(result["rank"]),
        "proposition": result["title"],
        "votes": str(result["votes"]),
        "montant": "" if result["budget_amount"] is None else f"{result['budget_amount']:.2f}",
        "retenu": "true" if result["selected"] else "false",
    } for result in sorted(results, key=lambda result: result["rank"])]


def record_results(session, files, results, now):
    """Publishes the process's results (``process.closed``'s data) as a dataset of its
    publisher; returns its version, or None when the process was already recorded."""
    dataset_id = uuid.UUID(str(results["process_id"]))
    if session.get(Dataset, dataset_id) is not None:
        return None
    dataset, resource = _results_dataset(session, dataset_id, results, now)
    content = io.StringIO()
    writer = csv.DictWriter(content, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(result_rows(results["results"]))
    return ingest.ingest_version(session, files, dataset, resource,
                                 io.BytesIO(content.getvalue().encode("utf-8")), FILE_NAME,
                                 None, now)


def description(results):
    """What the process was and how it ended, in French: its kind, its closing date, and a
    participatory budget's budget or a petition's threshold and whether it was reached."""
    label, closed = KINDS[results["kind"]]
    article = "du" if results["kind"] == "participatory_budget" else "de la"
    text = (f"Les résultats {article} {label} « {results['title']} », {closed} le "
            f"{french_date(results['closed_on'])} : ")
    if results["kind"] == "petition":
        text += _count(results["ballots"], "signature")
        if results["threshold"] is not None:
            reached = "atteint" if results["ballots"] >= results["threshold"] else "non atteint"
            text += f" pour un seuil de {results['threshold']}, seuil {reached}"
    else:
        text += _count(results["ballots"], "participant")
    if results["kind"] == "participatory_budget" and results["budget"] is not None:
        text += (f", pour un budget de {euros(results['budget'])} ; les projets retenus sont "
                 "ceux financés dans la limite du budget")
    return text + (". Une ligne par proposition, dans l'ordre de son rang, avec ses votes, "
                   "son montant s'il en a un et si elle est retenue.")


def french_date(day):
    """``1er mars 2025``, ``12 mars 2025``."""
    return f"{'1er' if day.day == 1 else day.day} {_MONTHS[day.month - 1]} {day.year}"


def euros(amount):
    """``150 000,00 €``."""
    return f"{amount:,.2f} €".replace(",", " ").replace(".", ",")


def _count(number, noun):
    return f"{number} {noun}{'s' if number > 1 else ''}"


def _title(process_title):
    title = f"Résultats — {process_title}"
    return title if len(title) <= TITLE_LENGTH else title[:TITLE_LENGTH - 1] + "…"


def _results_dataset(session, dataset_id, results, now):
    publisher = session.get(Publisher,
                            partner_ids(results["commune"])[results["publisher_kind"]])
    label, _ = KINDS[results["kind"]]
    dataset = Dataset(
        id=dataset_id, publisher_id=publisher.id, title=_title(results["title"]),
        description=description(results),
        keywords=["participation citoyenne", label], theme="GOVE",
        licence=rules.licence_of({"code": LICENCE_OUVERTE}), frequency="irregular",
        temporal_start=None, temporal_end=results["closed_on"], spatial=None,
        contact={"name": publisher.name, "email": None}, state=PUBLISHED,
        maintained_by=MAINTAINER, created_at=now, published_at=now,
    )
    session.add(dataset)
    # A concurrent delivery recording the same process fails here, before any table exists.
    session.flush()
    resource = Resource(id=uuid.uuid4(), dataset_id=dataset.id, title="Résultats",
                        description="Une proposition par ligne, dans l'ordre de son rang.",
                        format="csv", schema_name=SCHEMA_NAME, schema_descriptor=None,
                        created_at=now)
    session.add(resource)
    session.flush()
    return dataset, resource
