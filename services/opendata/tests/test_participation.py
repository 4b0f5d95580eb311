"""A closed participatory process's results become a published dataset of its commune (or
CCAS), in rank order and typed by the ``participation/resultats`` schema, once however often
``process.closed`` is delivered."""

import csv
import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.events import PROCESS_CLOSED
from servicekit.database import make_engine, migrate
from servicekit.files import FileStore
from servicekit.outbox import make_envelope
from services.opendata import catalog, ingest, participation
from services.opendata.models import Dataset, Version
from services.opendata.service import OpendataService
from services.opendata.tableschema import RowChecker, known_schema

NOW = datetime(2025, 3, 13, 9, 30, tzinfo=UTC)
LAVERUNE = "34134"


def result(rank, title, votes, amount=None, selected=False):
    return {"proposal_id": uuid.uuid4(), "title": title, "votes": votes,
            "budget_amount": None if amount is None else Decimal(amount), "rank": rank,
            "selected": selected}


def closed(**changes):
    """``process.closed``'s data as the handler receives it (loaded by the contract)."""
    return {
        "process_id": uuid.uuid4(), "commune": LAVERUNE, "publisher_kind": "commune",
        "title": "Budget participatif 2025", "kind": "participatory_budget",
        "closed_on": date(2025, 3, 12), "budget": Decimal("150000.00"), "ballots": 412,
        "threshold": None,
        # Given out of order: the dataset lists them by rank.
        "results": [result(3, "Jardin partagé", 98, "40000.00"),
                    result(1, "Aire de jeux du parc", 187, "90000.00", selected=True),
                    result(2, "Pistes cyclables", 127, "55000.00", selected=True)],
        **changes,
    }


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'opendata.sqlite3'}")
    migrate(engine, "services.opendata")
    with Session(engine) as session, session.begin():
        catalog.ensure_publishers(session)
    return engine


@pytest.fixture
def files(tmp_path):
    return FileStore(tmp_path / "files")


def record(engine, files, data):
    with Session(engine) as session, session.begin():
        version = participation.record_results(session, files, data, NOW)
        return None if version is None else (version.number, version.row_count)


def published(engine, process_id):
    """The dataset as anyone reads it, and its records in file order."""
    with Session(engine) as session:
        dataset = catalog.public_dataset(session, process_id)
        view = catalog.dataset_view(session, dataset, NOW.date())
        (resource,) = catalog.resources_of(session, dataset)
        page = ingest.query_records(session, resource, {"filter": [], "limit": 100})
        return view, page.results


def test_the_results_become_a_published_dataset_in_rank_order(engine, files):
    data = closed()
    assert record(engine, files, data) == (1, 3)

    dataset, rows = published(engine, data["process_id"])
    assert dataset["id"] == data["process_id"]
    assert dataset["publisher"]["id"] == f"commune-{LAVERUNE}"
    assert dataset["title"] == "Résultats — Budget participatif 2025"
    assert dataset["keywords"] == ["participation citoyenne", "budget participatif"]
    assert (dataset["theme"], dataset["licence"]["code"], dataset["state"],
            dataset["maintained_by"]) == ("GOVE", "lo-2.0", "published", "participation")
    assert dataset["temporal_end"] == date(2025, 3, 12) and not dataset["overdue"]
    assert "budget participatif" in dataset["description"]
    assert "12 mars 2025" in dataset["description"]
    assert "150 000,00 €" in dataset["description"]
    (resource,) = dataset["resources"]
    assert resource["schema_name"] == "participation/resultats"
    assert resource["current_version"]["file_name"] == "resultats.csv"
    assert [field["name"] for field in resource["table_schema"]["fields"]] == [
        "rang", "proposition", "votes", "montant", "retenu"]
    assert rows == [
        {"rang": 1, "proposition": "Aire de jeux du parc", "votes": 187, "montant": 90000,
         "retenu": True},
        {"rang": 2, "proposition": "Pistes cyclables", "votes": 127, "montant": 55000,
         "retenu": True},
        {"rang": 3, "proposition": "Jardin partagé", "votes": 98, "montant": 40000,
         "retenu": False}]


def test_the_stored_file_keeps_the_amounts_exact(engine, files):
    data = closed()
    record(engine, files, data)
    with Session(engine) as session:
        (version,) = session.scalars(select(Version)).all()
        stored = files.get(version.sha256).decode("utf-8")
    assert list(csv.reader(io.StringIO(stored))) == [
        ["rang", "proposition", "votes", "montant", "retenu"],
        ["1", "Aire de jeux du parc", "187", "90000.00", "true"],
        ["2", "Pistes cyclables", "127", "55000.00", "true"],
        ["3", "Jardin partagé", "98", "40000.00", "false"]]


def test_the_same_process_twice_is_one_dataset_with_one_version(engine, files):
    data = closed()
    assert record(engine, files, data) == (1, 3)
    assert record(engine, files, data) is None
    # Redelivered under another event id, with results that changed meanwhile: still once.
    assert record(engine, files, {**data, "results": data["results"][:1]}) is None
    with Session(engine) as session:
        assert len(session.scalars(select(Dataset)).all()) == 1
        assert len(session.scalars(select(Version)).all()) == 1
    assert len(published(engine, data["process_id"])[1]) == 3


def test_a_petition_says_its_threshold_and_whether_it_was_reached(engine, files):
    reached = closed(kind="petition", title="Pour un passage piéton rue de la Gare",
                     budget=None, ballots=612, threshold=500,
                     results=[result(1, "Pour un passage piéton rue de la Gare", 612)])
    # As participation sends a petition without proposals: its signatures are the ballots.
    missed = closed(kind="petition", title="Ouvrir la piscine le dimanche", budget=None,
                    ballots=120, threshold=500, publisher_kind="ccas", results=[])
    record(engine, files, reached)
    record(engine, files, missed)

    dataset, rows = published(engine, reached["process_id"])
    assert dataset["keywords"] == ["participation citoyenne", "pétition"]
    assert "612 signatures pour un seuil de 500, seuil atteint" in dataset["description"]
    assert rows == [{"rang": 1, "proposition": "Pour un passage piéton rue de la Gare",
                     "votes": 612, "montant": None, "retenu": False}]
    dataset, rows = published(engine, missed["process_id"])
    assert dataset["publisher"]["id"] == f"ccas-{LAVERUNE}"
    assert "120 signatures pour un seuil de 500, seuil non atteint" in dataset["description"]
    assert rows == []


def test_a_consultation_without_amounts_leaves_montant_empty(engine, files):
    data = closed(kind="consultation", title="Aménagement de la place", budget=None,
                  ballots=1, results=[result(1, "Une fontaine", 1), result(1, "Des bancs", 1),
                                      result(3, "Un kiosque", 0)])
    assert record(engine, files, data) == (1, 3)

    dataset, rows = published(engine, data["process_id"])
    assert dataset["keywords"] == ["participation citoyenne", "consultation"]
    assert "consultation « Aménagement de la place », close le 12 mars 2025 : 1 participant." \
        in dataset["description"]
    assert "budget de" not in dataset["description"]
    # A tie shares its rank and keeps the order the event gave.
    assert [(row["rang"], row["proposition"], row["montant"]) for row in rows] == [
        (1, "Une fontaine", None), (1, "Des bancs", None), (3, "Un kiosque", None)]
    with Session(engine) as session:
        (version,) = session.scalars(select(Version)).all()
        stored = list(csv.DictReader(io.StringIO(files.get(version.sha256).decode())))
    assert [row["montant"] for row in stored] == ["", "", ""]


def test_a_process_without_proposals_is_published_empty(engine, files):
    data = closed(kind="consultation", budget=None, ballots=0, results=[])
    assert record(engine, files, data) == (1, 0)
    assert published(engine, data["process_id"])[1] == []


def test_a_long_title_is_cut_to_the_datasets_length(engine, files):
    data = closed(title="Réaménagement " * 30)
    record(engine, files, data)
    title = published(engine, data["process_id"])[0]["title"]
    assert len(title) == 200 and title.endswith("…")


def test_the_rows_pass_their_schema():
    checker = RowChecker(known_schema("participation/resultats"))
    assert checker.check_header(list(participation.COLUMNS)) == []
    for row in participation.result_rows(closed()["results"]):
        assert checker.check(2, row)[1] == []


# -- through the broker, as participation's relay publishes the event


@pytest.mark.broker
def test_a_process_closed_event_delivered_twice_publishes_one_dataset(container_factory,
                                                                      suite_config):
    container = container_factory(OpendataService, suite_config)
    container.start()
    data = closed()
    envelope = make_envelope(PROCESS_CLOSED, {
        **data, "closed_on": "2025-03-12", "budget": "150000.00",
        "results": [{**r, "proposal_id": str(r["proposal_id"]),
                     "budget_amount": str(r["budget_amount"])} for r in data["results"]],
    }, NOW, LAVERUNE)
    dispatch = event_dispatcher(suite_config)
    # The same event redelivered, then published again under another id: one dataset.
    for body in (envelope, envelope, {**envelope, "event_id": str(uuid.uuid4())}):
        with entrypoint_waiter(container, "on_process_closed", timeout=10):
            dispatch(PROCESS_CLOSED.producer, PROCESS_CLOSED.name, body)

    with ServiceRpcProxy("opendata", suite_config, timeout=10) as rpc:
        found = rpc.search_datasets({"publisher": f"commune-{LAVERUNE}",
                                     "q": "participation"})
        assert found["total_count"] == 1
        (dataset,) = found["results"]
        assert dataset["id"] == str(data["process_id"])
        (resource,) = dataset["resources"]
        assert [v["number"] for v in resource["versions"]] == [1]
        page = rpc.records(dataset["id"], resource["id"], {"sort": "rang"})
    assert [(r["rang"], r["proposition"], r["retenu"]) for r in page["results"]] == [
        (1, "Aire de jeux du parc", True), (2, "Pistes cyclables", True),
        (3, "Jardin partagé", False)]
