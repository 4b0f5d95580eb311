"""The DCAT-AP catalogue: what a harvester (data.gouv.fr, data.europa.eu) reads back from the
JSON-LD and the Turtle, checked with SPARQL on the parsed graphs."""

from datetime import UTC, date, datetime

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, SKOS

from contracts import opendata as contract
from services.opendata import dcat

# Plain namespaces: pytest's collection probes module attributes, which rdflib's closed
# DCAT and XSD namespaces warn about.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")

BASE = "https://portail.example.fr"
PORTAL = f"{BASE}/api/v1/opendata/datasets"
LAVERUNE = {"id": "commune-34134", "name": "Lavérune", "kind": "commune", "insee": "34134",
            "siren": "213401342"}
CCAS = {"id": "ccas-34134", "name": "CCAS de Lavérune", "kind": "ccas", "insee": "34134",
        "siren": None}
METROPOLE = {"id": "metropole", "name": "Montpellier Méditerranée Métropole",
             "kind": "metropole", "insee": None, "siren": "243400017"}
LICENCE_OUVERTE = {"code": "lo-2.0", **contract.LICENCES["lo-2.0"], "deliberation": None}
COMMUNE_LICENCE = {"code": "commune", "title": "Licence de Lavérune", "url": None,
                   "deliberation": "DEL-2024-031 du 14 mars 2024"}
DELIBERATIONS_ID = "6f1c2a3e-8a63-4d64-9f5b-0d7c3c1b2a10"
SUBSIDIES_ID = "b0e4a2c1-1f7a-4c0e-8e36-3a2f9b8d7c65"
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
WHEN = datetime(2024, 3, 15, 9, 30, tzinfo=UTC)

PREFIXES = """
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX vcard: <http://www.w3.org/2006/vcard/ns#>
PREFIX spdx: <http://spdx.org/rdf/terms#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""


def resource(dataset_id, resource_id, fmt="csv", **changes):
    url = f"{PORTAL}/{dataset_id}/resources/{resource_id}"
    return {"id": resource_id, "title": f"Fichier {fmt}", "description": None, "format": fmt,
            "media_type": contract.MEDIA_TYPES[fmt], "version": 3, "byte_size": 123456,
            "sha256": SHA256, "issued": WHEN, "modified": WHEN,
            "download_url": f"{url}/export.csv", "access_url": f"{url}/records",
            "schema": None, **changes}


def dataset(dataset_id, publisher, **changes):
    return {"id": dataset_id, "publisher": publisher, "title": "Délibérations",
            "description": "Les délibérations du conseil municipal.",
            "keywords": ["délibérations", "conseil municipal"], "theme": "GOVE",
            "licence": LICENCE_OUVERTE, "frequency": "monthly",
            "temporal_start": date(2024, 1, 1), "temporal_end": date(2024, 12, 31),
            "spatial": "Lavérune", "spatial_insee": "34134",
            "contact": {"name": "Service communication", "email": "opendata@laverune.fr"},
            "issued": WHEN, "modified": WHEN, "landing_page": f"{PORTAL}/{dataset_id}",
            "resources": [resource(dataset_id, "r1"), resource(dataset_id, "r2", "json")],
            **changes}


def two_datasets():
    """Lavérune's délibérations under the Licence Ouverte, its CCAS's subsidies under the
    commune's own licence."""
    return [
        dataset(DELIBERATIONS_ID, LAVERUNE, resources=[
            resource(DELIBERATIONS_ID, "r1", schema={
                "name": "scdl/deliberations",
                "url": "https://schema.data.gouv.fr/scdl/deliberations/2.1.5/"}),
            resource(DELIBERATIONS_ID, "r2", "geojson")]),
        dataset(SUBSIDIES_ID, CCAS, title="Subventions du CCAS", theme="SOCI",
                frequency="annual", licence=COMMUNE_LICENCE),
    ]


def catalogue(datasets, publisher=METROPOLE, **options):
    return dcat.catalog_graph(datasets, base_url=BASE, title="Portail open data",
                              publisher=publisher, homepage=PORTAL, **options)


def served(datasets, syntax, **options):
    """The catalogue as a harvester gets it: serialized, then parsed back."""
    graph = catalogue(datasets, **options)
    text = dcat.to_jsonld(graph) if syntax == "json-ld" else dcat.to_turtle(graph)
    return Graph().parse(data=text, format=syntax)


def select(graph, query, **bindings):
    return {tuple(row) for row in graph.query(PREFIXES + query, initBindings=bindings)}


def only(graph, subject, predicate):
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, values
    return values[0]


SYNTAXES = pytest.mark.parametrize("syntax", ["json-ld", "turtle"])


@SYNTAXES
def test_each_dataset_is_in_the_catalogue_with_its_title_and_publisher(syntax):
    graph = served(two_datasets(), syntax)

    assert select(graph, """
        SELECT ?id ?title ?name WHERE {
            ?catalogue a dcat:Catalog ; dcat:dataset ?dataset .
            ?dataset a dcat:Dataset ; dct:identifier ?id ; dct:title ?title ;
                dct:publisher [ a foaf:Organization ; foaf:name ?name ] .
        }""") == {
        (Literal(DELIBERATIONS_ID), Literal("Délibérations"), Literal("Lavérune")),
        (Literal(SUBSIDIES_ID), Literal("Subventions du CCAS"), Literal("CCAS de Lavérune")),
    }


@SYNTAXES
def test_the_catalogue_describes_itself(syntax):
    graph = served(two_datasets(), syntax, description="Les données des communes.")

    assert select(graph, """
        SELECT ?catalogue ?title ?description ?homepage ?name WHERE {
            ?catalogue a dcat:Catalog ; dct:title ?title ; dct:description ?description ;
                foaf:homepage ?homepage ; dct:publisher [ foaf:name ?name ] .
        }""") == {(URIRef(f"{PORTAL}#catalog"), Literal("Portail open data"),
                   Literal("Les données des communes."), URIRef(PORTAL),
                   Literal("Montpellier Méditerranée Métropole"))}


@SYNTAXES
def test_every_distribution_carries_its_datasets_licence(syntax):
    graph = served(two_datasets(), syntax)

    licences = select(graph, """
        SELECT ?dataset ?distribution ?licence WHERE {
            ?dataset dcat:distribution ?distribution ; dct:license ?licence .
            ?distribution a dcat:Distribution ; dct:license ?licence .
        }""")

    assert len(licences) == 4
    ouverte = URIRef("https://www.etalab.gouv.fr/licence-ouverte-open-licence/")
    assert {(str(d), str(r), lic) for d, r, lic in licences if lic == ouverte} == {
        (f"{PORTAL}/{DELIBERATIONS_ID}", f"{PORTAL}/{DELIBERATIONS_ID}/resources/r1", ouverte),
        (f"{PORTAL}/{DELIBERATIONS_ID}", f"{PORTAL}/{DELIBERATIONS_ID}/resources/r2", ouverte),
    }


@SYNTAXES
def test_a_communes_own_licence_keeps_its_deliberation(syntax):
    graph = served(two_datasets(), syntax)

    assert select(graph, """
        SELECT DISTINCT ?title ?deliberation WHERE {
            ?dataset dct:identifier ?id ; dcat:distribution/dct:license ?licence .
            ?licence a dct:LicenseDocument ; dct:title ?title ; rdfs:comment ?deliberation .
        }""", id=Literal(SUBSIDIES_ID)) == {
        (Literal("Licence de Lavérune"), Literal("DEL-2024-031 du 14 mars 2024"))}


@pytest.mark.parametrize("licence, expected", [
    (LICENCE_OUVERTE, URIRef("https://www.etalab.gouv.fr/licence-ouverte-open-licence/")),
    ({"code": "odbl-1.0", **contract.LICENCES["odbl-1.0"], "deliberation": None},
     URIRef("https://opendatacommons.org/licenses/odbl/1-0/")),
    ({**COMMUNE_LICENCE, "url": "https://www.laverune.fr/licence"},
     URIRef("https://www.laverune.fr/licence")),
])
def test_a_licence_with_a_url_is_named_by_it(licence, expected):
    graph = catalogue([dataset(DELIBERATIONS_ID, LAVERUNE, licence=licence)])

    distributions = list(graph.subjects(RDF.type, DCAT.Distribution))
    assert {only(graph, d, DCTERMS.license) for d in distributions} == {expected}
    assert only(graph, URIRef(f"{PORTAL}/{DELIBERATIONS_ID}"), DCTERMS.license) == expected
    assert only(graph, expected, DCTERMS.title) == Literal(licence["title"])


@SYNTAXES
def test_theme_and_frequency_are_eu_vocabulary_iris(syntax):
    graph = served(two_datasets(), syntax)

    assert select(graph, """
        SELECT ?id ?theme ?frequency WHERE {
            ?dataset dct:identifier ?id ; dcat:theme ?theme ; dct:accrualPeriodicity ?frequency .
        }""") == {
        (Literal(DELIBERATIONS_ID),
         URIRef("http://publications.europa.eu/resource/authority/data-theme/GOVE"),
         URIRef("http://publications.europa.eu/resource/authority/frequency/MONTHLY")),
        (Literal(SUBSIDIES_ID),
         URIRef("http://publications.europa.eu/resource/authority/data-theme/SOCI"),
         URIRef("http://publications.europa.eu/resource/authority/frequency/ANNUAL")),
    }


@pytest.mark.parametrize("frequency, authority_code", [
    ("daily", "DAILY"), ("weekly", "WEEKLY"), ("monthly", "MONTHLY"),
    ("quarterly", "QUARTERLY"), ("semiannual", "ANNUAL_2"), ("annual", "ANNUAL"),
    ("irregular", "IRREG"), ("unknown", "UNKNOWN"),
])
def test_each_frequency_maps_to_the_eu_frequency_authority(frequency, authority_code):
    graph = catalogue([dataset(DELIBERATIONS_ID, LAVERUNE, frequency=frequency)])

    assert only(graph, URIRef(f"{PORTAL}/{DELIBERATIONS_ID}"), DCTERMS.accrualPeriodicity) == (
        URIRef(f"http://publications.europa.eu/resource/authority/frequency/{authority_code}"))


@SYNTAXES
def test_a_distribution_is_typed_as_dcat_ap_asks(syntax):
    graph = served(two_datasets(), syntax)

    assert select(graph, """
        SELECT ?format ?media ?size ?algorithm ?checksum ?version ?download ?access WHERE {
            ?distribution dct:format ?format ; dcat:mediaType ?media ; dcat:byteSize ?size ;
                spdx:checksum [ a spdx:Checksum ; spdx:algorithm ?algorithm ;
                                spdx:checksumValue ?checksum ] ;
                owl:versionInfo ?version ; dcat:downloadURL ?download ; dcat:accessURL ?access .
        }""", distribution=URIRef(f"{PORTAL}/{DELIBERATIONS_ID}/resources/r1")) == {(
            URIRef("http://publications.europa.eu/resource/authority/file-type/CSV"),
            URIRef("https://www.iana.org/assignments/media-types/text/csv"),
            Literal("123456", datatype=XSD.nonNegativeInteger),
            URIRef("http://spdx.org/rdf/terms#checksumAlgorithm_sha256"),
            Literal(SHA256, datatype=XSD.hexBinary),
            Literal("3"),
            URIRef(f"{PORTAL}/{DELIBERATIONS_ID}/resources/r1/export.csv"),
            URIRef(f"{PORTAL}/{DELIBERATIONS_ID}/resources/r1/records"),
        )}


@pytest.mark.parametrize("fmt, file_type, media_type", [
    ("csv", "CSV", "text/csv"),
    ("json", "JSON", "application/json"),
    ("geojson", "GEOJSON", "application/geo+json"),
])
def test_each_format_has_its_file_type_and_media_type(fmt, file_type, media_type):
    graph = catalogue([dataset(DELIBERATIONS_ID, LAVERUNE,
                               resources=[resource(DELIBERATIONS_ID, "r1", fmt)])])

    distribution = URIRef(f"{PORTAL}/{DELIBERATIONS_ID}/resources/r1")
    assert only(graph, distribution, DCTERMS["format"]) == URIRef(
        f"http://publications.europa.eu/resource/authority/file-type/{file_type}")
    assert only(graph, distribution, DCAT.mediaType) == URIRef(
        f"https://www.iana.org/assignments/media-types/{media_type}")


@pytest.mark.parametrize("byte_size", [0, 1, 24 * 1024 * 1024, 2**40])
def test_the_byte_size_is_a_non_negative_integer(byte_size):
    graph = catalogue([dataset(DELIBERATIONS_ID, LAVERUNE, resources=[
        resource(DELIBERATIONS_ID, "r1", byte_size=byte_size)])])

    size = only(graph, URIRef(f"{PORTAL}/{DELIBERATIONS_ID}/resources/r1"), DCAT.byteSize)
    assert (size.datatype, size.toPython()) == (XSD.nonNegativeInteger, byte_size)


@pytest.mark.parametrize("schema, expected", [
    (None, set()),
    ({"name": "scdl/deliberations", "url": "https://schema.data.gouv.fr/scdl/deliberations/"},
     {"https://schema.data.gouv.fr/scdl/deliberations/"}),
    # Known by name only: a standard named by it, rather than no link at all.
    ({"name": "decp", "url": None}, {("a standard named", "decp")}),
])
def test_a_resource_conforms_to_its_schema(schema, expected):
    graph = catalogue([dataset(DELIBERATIONS_ID, LAVERUNE, resources=[
        resource(DELIBERATIONS_ID, "r1", schema=schema)])])

    def described(standard):
        if isinstance(standard, URIRef):
            return str(standard)
        assert graph.value(standard, RDF.type) == DCTERMS.Standard
        return ("a standard named", str(graph.value(standard, DCTERMS.identifier)))

    standards = graph.objects(URIRef(f"{PORTAL}/{DELIBERATIONS_ID}/resources/r1"),
                              DCTERMS.conformsTo)
    assert {described(standard) for standard in standards} == expected


@SYNTAXES
def test_contact_coverage_and_dates(syntax):
    graph = served(two_datasets(), syntax)

    assert select(graph, """
        SELECT ?name ?email ?start ?end ?place ?label ?issued ?modified WHERE {
            ?dataset dct:identifier ?id ;
                dcat:contactPoint [ a vcard:Kind ; vcard:fn ?name ; vcard:hasEmail ?email ] ;
                dct:temporal [ a dct:PeriodOfTime ; dcat:startDate ?start ; dcat:endDate ?end ] ;
                dct:spatial ?place ; dct:issued ?issued ; dct:modified ?modified .
            ?place a dct:Location ; skos:prefLabel ?label .
        }""", id=Literal(DELIBERATIONS_ID)) == {(
            Literal("Service communication"), URIRef("mailto:opendata@laverune.fr"),
            Literal("2024-01-01", datatype=XSD.date), Literal("2024-12-31", datatype=XSD.date),
            URIRef("http://id.insee.fr/geo/commune/34134"), Literal("Lavérune"),
            Literal("2024-03-15T09:30:00+00:00", datatype=XSD.dateTime),
            Literal("2024-03-15T09:30:00+00:00", datatype=XSD.dateTime),
        )}


@pytest.mark.parametrize("start, end, expected", [
    (None, None, None),
    (date(2024, 1, 1), None, {"startDate": "2024-01-01"}),
    (None, date(2024, 12, 31), {"endDate": "2024-12-31"}),
    (date(2024, 1, 1), date(2024, 1, 1), {"startDate": "2024-01-01", "endDate": "2024-01-01"}),
])
def test_a_coverage_may_be_open_ended_or_absent(start, end, expected):
    graph = catalogue([dataset(DELIBERATIONS_ID, LAVERUNE, temporal_start=start,
                               temporal_end=end)])

    period = graph.value(URIRef(f"{PORTAL}/{DELIBERATIONS_ID}"), DCTERMS.temporal)
    if expected is None:
        assert period is None
    else:
        assert {p.removeprefix(str(DCAT)): str(o) for p, o in graph.predicate_objects(period)
                if p != RDF.type} == expected


@pytest.mark.parametrize("spatial, insee, iri, label", [
    ("Lavérune", "34134", "http://id.insee.fr/geo/commune/34134", "Lavérune"),
    (None, "34134", "http://id.insee.fr/geo/commune/34134", None),
    ("Métropole de Montpellier", None, None, "Métropole de Montpellier"),
    (None, None, None, None),
])
def test_the_spatial_coverage(spatial, insee, iri, label):
    graph = catalogue([dataset(DELIBERATIONS_ID, METROPOLE, spatial=spatial,
                               spatial_insee=insee)])

    place = graph.value(URIRef(f"{PORTAL}/{DELIBERATIONS_ID}"), DCTERMS.spatial)
    if spatial is None and insee is None:
        assert place is None
        return
    assert (str(place) if iri else None) == iri
    assert (graph.value(place, RDF.type), graph.value(place, SKOS.prefLabel)) == (
        DCTERMS.Location, Literal(label) if label else None)


@pytest.mark.parametrize("publisher, siren", [
    (LAVERUNE, Literal("213401342")),
    (CCAS, None),
])
def test_a_publisher_is_an_organisation_with_its_siren_when_known(publisher, siren):
    graph = catalogue([dataset(DELIBERATIONS_ID, publisher)], publisher=None)

    organisation = URIRef(f"{BASE}/api/v1/opendata/publishers/{publisher['id']}#publisher")
    assert graph.value(URIRef(f"{PORTAL}/{DELIBERATIONS_ID}"), DCTERMS.publisher) == (
        organisation)
    assert graph.value(organisation, DCTERMS.identifier) == siren


def test_a_publisher_of_several_datasets_is_one_node():
    graph = catalogue([dataset(DELIBERATIONS_ID, LAVERUNE), dataset(SUBSIDIES_ID, LAVERUNE)],
                      publisher=LAVERUNE)

    assert len(set(graph.subjects(RDF.type, FOAF.Organization))) == 1


def test_optional_values_left_out_leave_no_triple():
    graph = catalogue([dataset(DELIBERATIONS_ID, CCAS, keywords=[], resources=[
        resource(DELIBERATIONS_ID, "r1", description=None)])], publisher=None)

    node = URIRef(f"{PORTAL}/{DELIBERATIONS_ID}")
    distribution = URIRef(f"{PORTAL}/{DELIBERATIONS_ID}/resources/r1")
    assert list(graph.objects(node, DCAT.keyword)) == []
    assert list(graph.objects(distribution, DCTERMS.description)) == []
    assert graph.value(URIRef(f"{PORTAL}#catalog"), DCTERMS.publisher) is None
    assert None not in {o.toPython() for o in graph.objects() if isinstance(o, Literal)}


@SYNTAXES
def test_an_empty_catalogue_is_still_a_catalogue(syntax):
    graph = served([], syntax)

    assert set(graph.subjects(RDF.type, DCAT.Dataset)) == set()
    assert select(graph, "SELECT ?title WHERE { ?c a dcat:Catalog ; dct:title ?title ;"
                         " dct:description ?title . }") == {(Literal("Portail open data"),)}


def test_the_jsonld_is_compact_under_the_dcat_ap_prefixes():
    text = dcat.to_jsonld(catalogue(two_datasets()))

    assert '"dcat:Dataset"' in text and '"dct:title"' in text
    assert set(dcat.CONTEXT) >= {"dcat", "dct", "foaf", "vcard", "adms", "spdx", "xsd",
                                 "dcatap", "schema"}


def test_the_turtle_names_the_portals_own_iris_in_full():
    text = dcat.to_turtle(catalogue(two_datasets()))

    assert f"<{PORTAL}/{DELIBERATIONS_ID}> a dcat:Dataset" in text
    # No generated prefix (ns1:…) for the portal's own namespaces.
    assert "@prefix ns1:" not in text


def test_every_frequency_of_the_contract_has_its_eu_code():
    assert tuple(dcat.EU_FREQUENCIES) == contract.FREQUENCIES
    assert set(dcat.FILE_TYPES) == set(contract.MEDIA_TYPES)



def test_a_contact_without_a_mailbox_gets_no_email():
    decp = dataset(DELIBERATIONS_ID, LAVERUNE,
                   contact={"name": "Commune de Lavérune", "email": None})
    turtle = dcat.to_turtle(catalogue([decp]))
    assert "mailto:" not in turtle
    assert "Commune de Lavérune" in turtle
