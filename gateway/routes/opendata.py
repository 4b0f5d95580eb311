"""Routes of the open data portal (Art. 1, fourth application): anyone searches and reads the
published datasets, their records and exports, and harvests the DCAT-AP catalogue; a
commune's agents create datasets, upload their files and publish them."""

import csv
import io
import json

from werkzeug.wrappers import Response

from contracts.opendata import (
    MAX_PAGE,
    DatasetChangesSchema,
    DatasetPageSchema,
    DatasetSchema,
    DatasetSearchSchema,
    ExportQuerySchema,
    NewDatasetSchema,
    NewResourceSchema,
    OverdueDatasetSchema,
    PublisherSchema,
    PublisherSummarySchema,
    RecordPageSchema,
    RecordsQuerySchema,
    ResourceSchema,
    UploadSchema,
)
from gateway.http import route
from gateway.routes import ADMIN_OR_AGENT

PORTAL = "/api/v1/opendata"
DATASET = f"{PORTAL}/datasets/<uuid:dataset_id>"
RESOURCE = f"{DATASET}/resources/<uuid:resource_id>"
PUBLISHER = f"{PORTAL}/publishers/<publisher_id>"
COMMUNE = "/api/v1/communes/<insee>/opendata"
COMMUNE_DATASET = f"{COMMUNE}/datasets/<uuid:dataset_id>"
COMMUNE_RESOURCE = f"{COMMUNE_DATASET}/resources/<uuid:resource_id>"
# A file travels base64 in JSON: 32 MiB of request carry some 24 MiB of CSV.
UPLOAD_BODY_BYTES = 32 * 1024 * 1024
# Rows an export asks the service for at a time: its memory, and the gateway's, stay flat.
EXPORT_SLICE = MAX_PAGE
JSONLD = "application/ld+json"
TURTLE = "text/turtle"
# A commune that does not subscribe to open data is refused by the service: 403.
REFUSALS = (403, 404)


class OpendataRoutes:
    # -- the public portal

    @route("GET", f"{PORTAL}/datasets", summary="Search the published datasets of every "
           "publisher", tag="opendata", query=DatasetSearchSchema, response=DatasetPageSchema,
           public=True)
    def search_datasets(self, request, query, **_):
        return self.rpc("opendata", "search_datasets", DatasetSearchSchema().dump(query))

    @route("GET", DATASET, summary="A published dataset, its licence and resources",
           tag="opendata", response=DatasetSchema, public=True, errors=(404,))
    def dataset(self, request, dataset_id, **_):
        return self.rpc("opendata", "dataset", str(dataset_id))

    @route("GET", f"{RESOURCE}/records",
           summary="The records of a resource's current version: filters, sort, fields, "
                   "pages by cursor",
           tag="opendata", query=RecordsQuerySchema, response=RecordPageSchema, public=True,
           errors=(404,))
    def records(self, request, dataset_id, resource_id, query, **_):
        return self.rpc("opendata", "records", str(dataset_id), str(resource_id),
                        RecordsQuerySchema().dump(query))

    @route("GET", f"{RESOURCE}/export.csv",
           summary="Every record (filtered, sorted) as UTF-8 CSV, streamed", tag="opendata",
           query=ExportQuerySchema, public=True, errors=(404,), media_type="text/csv")
    def export_csv(self, request, dataset_id, resource_id, query, **_):
        slices = self._export_slices(dataset_id, resource_id, query)
        return self._stream(_csv_lines(slices), "text/csv; charset=utf-8",
                            f"{resource_id}.csv")

    @route("GET", f"{RESOURCE}/export.json",
           summary="Every record (filtered, sorted) as a JSON array, streamed",
           tag="opendata", query=ExportQuerySchema, public=True, errors=(404,))
    def export_json(self, request, dataset_id, resource_id, query, **_):
        slices = self._export_slices(dataset_id, resource_id, query)
        return self._stream(_json_chunks(slices), "application/json", f"{resource_id}.json")

    def _export_slices(self, dataset_id, resource_id, query):
        """The export's slices, the first asked for now so that a wrong dataset or filter
        is answered as a problem before any byte of the file is sent."""
        wire = {**ExportQuerySchema().dump(query), "limit": EXPORT_SLICE}
        first = self.rpc("opendata", "export_page", str(dataset_id), str(resource_id), wire)

        def slices():
            current = first
            yield current
            while current["next_cursor"]:
                current = self.rpc("opendata", "export_page", str(dataset_id),
                                   str(resource_id), {**wire, "cursor": current["next_cursor"]})
                yield current

        return slices()

    @staticmethod
    def _stream(chunks, mimetype, file_name):
        return Response(chunks, mimetype=mimetype, headers={
            "Content-Disposition": f'attachment; filename="{file_name}"'})

    @route("GET", f"{PORTAL}/catalog.jsonld",
           summary="Every published dataset as DCAT-AP, in JSON-LD (for data.gouv.fr)",
           tag="opendata", public=True, media_type=JSONLD)
    def catalog_jsonld(self, request, **_):
        return self.rpc("opendata", "catalog")

    @route("GET", f"{PORTAL}/catalog.ttl",
           summary="Every published dataset as DCAT-AP, in Turtle", tag="opendata",
           public=True, media_type=TURTLE)
    def catalog_turtle(self, request, **_):
        return self.rpc("opendata", "catalog", syntax="turtle")

    @route("GET", f"{PORTAL}/publishers",
           summary="The portal's publishers: each commune, its CCAS, the Metropole",
           tag="opendata", response=PublisherSummarySchema, many=True, public=True)
    def publishers(self, request, **_):
        return self.rpc("opendata", "publishers")

    @route("GET", PUBLISHER, summary="A publisher's page and its published datasets",
           tag="opendata", response=PublisherSchema, public=True, errors=(404,))
    def publisher(self, request, publisher_id, **_):
        return self.rpc("opendata", "publisher", publisher_id)

    @route("GET", f"{PUBLISHER}/catalog.jsonld",
           summary="A publisher's published datasets as DCAT-AP, in JSON-LD", tag="opendata",
           public=True, errors=(404,), media_type=JSONLD)
    def publisher_catalog_jsonld(self, request, publisher_id, **_):
        return self.rpc("opendata", "catalog", publisher_id)

    @route("GET", f"{PUBLISHER}/catalog.ttl",
           summary="A publisher's published datasets as DCAT-AP, in Turtle", tag="opendata",
           public=True, errors=(404,), media_type=TURTLE)
    def publisher_catalog_turtle(self, request, publisher_id, **_):
        return self.rpc("opendata", "catalog", publisher_id, syntax="turtle")

    # -- a commune's agents

    @route("POST", f"{COMMUNE}/datasets",
           summary="Create a dataset of the commune or of its CCAS (a draft)", tag="opendata",
           body=NewDatasetSchema, response=DatasetSchema, status=201, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def create_dataset(self, request, principal, insee, body, **_):
        created = self.rpc("opendata", "create_dataset", insee, body, created_by=principal.id)
        return created, {"Location": f"/api/v1/communes/{insee}/opendata/datasets/"
                                     f"{created['id']}"}

    @route("GET", f"{COMMUNE}/datasets", summary="The commune's datasets, drafts included",
           tag="opendata", response=DatasetSchema, many=True, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def commune_datasets(self, request, insee, **_):
        return self.rpc("opendata", "commune_datasets", insee)

    @route("GET", COMMUNE_DATASET, summary="One of the commune's datasets, draft or published",
           tag="opendata", response=DatasetSchema, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def commune_dataset(self, request, insee, dataset_id, **_):
        return self.rpc("opendata", "commune_dataset", insee, str(dataset_id))

    @route("PATCH", COMMUNE_DATASET, summary="Change a dataset's description or licence",
           tag="opendata", body=DatasetChangesSchema, response=DatasetSchema,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def change_dataset(self, request, insee, dataset_id, body, **_):
        return self.rpc("opendata", "change_dataset", insee, str(dataset_id), body)

    @route("POST", f"{COMMUNE_DATASET}/resources",
           summary="Add a resource (CSV, JSON or GeoJSON), with the Table Schema its rows "
                   "must follow",
           tag="opendata", body=NewResourceSchema, response=ResourceSchema, status=201,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def add_resource(self, request, insee, dataset_id, body, **_):
        return self.rpc("opendata", "add_resource", insee, str(dataset_id), body)

    @route("POST", f"{COMMUNE_RESOURCE}/versions",
           summary="Upload the resource's next version: every row checked, the file refused "
                   "whole with each error's row, column and reason",
           tag="opendata", body=UploadSchema, max_body=UPLOAD_BODY_BYTES,
           response=ResourceSchema, status=201, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def upload_version(self, request, principal, insee, dataset_id, resource_id, body, **_):
        # Ingesting a large file takes longer than a query: a minute before giving up.
        return self.rpc("opendata", "upload_version", insee, str(dataset_id),
                        str(resource_id), body, uploaded_by=principal.id, timeout=60)

    @route("GET", f"{COMMUNE_RESOURCE}/records",
           summary="The records of a resource, drafts included", tag="opendata",
           query=RecordsQuerySchema, response=RecordPageSchema, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def commune_records(self, request, insee, dataset_id, resource_id, query, **_):
        return self.rpc("opendata", "records", str(dataset_id), str(resource_id),
                        RecordsQuerySchema().dump(query), insee=insee)

    @route("POST", f"{COMMUNE_DATASET}/publication",
           summary="Publish the dataset: it needs a licence and an uploaded file",
           tag="opendata", response=DatasetSchema, roles=ADMIN_OR_AGENT,
           errors=(*REFUSALS, 409))
    def publish_dataset(self, request, insee, dataset_id, **_):
        return self.rpc("opendata", "publish_dataset", insee, str(dataset_id))

    @route("GET", f"{COMMUNE}/overdue-datasets",
           summary="The commune's and its CCAS's datasets late for their update (Art. 2)",
           tag="opendata", response=OverdueDatasetSchema, many=True, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def overdue_datasets(self, request, insee, **_):
        return self.rpc("opendata", "overdue_datasets", insee)


def _csv_lines(slices):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header_written = False
    for piece in slices:
        if not header_written:
            writer.writerow(piece["fields"])
            header_written = True
        writer.writerows([_csv_cell(v) for v in row] for row in piece["rows"])
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _json_chunks(slices):
    yield b"["
    first = True
    for piece in slices:
        for row in piece["rows"]:
            record = json.dumps(dict(zip(piece["fields"], row, strict=True)),
                                ensure_ascii=False)
            yield (record if first else "," + record).encode("utf-8")
            first = False
    yield b"]"
