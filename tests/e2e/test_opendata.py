"""The open data portal over HTTP, as a commune's agent and the public use it (issue 6): a
dataset created under a licence, a CSV declaring a schema refused with its row-level errors
and nothing published, then a good file (in Windows-1252, with semicolons) published and
queried with filters, exported, and listed in the DCAT-AP catalogue with its licence and
publisher. Another commune's agent cannot touch it; anyone reads it without a token. An award
of procurement reaches the buyer's DECP once, however often it is delivered; and open data is
never billed."""

import base64
import csv
import io
import json
import uuid
from datetime import UTC, datetime

import pytest
from nameko.standalone.events import event_dispatcher
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF

import demo
from contracts.events import CONTRACT_AWARDED
from tests.e2e.support import agent_of, assert_problem, wait_for

pytestmark = pytest.mark.broker

LAVERUNE, MONTPELLIER = "34134", "34172"
COMMUNE = f"/api/v1/communes/{LAVERUNE}/opendata"
DCAT = Namespace("http://www.w3.org/ns/dcat#")

DELIBERATIONS_HEADER = ("COLL_NOM;COLL_SIRET;DELIB_ID;DELIB_DATE;DELIB_MATIERE_CODE;"
                        "DELIB_MATIERE_NOM;DELIB_OBJET;BUDGET_ANNEE;BUDGET_NOM;PREF_ID;"
                        "PREF_DATE;VOTE_EFFECTIF;VOTE_REEL;VOTE_POUR;VOTE_CONTRE;"
                        "VOTE_ABSTENTION;DELIB_URL")
GOOD_ROWS = [
    "Lavérune;21340134200018;DEL2024_001;2024-01-18;7.1;Finances locales;Budget primitif "
    "2024 de la commune;2024;Budget principal;;;23;21;19;2;0;",
    "Lavérune;21340134200018;DEL2024_002;2024-02-15;8.1;Enseignement;Tarifs de la cantine "
    "scolaire, année 2024-2025;;;;;23;20;20;0;0;",
    "Lavérune;21340134200018;DEL2024_003;2024-03-21;1.1;Marchés publics;Attribution du "
    "marché de voirie de l'avenue de la Gare;;;;;23;22;17;3;2;",
]
BAD_ROWS = [
    GOOD_ROWS[0],
    GOOD_ROWS[1].replace("2024-02-15", "15/02/2024"),
    GOOD_ROWS[2].replace("21340134200018", "2134013420"),
]


def b64(text, encoding="cp1252"):
    return base64.b64encode(text.encode(encoding)).decode("ascii")


def csv_upload(rows, name="deliberations-2024.csv"):
    return {"file_name": name, "content": b64("\r\n".join([DELIBERATIONS_HEADER, *rows]))}


NEW_DATASET = {
    "title": "Délibérations du conseil municipal de Lavérune",
    "description": "Les délibérations adoptées par le conseil municipal depuis 2024.",
    "keywords": ["délibérations", "conseil municipal"], "theme": "GOVE",
    "licence": {"code": "lo-2.0"}, "frequency": "monthly",
    "temporal_start": "2024-01-01",
    "contact": {"name": "Secrétariat général", "email": "mairie@laverune.fr"},
}


@pytest.fixture
def admin_api(api, whole_suite):
    """The reference convention registered (every commune subscribes to open data) and
    heard of by the portal."""
    from conftest import ADMIN_PASSWORD, ADMIN_USERNAME

    admin = api.as_user(ADMIN_USERNAME, ADMIN_PASSWORD)
    reference = json.loads(demo.CONVENTION_FILE.read_text(encoding="utf-8"))
    registered = admin.post("/api/v1/conventions", json=demo.convention_from(reference))
    assert registered.status_code == 201, registered.text
    answer = wait_for(lambda: admin.get(f"{COMMUNE}/datasets"), lambda a: a.status_code == 200)
    assert answer.status_code == 200, answer.text
    return admin




def published_deliberations(agent):
    created = agent.post(f"{COMMUNE}/datasets", json=NEW_DATASET)
    assert created.status_code == 201, created.text
    dataset = created.json()
    resource = agent.post(f"{COMMUNE}/datasets/{dataset['id']}/resources", json={
        "title": "Délibérations 2024", "format": "csv",
        "table_schema": {"name": "scdl/deliberations"}})
    assert resource.status_code == 201, resource.text
    versions = f"{COMMUNE}/datasets/{dataset['id']}/resources/{resource.json()['id']}/versions"
    return dataset, resource.json(), versions


def test_a_dataset_is_refused_row_by_row_then_published_queried_and_harvested(
        admin_api, api):
    agent = agent_of(admin_api, api, LAVERUNE, "agent.laverune")
    dataset, resource, versions = published_deliberations(agent)
    assert dataset["state"] == "draft" and dataset["publisher"]["id"] == f"commune-{LAVERUNE}"

    refused = agent.post(versions, json=csv_upload(BAD_ROWS))
    assert_problem(refused, 422, "content")
    problem = refused.json()
    assert problem["error_count"] == 2
    assert {(e["row"], e["column"]) for e in problem["rows"]} == {
        (3, "DELIB_DATE"), (4, "COLL_SIRET")}
    assert all(e["reason"] for e in problem["rows"])
    after_refusal = agent.get(f"{COMMUNE}/datasets/{dataset['id']}").json()
    assert after_refusal["resources"][0]["versions"] == []

    # Nothing to read yet, and nothing public.
    assert api.get(f"/api/v1/opendata/datasets/{dataset['id']}").status_code == 404
    assert_problem(agent.post(f"{COMMUNE}/datasets/{dataset['id']}/publication"), 409)

    uploaded = agent.post(versions, json=csv_upload(GOOD_ROWS))
    assert uploaded.status_code == 201, uploaded.text
    version = uploaded.json()["current_version"]
    assert (version["number"], version["row_count"]) == (1, 3)
    assert (version["encoding"], version["delimiter"]) != ("utf-8", ",")

    published = agent.post(f"{COMMUNE}/datasets/{dataset['id']}/publication")
    assert published.status_code == 200, published.text
    assert published.json()["state"] == "published"

    # Anyone reads it, without a token.
    records = f"/api/v1/opendata/datasets/{dataset['id']}/resources/{resource['id']}/records"
    page = api.get(records, params={"filter": ["VOTE_POUR>=19", "DELIB_OBJET~budget"],
                                    "fields": "DELIB_ID,DELIB_OBJET,VOTE_POUR"})
    assert page.status_code == 200, page.text
    assert page.json()["results"] == [{"DELIB_ID": "DEL2024_001",
                                       "DELIB_OBJET": "Budget primitif 2024 de la commune",
                                       "VOTE_POUR": 19}]
    by_date = api.get(records, params={"sort": "-DELIB_DATE", "limit": 2}).json()
    assert [r["DELIB_ID"] for r in by_date["results"]] == ["DEL2024_003", "DEL2024_002"]
    rest = api.get(records, params={"sort": "-DELIB_DATE", "limit": 2,
                                    "cursor": by_date["next_cursor"]}).json()
    assert [r["DELIB_ID"] for r in rest["results"]] == ["DEL2024_001"]
    assert rest["next_cursor"] is None
    assert_problem(api.get(records, params={"filter": "VOTE_POUR>=beaucoup"}), 422, "filter")

    exported = api.get(records.replace("/records", "/export.csv"),
                       params={"filter": "DELIB_DATE>=2024-02-01"})
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8"))))
    assert [r["DELIB_ID"] for r in rows] == ["DEL2024_002", "DEL2024_003"]
    assert rows[0]["COLL_NOM"] == "Lavérune"

    found = api.get("/api/v1/opendata/datasets", params={"q": "délibérations lavérune",
                                                         "licence": "lo-2.0"}).json()
    assert [d["id"] for d in found["results"]] == [dataset["id"]]

    catalogue = api.get("/api/v1/opendata/catalog.jsonld")
    assert catalogue.status_code == 200
    assert catalogue.headers["Content-Type"].startswith("application/ld+json")
    graph = Graph().parse(data=catalogue.text, format="json-ld")
    node = next(s for s in graph.subjects(RDF.type, DCAT.Dataset)
                if str(s).endswith(dataset["id"]))
    publisher = graph.value(node, DCTERMS.publisher)
    assert str(graph.value(publisher, FOAF.name)) == "Lavérune"
    distribution = graph.value(node, DCAT.distribution)
    assert graph.value(distribution, DCTERMS.license) == URIRef(
        "https://www.etalab.gouv.fr/licence-ouverte-open-licence/")
    own = Graph().parse(data=api.get(
        f"/api/v1/opendata/publishers/commune-{LAVERUNE}/catalog.ttl").text, format="turtle")
    assert len(set(own.subjects(RDF.type, DCAT.Dataset))) == 1
    other = Graph().parse(data=api.get(
        f"/api/v1/opendata/publishers/commune-{MONTPELLIER}/catalog.jsonld").text,
        format="json-ld")
    assert set(other.subjects(RDF.type, DCAT.Dataset)) == set()


def test_another_communes_agent_cannot_touch_it_and_a_new_version_keeps_the_old(
        admin_api, api):
    agent = agent_of(admin_api, api, LAVERUNE, "agent.laverune")
    stranger = agent_of(admin_api, api, MONTPELLIER, "agent.montpellier")
    dataset, resource, versions = published_deliberations(agent)
    assert agent.post(versions, json=csv_upload(GOOD_ROWS[:2])).status_code == 201
    assert agent.post(f"{COMMUNE}/datasets/{dataset['id']}/publication").status_code == 200

    own_commune = f"/api/v1/communes/{MONTPELLIER}/opendata/datasets/{dataset['id']}"
    for answer in (
        stranger.post(versions, json=csv_upload(GOOD_ROWS)),
        stranger.patch(f"{COMMUNE}/datasets/{dataset['id']}", json={"title": "Piraté"}),
        stranger.patch(own_commune, json={"title": "Piraté"}),
        stranger.post(f"{own_commune}/resources", json={"title": "x", "format": "csv"}),
    ):
        assert_problem(answer, 404)
    public = api.get(f"/api/v1/opendata/datasets/{dataset['id']}").json()
    assert public["title"] == NEW_DATASET["title"]
    assert public["resources"][0]["current_version"]["row_count"] == 2

    again = agent.post(versions, json=csv_upload(GOOD_ROWS, "deliberations-mars.csv"))
    assert again.status_code == 201, again.text
    numbers = [(v["number"], v["row_count"]) for v in again.json()["versions"]]
    assert numbers == [(1, 2), (2, 3)]
    assert again.json()["versions"][0]["sha256"] != again.json()["versions"][1]["sha256"]


def test_a_licence_is_needed_to_publish_and_a_communes_own_needs_its_deliberation(
        admin_api, api):
    agent = agent_of(admin_api, api, LAVERUNE, "agent.laverune")
    unlicensed = agent.post(f"{COMMUNE}/datasets", json={**NEW_DATASET, "licence": None})
    assert unlicensed.status_code == 201, unlicensed.text
    dataset_id = unlicensed.json()["id"]
    resource = agent.post(f"{COMMUNE}/datasets/{dataset_id}/resources",
                          json={"title": "Tarifs", "format": "csv"}).json()
    uploaded = agent.post(
        f"{COMMUNE}/datasets/{dataset_id}/resources/{resource['id']}/versions",
        json={"file_name": "tarifs.csv",
              "content": b64("prestation,tarif\nCantine,3.20\nGarderie,1.10\n", "utf-8")})
    assert uploaded.status_code == 201, uploaded.text
    assert [f["type"] for f in uploaded.json()["table_schema"]["fields"]] == [
        "string", "number"]
    assert_problem(agent.post(f"{COMMUNE}/datasets/{dataset_id}/publication"), 422, "licence")

    assert_problem(agent.patch(f"{COMMUNE}/datasets/{dataset_id}",
                               json={"licence": {"code": "commune", "title": "Licence"}}),
                   422, "licence")
    licensed = agent.patch(f"{COMMUNE}/datasets/{dataset_id}", json={"licence": {
        "code": "commune", "title": "Licence de réutilisation de Lavérune",
        "deliberation": "DEL2024_014 du 18 janvier 2024"}})
    assert licensed.status_code == 200, licensed.text
    assert agent.post(f"{COMMUNE}/datasets/{dataset_id}/publication").status_code == 200
    page = api.get(f"/api/v1/opendata/publishers/commune-{LAVERUNE}").json()
    assert page["dataset_count"] == 1
    assert page["datasets"][0]["licence"]["deliberation"] == "DEL2024_014 du 18 janvier 2024"


def award(contract_id="2024-0012"):
    return {"contract_id": contract_id, "commune": LAVERUNE, "buyer_kind": "commune",
            "buyer_siret": "21340134200018", "buyer_name": "Commune de Lavérune",
            "nature": "Marché", "object": "Réfection de la voirie de l'avenue de la Gare",
            "cpv": "45233140-2", "procedure": "Procédure adaptée", "place_code": "34134",
            "place_type": "Code commune", "duration_months": 6,
            "notified_on": "2024-04-02", "published_on": "2024-04-05", "amount": "184500.00",
            "price_form": "Ferme", "holders": [{"id": "44306184100047", "id_type": "SIRET"}]}


def test_an_award_reaches_the_buyers_decp_once_however_often_delivered(
        admin_api, api, suite_config):
    dispatch = event_dispatcher({"AMQP_URI": suite_config["AMQP_URI"]})
    event_id = str(uuid.uuid4())
    envelope = {"event_id": event_id, "occurred_at": datetime.now(UTC).isoformat(),
                "type": CONTRACT_AWARDED.name, "version": CONTRACT_AWARDED.version,
                "producer": "procurement", "commune": LAVERUNE, "correlation_id": None, "data": award()}
    for _ in range(2):
        dispatch("procurement", CONTRACT_AWARDED.name, envelope)
    dispatch("procurement", CONTRACT_AWARDED.name,
             {**envelope, "event_id": str(uuid.uuid4())})

    def decp():
        return api.get("/api/v1/opendata/datasets", params={
            "publisher": f"commune-{LAVERUNE}", "q": "DECP"}).json()["results"]

    datasets = wait_for(decp, lambda found: len(found) == 1)
    assert len(datasets) == 1, datasets
    dataset = datasets[0]
    assert dataset["maintained_by"] == "decp" and dataset["licence"]["code"] == "lo-2.0"
    resource = dataset["resources"][0]
    records = f"/api/v1/opendata/datasets/{dataset['id']}/resources/{resource['id']}/records"
    page = api.get(records).json()
    assert page["total_count"] == 1
    assert page["results"][0]["montant"] == 184500
    assert page["results"][0]["titulaires"] == "SIRET:44306184100047"

    dispatch("procurement", CONTRACT_AWARDED.name,
             {**envelope, "event_id": str(uuid.uuid4()), "data": award("2024-0013")})
    grown = wait_for(lambda: api.get(records).json(), lambda p: p["total_count"] == 2)
    assert grown["total_count"] == 2
    assert [v["number"] for v in api.get(
        f"/api/v1/opendata/datasets/{dataset['id']}").json()["resources"][0]["versions"]] == [
        1, 2]


def test_open_data_is_never_billed(admin_api):
    """Art. 4: every commune subscribes to open data in the reference convention, and no
    share or title carries a line for it."""
    shares = admin_api.get("/api/v1/billing/shares", params={"year": "2022"})
    assert shares.status_code == 200, shares.text
    assert "opendata" not in json.dumps(shares.json())
    titles = wait_for(
        lambda: admin_api.get(f"/api/v1/communes/{LAVERUNE}/billing/titles",
                              params={"year": "2022"}),
        lambda answer: answer.status_code == 200 and answer.json())
    assert titles.status_code == 200, titles.text
    lines = [line for title in titles.json() for line in title["lines"]]
    assert lines and {line["application"] for line in lines} == {
        "eadmin", "eservices", "procurement"}
