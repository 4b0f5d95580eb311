"""The catalogue as DCAT-AP 3 (https://semiceu.github.io/DCAT-AP/releases/3.0.0/), the RDF
that data.gouv.fr and the European data portal harvest
(https://doc.data.gouv.fr/moissonnage/dcat/), built with rdflib and served as JSON-LD or
Turtle.

The input is plain dicts, as the service's views produce them, so that this module knows
nothing of the database. Datasets and distributions are named by their public URLs, so that a
harvester finds the same node from one harvest to the next.
"""

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, XSD, NamespaceManager

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
SCHEMA = Namespace("http://schema.org/")

EU_THEME = Namespace("http://publications.europa.eu/resource/authority/data-theme/")
EU_FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
EU_FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
IANA_MEDIA_TYPE = "https://www.iana.org/assignments/media-types/"
INSEE_COMMUNE = Namespace("http://id.insee.fr/geo/commune/")
# Communes, their CCAS and the Métropole are all local public bodies.
LOCAL_AUTHORITY = URIRef("http://purl.org/adms/publishertype/LocalAuthority")

# How often a dataset is brought up to date -> the EU frequency vocabulary's code, which
# DCAT-AP requires for dct:accrualPeriodicity.
EU_FREQUENCIES = {
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "semiannual": "ANNUAL_2",
    "annual": "ANNUAL",
    "irregular": "IRREG",
    "unknown": "UNKNOWN",
}

FILE_TYPES = {"csv": "CSV", "json": "JSON", "geojson": "GEOJSON"}

# Compact JSON-LD names every vocabulary the graph uses by its usual DCAT-AP prefix.
CONTEXT = {
    "dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "vcard": str(VCARD),
    "adms": str(ADMS), "spdx": str(SPDX), "xsd": str(XSD), "dcatap": str(DCATAP),
    "schema": str(SCHEMA), "skos": str(SKOS), "owl": str(OWL), "rdfs": str(RDFS),
}


def catalog_graph(datasets, *, base_url, title, publisher, homepage, description=None):
    """The catalogue of ``datasets`` as a DCAT-AP graph; ``publisher`` is who runs it (None
    leaves it unsaid), ``description`` defaults to the title since DCAT-AP requires one."""
    # Built once and serialized once: the store without per-context indexes adds twice as fast.
    graph = Graph(store="SimpleMemory")
    graph.namespace_manager = _VocabularyPrefixes(graph)
    catalog = URIRef(f"{homepage}#catalog")
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal(title)))
    graph.add((catalog, DCTERMS.description, Literal(description or title)))
    graph.add((catalog, FOAF.homepage, URIRef(homepage)))
    if publisher is not None:
        graph.add((catalog, DCTERMS.publisher, _organization(graph, base_url, publisher)))
    for dataset in datasets:
        graph.add((catalog, DCAT.dataset, _dataset(graph, base_url, dataset)))
    return graph


def to_jsonld(graph):
    return graph.serialize(format="json-ld", context=CONTEXT, auto_compact=True)


def to_turtle(graph):
    return graph.serialize(format="turtle")


class _VocabularyPrefixes(NamespaceManager):
    """Prefixed names for the vocabularies' terms only. rdflib otherwise looks up every IRI
    in a trie of all the namespaces it has met, and the portal's own IRIs (several per
    dataset) make Turtle quadratic: 45 s for 2,000 datasets."""

    def __init__(self, graph):
        super().__init__(graph, bind_namespaces="none")
        for prefix, namespace in {"rdf": str(RDF), **CONTEXT}.items():
            self.bind(prefix, namespace)
        self._vocabularies = tuple(namespace for _, namespace in self.namespaces())

    def compute_qname(self, uri, generate=True):
        if not str.startswith(uri, self._vocabularies):
            raise KeyError(f"{uri} is in none of the vocabularies")
        return super().compute_qname(uri, generate)


def _dataset(graph, base_url, dataset):
    node = URIRef(dataset["landing_page"])
    add = _adder(graph, node)
    add(RDF.type, DCAT.Dataset)
    add(DCTERMS.identifier, Literal(dataset["id"]))
    add(DCTERMS.title, Literal(dataset["title"]))
    add(DCTERMS.description, Literal(dataset["description"]))
    for keyword in dataset["keywords"]:
        add(DCAT.keyword, Literal(keyword))
    add(DCAT.theme, EU_THEME[dataset["theme"]])
    add(DCTERMS.publisher, _organization(graph, base_url, dataset["publisher"]))
    add(DCAT.contactPoint, _contact(graph, dataset["contact"]))
    add(DCTERMS.accrualPeriodicity, EU_FREQUENCY[EU_FREQUENCIES[dataset["frequency"]]])
    add(DCTERMS.temporal, _period(graph, dataset["temporal_start"], dataset["temporal_end"]))
    add(DCTERMS.spatial, _location(graph, dataset["spatial"], dataset["spatial_insee"]))
    add(DCTERMS.issued, _literal(dataset["issued"]))
    add(DCTERMS.modified, _literal(dataset["modified"]))
    add(DCAT.landingPage, node)
    licence = _licence(graph, dataset["licence"])
    add(DCTERMS.license, licence)
    for resource in dataset["resources"]:
        add(DCAT.distribution, _distribution(graph, node, resource, licence))
    return node


def _distribution(graph, dataset, resource, licence):
    node = URIRef(f"{dataset}/resources/{resource['id']}")
    add = _adder(graph, node)
    add(RDF.type, DCAT.Distribution)
    add(DCTERMS.title, Literal(resource["title"]))
    add(DCTERMS.description, _literal(resource["description"]))
    add(DCAT.accessURL, URIRef(resource["access_url"]))
    add(DCAT.downloadURL, URIRef(resource["download_url"]))
    add(DCTERMS["format"], EU_FILE_TYPE[FILE_TYPES[resource["format"]]])
    add(DCAT.mediaType, URIRef(IANA_MEDIA_TYPE + resource["media_type"]))
    add(DCAT.byteSize, Literal(resource["byte_size"], datatype=XSD.nonNegativeInteger))
    add(SPDX.checksum, _checksum(graph, resource["sha256"]))
    # DCAT-AP wants the licence on each distribution; data.gouv.fr reads it there.
    add(DCTERMS.license, licence)
    add(DCTERMS.conformsTo, _standard(graph, resource["schema"]))
    add(OWL.versionInfo, Literal(str(resource["version"])))
    add(DCTERMS.issued, _literal(resource["issued"]))
    add(DCTERMS.modified, _literal(resource["modified"]))
    return node


def _organization(graph, base_url, publisher):
    # A hash IRI: the publisher's page is a document, the publisher an organisation.
    node = URIRef(f"{base_url}/api/v1/opendata/publishers/{publisher['id']}#publisher")
    add = _adder(graph, node)
    add(RDF.type, FOAF.Organization)
    add(FOAF.name, Literal(publisher["name"]))
    add(DCTERMS.type, LOCAL_AUTHORITY)
    add(DCTERMS.identifier, _literal(publisher["siren"]))
    return node


def _contact(graph, contact):
    node = BNode()
    add = _adder(graph, node)
    add(RDF.type, VCARD.Kind)
    add(VCARD.fn, Literal(contact["name"]))
    if contact.get("email"):
        # The DECP datasets the portal keeps itself have no mailbox of their own.
        add(VCARD.hasEmail, URIRef(f"mailto:{contact['email']}"))
    return node


def _period(graph, start, end):
    if start is None and end is None:
        return None
    node = BNode()
    add = _adder(graph, node)
    add(RDF.type, DCTERMS.PeriodOfTime)
    add(DCAT.startDate, _date(start))
    add(DCAT.endDate, _date(end))
    return node


def _location(graph, label, insee):
    if label is None and insee is None:
        return None
    node = INSEE_COMMUNE[insee] if insee else BNode()
    add = _adder(graph, node)
    add(RDF.type, DCTERMS.Location)
    add(SKOS.prefLabel, _literal(label))
    return node


def _licence(graph, licence):
    """The licence's own URL when it has one; otherwise (a commune's licence published
    nowhere) a node carrying its title. A commune's licence keeps the reference of the
    délibération that approved it either way."""
    node = URIRef(licence["url"]) if licence.get("url") else BNode()
    add = _adder(graph, node)
    add(RDF.type, DCTERMS.LicenseDocument)
    add(DCTERMS.title, _literal(licence.get("title")))
    add(RDFS.comment, _literal(licence.get("deliberation")))
    return node


def _checksum(graph, sha256):
    node = BNode()
    add = _adder(graph, node)
    add(RDF.type, SPDX.Checksum)
    add(SPDX.algorithm, SPDX.checksumAlgorithm_sha256)
    add(SPDX.checksumValue, Literal(sha256, datatype=XSD.hexBinary))
    return node


def _standard(graph, schema):
    """The schema's URL; a schema known only by name (the portal's own, or one whose URL the
    view does not give) is a standard identified by that name, so the link is not lost."""
    if schema is None:
        return None
    if schema.get("url"):
        return URIRef(schema["url"])
    node = BNode()
    graph.add((node, RDF.type, DCTERMS.Standard))
    graph.add((node, DCTERMS.identifier, Literal(schema["name"])))
    return node


def _adder(graph, subject):
    """Adds (subject, predicate, value), leaving out the values a dataset does not have."""
    def add(predicate, value):
        if value is not None:
            graph.add((subject, predicate, value))
    return add


def _literal(value):
    return None if value is None else Literal(value)


def _date(value):
    return None if value is None else Literal(value, datatype=XSD.date)
