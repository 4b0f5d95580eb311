"""An upload becomes a version, or is refused whole: every row checked against the declared
schema (or one inferred), any encoding and delimiter read, UTF-8 stored, nothing left behind
by a refusal; a new upload never overwrites the previous version."""

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from contracts.errors import InvalidRows
from servicekit.database import make_engine, migrate
from servicekit.files import FileStore
from services.opendata import catalog, decp, ingest
from services.opendata.models import Version

NOW = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
SCHEMA = {"fields": [
    {"name": "commune", "type": "string", "constraints": {"required": True,
                                                          "pattern": "^[0-9]{5}$"}},
    {"name": "montant", "type": "number", "constraints": {"minimum": 0}},
    {"name": "date", "type": "date"},
    {"name": "objet", "type": "string"},
]}
GOOD = "commune;montant;date;objet\r\n34134;1500.50;2024-01-15;Réfection école\r\n" \
       "34172;82000;2024-02-01;Cantine €\r\n"


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


def new_resource(engine, fmt="csv", table_schema=None):
    with Session(engine) as session, session.begin():
        dataset = catalog.create_dataset(session, "34134", {
            "publisher": "commune", "title": "Subventions", "description": "Versées.",
            "keywords": [], "theme": "ECON", "licence": {"code": "lo-2.0"},
            "frequency": "annual", "temporal_start": None, "temporal_end": None,
            "spatial": None, "contact": {"name": "Mairie", "email": "mairie@laverune.fr"},
        }, None, NOW)
        resource = catalog.add_resource(session, dataset, {
            "title": "Subventions", "description": None, "format": fmt,
            "table_schema": table_schema}, NOW)
        return dataset.id, resource.id


def upload(engine, files, ids, content, name="upload.csv"):
    with Session(engine) as session, session.begin():
        dataset = catalog.commune_dataset(session, "34134", ids[0])
        resource = catalog.resource_of(session, dataset, ids[1])
        version = ingest.ingest_version(session, files, dataset, resource,
                                        io.BytesIO(content), name, "agent", NOW)
        return {"number": version.number, "rows": version.row_count, "sha256": version.sha256,
                "encoding": version.encoding, "delimiter": version.delimiter,
                "table": version.records_table, "schema": version.table_schema}


def records(engine, ids, **query):
    with Session(engine) as session:
        dataset = catalog.commune_dataset(session, "34134", ids[0])
        resource = catalog.resource_of(session, dataset, ids[1])
        return ingest.query_records(session, resource, {"filter": [], "limit": 100, **query})


def test_a_windows_1252_file_with_semicolons_is_stored_as_utf8_with_commas(engine, files):
    ids = new_resource(engine, table_schema={"descriptor": SCHEMA})
    version = upload(engine, files, ids, GOOD.encode("cp1252"))
    assert (version["number"], version["rows"]) == (1, 2)
    assert (version["encoding"], version["delimiter"]) == ("cp1252", ";")
    stored = files.get(version["sha256"]).decode("utf-8")
    assert list(csv.reader(io.StringIO(stored)))[1:] == [
        ["34134", "1500.50", "2024-01-15", "Réfection école"],
        ["34172", "82000", "2024-02-01", "Cantine €"]]
    page = records(engine, ids, sort="-montant")
    assert page.results == [
        {"commune": "34172", "montant": 82000, "date": "2024-02-01", "objet": "Cantine €"},
        {"commune": "34134", "montant": 1500.5, "date": "2024-01-15",
         "objet": "Réfection école"}]


def test_a_file_with_errors_is_refused_whole_and_leaves_nothing(engine, files, tmp_path):
    ids = new_resource(engine, table_schema={"descriptor": SCHEMA})
    bad = ("commune,montant,date,objet\n34134,1500.50,2024-01-15,ok\n"
           "3413,-2,2024-13-01,bad\n34172,12,2024-02-01\n")
    with pytest.raises(InvalidRows) as refused:
        upload(engine, files, ids, bad.encode())
    found = {(row, column) for row, column, _ in
             ((r["row"], r["column"], r["reason"]) for r in refused.value.rows)}
    assert found == {(3, "commune"), (3, "montant"), (3, "date"), (4, None)}
    assert refused.value.error_count == 4
    assert list(refused.value.errors) == ["content"]
    with Session(engine) as session:
        assert session.scalars(select(Version)).all() == []
    assert [t for t in inspect(engine).get_table_names() if t.startswith("records_")] == []
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []


def test_the_errors_listed_are_capped_and_all_counted(engine, files):
    ids = new_resource(engine, table_schema={"descriptor": SCHEMA})
    rows = "".join(f"bad{n},1,2024-01-01,x\n" for n in range(1500))
    with pytest.raises(InvalidRows) as refused:
        upload(engine, files, ids, ("commune,montant,date,objet\n" + rows).encode())
    assert refused.value.error_count == 1500
    assert len(refused.value.rows) == ingest.MAX_REPORTED_ERRORS
    assert "the first 1000 are listed" in refused.value.errors["content"][0]


def test_a_missing_required_column_is_an_error_of_the_header(engine, files):
    ids = new_resource(engine, table_schema={"descriptor": SCHEMA})
    with pytest.raises(InvalidRows) as refused:
        upload(engine, files, ids, b"montant,date,objet\n1,2024-01-01,x\n")
    assert (1, "commune") in {(r["row"], r["column"]) for r in refused.value.rows}


def test_without_a_schema_the_types_are_inferred_from_the_whole_file(engine, files):
    ids = new_resource(engine)
    content = "code,tarif,ouvert\n1,3.20,true\n2,1.10,false\n3,4,true\n"
    version = upload(engine, files, ids, content.encode())
    assert [(f["name"], f["type"]) for f in version["schema"]["fields"]] == [
        ("code", "integer"), ("tarif", "number"), ("ouvert", "boolean")]
    page = records(engine, ids, filter=["tarif>2"], sort="code")
    assert [r["code"] for r in page.results] == [1, 3]


def test_a_new_version_keeps_the_previous_one(engine, files):
    ids = new_resource(engine, table_schema={"descriptor": SCHEMA})
    first = upload(engine, files, ids, GOOD.encode("cp1252"))
    second = upload(engine, files, ids, GOOD.encode("utf-8") +
                    b"34022;10;2024-03-01;Nouveau\r\n")
    assert (first["number"], second["number"]) == (1, 2)
    assert files.verify(first["sha256"]) and files.verify(second["sha256"])
    assert first["table"] in inspect(engine).get_table_names()
    assert records(engine, ids).total_count == 3


def test_json_and_geojson_resources(engine, files):
    ids = new_resource(engine, fmt="json")
    version = upload(engine, files, ids, json.dumps(
        [{"nom": "Médiathèque", "places": 40}, {"nom": "Gymnase", "places": 300}]).encode(),
        "lieux.json")
    assert version["rows"] == 2
    assert [r["nom"] for r in records(engine, ids, filter=["places>=100"]).results] == [
        "Gymnase"]
    geo = new_resource(engine, fmt="geojson")
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nom": "Borne 1"},
         "geometry": {"type": "Point", "coordinates": [3.8, 43.6]}}]}
    version = upload(engine, files, geo, json.dumps(collection).encode(), "bornes.geojson")
    assert version["rows"] == 1
    assert json.loads(files.get(version["sha256"])) == collection
    (record,) = records(engine, geo).results
    assert record["nom"] == "Borne 1" and json.loads(record["geometry"])["type"] == "Point"


AWARD = {"contract_id": "2024-0012", "commune": "34134", "buyer_kind": "commune",
         "buyer_siret": "21340134200018", "buyer_name": "Commune de Lavérune",
         "nature": "Marché", "object": "Voirie", "cpv": "45233140-2",
         "procedure": "Procédure adaptée", "place_code": "34134", "place_type": "Code commune",
         "duration_months": 6, "notified_on": date(2024, 4, 2),
         "published_on": date(2024, 4, 5), "amount": Decimal("184500.00"),
         "price_form": "Ferme", "holders": [{"id": "44306184100047", "id_type": "SIRET"}]}


def test_an_award_is_added_to_the_buyers_decp_once(engine, files):
    with Session(engine) as session, session.begin():
        first = decp.record_award(session, files, AWARD, NOW)
        again = decp.record_award(session, files, AWARD, NOW)
        second = decp.record_award(session, files, {**AWARD, "contract_id": "2024-0013",
                                                    "buyer_kind": "commune"}, NOW)
        ccas = decp.record_award(session, files, {**AWARD, "buyer_kind": "ccas"}, NOW)
        assert (first.number, again, second.number, ccas.number) == (1, None, 2, 1)
        (dataset,) = [d for d in catalog.published_datasets(session, "commune-34134")]
        assert dataset.maintained_by == "decp" and dataset.licence["code"] == "lo-2.0"
        rows = list(csv.DictReader(io.StringIO(files.get(second.sha256).decode())))
        assert [r["id"] for r in rows] == ["2024-0012", "2024-0013"]
        assert rows[0]["titulaires"] == "SIRET:44306184100047"
