"""The portal's catalogue in the database: publishers, datasets and their resources, who may
see what, publication, search, and the views the contracts dump.

A commune's agent reaches the datasets of the commune and of its CCAS; anyone else reads only
published ones. A dataset outside the caller's reach answers 404, as if it did not exist.
"""

import uuid

from sqlalchemy import Text, and_, cast, func, or_, select

from contracts.communes import METROPOLE, partner_ids, partners
from contracts.errors import Conflict, Invalid, NotFound
from contracts.opendata import DRAFT, MEDIA_TYPES, PUBLISHED
from services.opendata import rules
from services.opendata.models import Dataset, Publisher, Resource, Version
from services.opendata.tableschema import SchemaError, TableSchema, known_schema

DATASET_FIELDS = ("title", "description", "keywords", "theme", "frequency", "temporal_start",
                  "temporal_end", "spatial", "contact")


# -- publishers


def ensure_publishers(session):
    """Stores the partners that have no row yet; returns how many it added."""
    present = set(session.scalars(select(Publisher.id)))
    added = [Publisher(**partner) for partner in partners() if partner["id"] not in present]
    session.add_all(added)
    session.flush()
    return len(added)


def publisher_of(session, publisher_id):
    publisher = session.get(Publisher, publisher_id)
    if publisher is None:
        raise NotFound("No such publisher.")
    return publisher


def publishers(session):
    return session.scalars(select(Publisher).order_by(Publisher.kind.desc(), Publisher.name))


# -- datasets


def create_dataset(session, insee, fields, created_by, now):
    publisher_id = partner_ids(insee)[fields["publisher"]]
    dataset = Dataset(
        id=uuid.uuid4(), publisher_id=publisher_id,
        **{name: fields[name] for name in DATASET_FIELDS},
        licence=rules.licence_of(fields["licence"]), state=DRAFT, created_by=created_by,
        created_at=now,
    )
    session.add(dataset)
    session.flush()
    return dataset


def change_dataset(dataset, changes):
    for name in DATASET_FIELDS:
        if name in changes:
            setattr(dataset, name, changes[name])
    if "licence" in changes:
        if changes["licence"] is None and dataset.state == PUBLISHED:
            raise Invalid({"licence": ["A published dataset keeps a licence."]})
        dataset.licence = rules.licence_of(changes["licence"])
    start, end = dataset.temporal_start, dataset.temporal_end
    if start and end and end < start:
        raise Invalid({"temporal_end": ["The coverage ends before it starts."]})
    return dataset


def commune_dataset(session, insee, dataset_id, lock=False):
    """A dataset of the commune or of its CCAS, drafts included."""
    dataset = _dataset(session, dataset_id, lock)
    if dataset is None or dataset.publisher_id not in partner_ids(insee).values():
        raise NotFound("No such dataset in this commune.")
    return dataset


def public_dataset(session, dataset_id):
    dataset = _dataset(session, dataset_id)
    if dataset is None or dataset.state != PUBLISHED:
        raise NotFound("No such dataset.")
    return dataset


def _dataset(session, dataset_id, lock=False):
    try:
        key = uuid.UUID(str(dataset_id))
    except ValueError:
        return None
    return session.get(Dataset, key, with_for_update=lock)


def commune_datasets(session, insee):
    return session.scalars(
        select(Dataset).where(Dataset.publisher_id.in_(partner_ids(insee).values()))
        .order_by(Dataset.created_at)
    )


def publish(session, dataset, now):
    """Open to all: only under a licence, and with data to read."""
    if dataset.licence is None:
        raise Invalid({"licence": ["A dataset needs a licence to be published."]})
    if not any(current_version(session, r) for r in resources_of(session, dataset)):
        raise Conflict("A dataset is published with at least one uploaded file.")
    if dataset.state != PUBLISHED:
        dataset.state, dataset.published_at = PUBLISHED, now
    return dataset


def search(session, q=None, theme=None, publisher=None, licence=None, limit=20, offset=0):
    """Published datasets, most recently updated first. Every word of ``q`` must appear in
    the title, the description or the keywords, ignoring case."""
    conditions = [Dataset.state == PUBLISHED]
    for word in (q or "").split():
        conditions.append(or_(Dataset.title.icontains(word, autoescape=True),
                              Dataset.description.icontains(word, autoescape=True),
                              cast(Dataset.keywords, Text).icontains(word, autoescape=True)))
    if theme:
        conditions.append(Dataset.theme == theme)
    if publisher:
        conditions.append(Dataset.publisher_id == publisher)
    if licence:
        conditions.append(func.json_extract(Dataset.licence, "$.code") == licence
                          if session.bind.dialect.name == "sqlite"
                          else Dataset.licence["code"].as_string() == licence)
    where = and_(*conditions)
    total = session.scalar(select(func.count()).select_from(Dataset).where(where))
    page = session.scalars(
        select(Dataset).where(where)
        .order_by(Dataset.updated_at.desc().nulls_last(), Dataset.id).limit(limit).offset(offset)
    )
    return total, list(page)


def published_datasets(session, publisher_id=None):
    statement = select(Dataset).where(Dataset.state == PUBLISHED)
    if publisher_id:
        statement = statement.where(Dataset.publisher_id == publisher_id)
    return session.scalars(statement.order_by(Dataset.published_at, Dataset.id))


def overdue(session, insee, today):
    """The commune's and its CCAS's published datasets late for their update (Art. 2)."""
    return [
        dataset for dataset in session.scalars(
            select(Dataset).where(
                Dataset.publisher_id.in_(partner_ids(insee).values()),
                Dataset.state == PUBLISHED,
            ).order_by(Dataset.updated_at)
        )
        if rules.is_overdue(dataset.frequency, _day(dataset.updated_at), today)
    ]


def _day(moment):
    return None if moment is None else rules.legal_day(moment)


# -- resources


def add_resource(session, dataset, fields, now):
    schema_name, descriptor = None, None
    choice = fields["table_schema"]
    if choice and "name" in choice:
        schema_name = choice["name"]
        table_schema(schema_name, None, "table_schema.name")
    elif choice:
        descriptor = table_schema(None, choice["descriptor"],
                                  "table_schema.descriptor").to_descriptor()
    resource = Resource(id=uuid.uuid4(), dataset_id=dataset.id, title=fields["title"],
                        description=fields["description"], format=fields["format"],
                        schema_name=schema_name, schema_descriptor=descriptor, created_at=now)
    session.add(resource)
    session.flush()
    return resource


def table_schema(name, descriptor, field):
    """The declared schema, refused naming ``field`` when it is unknown or invalid."""
    try:
        return known_schema(name) if name else TableSchema.from_descriptor(descriptor)
    except SchemaError as error:
        errors = getattr(error, "errors", None) or {"": [str(error)]}
        raise Invalid({f"{field}.{path}".rstrip("."): messages
                       for path, messages in errors.items()}) from None


def declared_schema(resource):
    if resource.schema_name or resource.schema_descriptor:
        return table_schema(resource.schema_name, resource.schema_descriptor, "table_schema")
    return None


def resources_of(session, dataset):
    return list(session.scalars(
        select(Resource).where(Resource.dataset_id == dataset.id).order_by(Resource.created_at,
                                                                           Resource.id)))


def resource_of(session, dataset, resource_id):
    try:
        key = uuid.UUID(str(resource_id))
    except ValueError:
        key = None
    resource = session.get(Resource, key) if key else None
    if resource is None or resource.dataset_id != dataset.id:
        raise NotFound("No such resource in this dataset.")
    return resource


def versions_of(session, resource):
    return list(session.scalars(
        select(Version).where(Version.resource_id == resource.id).order_by(Version.number)))


def current_version(session, resource):
    return session.scalars(
        select(Version).where(Version.resource_id == resource.id)
        .order_by(Version.number.desc()).limit(1)
    ).first()


# -- views


def version_view(version):
    return {name: getattr(version, name) for name in (
        "number", "file_name", "sha256", "byte_size", "row_count", "encoding", "delimiter",
        "uploaded_at")}


def resource_view(session, resource):
    versions = versions_of(session, resource)
    current = versions[-1] if versions else None
    declared = resource.schema_descriptor
    if resource.schema_name:
        declared = known_schema(resource.schema_name).to_descriptor()
    return {
        "id": resource.id, "title": resource.title, "description": resource.description,
        "format": resource.format, "media_type": MEDIA_TYPES[resource.format],
        "schema_name": resource.schema_name,
        "table_schema": declared or (current.table_schema if current else None),
        "current_version": version_view(current) if current else None,
        "versions": [version_view(v) for v in versions],
    }


def publisher_ref(publisher):
    return {"id": publisher.id, "kind": publisher.kind, "name": publisher.name}


def dataset_view(session, dataset, today):
    publisher = session.get(Publisher, dataset.publisher_id)
    updated_on = _day(dataset.updated_at)
    return {
        "id": dataset.id, "publisher": publisher_ref(publisher),
        **{name: getattr(dataset, name) for name in DATASET_FIELDS},
        "spatial": dataset.spatial or publisher.name,
        "licence": dataset.licence, "state": dataset.state,
        "maintained_by": dataset.maintained_by,
        "created_at": dataset.created_at, "published_at": dataset.published_at,
        "updated_at": dataset.updated_at,
        "update_due_on": rules.update_due_on(dataset.frequency, updated_on),
        "overdue": dataset.state == PUBLISHED
        and rules.is_overdue(dataset.frequency, updated_on, today),
        "resources": [resource_view(session, r) for r in resources_of(session, dataset)],
    }


def publisher_view(session, publisher, today):
    datasets = list(published_datasets(session, publisher.id))
    return {**publisher_ref(publisher), "insee": publisher.insee, "siren": publisher.siren,
            "dataset_count": len(datasets),
            "datasets": [dataset_view(session, d, today) for d in datasets]}


def overdue_view(dataset):
    updated_on = _day(dataset.updated_at)
    return {"id": dataset.id, "publisher": dataset.publisher_id, "title": dataset.title,
            "frequency": dataset.frequency, "updated_at": dataset.updated_at,
            "update_due_on": rules.update_due_on(dataset.frequency, updated_on)}


# -- DCAT-AP


def _dcat_publisher(publisher):
    return {"id": publisher.id, "name": publisher.name, "kind": publisher.kind,
            "insee": publisher.insee, "siren": publisher.siren}


def dcat_catalogue(session, publisher, base_url):
    """The catalogue's own description: the portal's, or a publisher's page."""
    if publisher is None:
        return {"base_url": base_url, "title": "Portail open data de Montpellier Méditerranée "
                "Métropole et de ses communes", "publisher": _dcat_publisher(
                    session.get(Publisher, METROPOLE)),
                "homepage": f"{base_url}/api/v1/opendata/datasets"}
    return {"base_url": base_url, "title": f"Données ouvertes — {publisher.name}",
            "publisher": _dcat_publisher(publisher),
            "homepage": f"{base_url}/api/v1/opendata/publishers/{publisher.id}"}


def dcat_view(session, dataset, base_url):
    """A published dataset as ``dcat.catalog_graph`` reads it."""
    publisher = session.get(Publisher, dataset.publisher_id)
    landing_page = f"{base_url}/api/v1/opendata/datasets/{dataset.id}"
    distributions = []
    for resource in resources_of(session, dataset):
        version = current_version(session, resource)
        if version is None:
            continue
        resource_url = f"{landing_page}/resources/{resource.id}"
        distributions.append({
            "id": str(resource.id), "title": resource.title,
            "description": resource.description, "format": resource.format,
            "media_type": MEDIA_TYPES[resource.format], "version": version.number,
            "byte_size": version.byte_size, "sha256": version.sha256,
            "issued": resource.created_at, "modified": version.uploaded_at,
            "download_url": f"{resource_url}/export.csv", "access_url": f"{resource_url}/records",
            "schema": ({"name": resource.schema_name, "url": None}
                       if resource.schema_name else None),
        })
    return {
        "id": str(dataset.id), "publisher": _dcat_publisher(publisher),
        "title": dataset.title, "description": dataset.description,
        "keywords": dataset.keywords, "theme": dataset.theme, "licence": dataset.licence,
        "frequency": dataset.frequency, "temporal_start": dataset.temporal_start,
        "temporal_end": dataset.temporal_end, "spatial": dataset.spatial or publisher.name,
        "spatial_insee": publisher.insee, "contact": dataset.contact,
        "issued": dataset.published_at, "modified": dataset.updated_at or dataset.published_at,
        "landing_page": landing_page, "resources": distributions,
    }
