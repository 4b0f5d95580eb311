"""Open data service, the fourth application of Article 1: the shared portal where each
commune, its CCAS and the Metropole publish their datasets under a licence, and where anyone
reads them — a page per partner, a records API, exports and a DCAT-AP catalogue to harvest.

Reading is open to all. Writing is for the agents of communes that subscribe to open data
(free for them: Art. 4), which the service learns from subscriptions' events. It also keeps
each buyer's contracts' essential data (DECP) from procurement's ``contract.awarded``, and
publishes a closed participatory process's results from participation's ``process.closed``.
"""

import io

import eventlet
from nameko.dependency_providers import Config

from contracts.opendata import (
    DatasetChangesSchema,
    DatasetPageSchema,
    DatasetSchema,
    DatasetSearchSchema,
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
from servicekit.config import public_url
from servicekit.database import Database, Seed
from servicekit.files import Files
from servicekit.inbox import event_handler, idempotent
from servicekit.logging import get_logger
from servicekit.service import CommunsService, rpc
from servicekit.subscribed import FollowsSubscriptions
from servicekit.validation import load
from services.opendata import catalog, dcat, decp, ingest, participation
from services.opendata.models import Base

log = get_logger(__name__)

APPLICATION = "opendata"


class OpendataService(FollowsSubscriptions, CommunsService):
    name = "opendata"
    application = APPLICATION
    db = Database(Base.metadata)
    files = Files()
    partners = Seed(lambda session, now: catalog.ensure_publishers(session), "publishers")
    config = Config()


    def _dataset_view(self, session, dataset):
        return DatasetSchema().dump(catalog.dataset_view(session, dataset, self.clock.today()))

    # -- what anyone reads

    @rpc
    def publishers(self):
        with self.db.transaction() as session:
            return PublisherSummarySchema(many=True).dump(
                [catalog.publisher_view(session, p, self.clock.today())
                 for p in catalog.publishers(session)])

    @rpc
    def publisher(self, publisher_id):
        with self.db.transaction() as session:
            return PublisherSchema().dump(catalog.publisher_view(
                session, catalog.publisher_of(session, publisher_id), self.clock.today()))

    @rpc
    def search_datasets(self, query):
        query = load(DatasetSearchSchema(), query)
        with self.db.transaction() as session:
            total, page = catalog.search(session, **query)
            return DatasetPageSchema().dump({
                "total_count": total,
                "results": [catalog.dataset_view(session, d, self.clock.today())
                            for d in page]})

    @rpc
    def dataset(self, dataset_id):
        with self.db.transaction() as session:
            return self._dataset_view(session, catalog.public_dataset(session, dataset_id))

    @rpc
    def records(self, dataset_id, resource_id, query, insee=None):
        """A page of the current version's records; a commune's agent (``insee``) also reads
        its drafts."""
        query = load(RecordsQuerySchema(), query)
        with self.db.transaction() as session:
            dataset = (catalog.commune_dataset(session, insee, dataset_id) if insee
                       else catalog.public_dataset(session, dataset_id))
            resource = catalog.resource_of(session, dataset, resource_id)
            page = ingest.query_records(session, resource, query)
            return RecordPageSchema().dump(page)

    @rpc
    def export_page(self, dataset_id, resource_id, query):
        """One slice of an export: rows as lists in the order of ``fields``. The gateway
        streams an export slice by slice, so that neither side holds a whole file."""
        query = load(RecordsQuerySchema(), query)
        with self.db.transaction() as session:
            dataset = catalog.public_dataset(session, dataset_id)
            resource = catalog.resource_of(session, dataset, resource_id)
            page = ingest.query_records(session, resource, query)
            return {"fields": page.fields,
                    "rows": [[record[name] for name in page.fields] for record in page.results],
                    "next_cursor": page.next_cursor}

    @rpc
    def catalog(self, publisher_id=None, syntax="json-ld"):
        """The published datasets as DCAT-AP (JSON-LD or Turtle), site-wide or a publisher's,
        with links under the gateway's public address."""
        base_url = public_url(self.config)
        with self.db.transaction() as session:
            publisher = catalog.publisher_of(session, publisher_id) if publisher_id else None
            graph = dcat.catalog_graph(
                [catalog.dcat_view(session, d, base_url)
                 for d in catalog.published_datasets(session, publisher_id)],
                **catalog.dcat_catalogue(session, publisher, base_url))
        return dcat.to_turtle(graph) if syntax == "turtle" else dcat.to_jsonld(graph)

    # -- what a commune's agents do

    @rpc
    def create_dataset(self, insee, dataset, created_by):
        dataset = load(NewDatasetSchema(), dataset)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            created = catalog.create_dataset(session, insee, dataset, created_by,
                                             self.clock.now())
            log.info("dataset.created", commune=insee, dataset_id=str(created.id))
            return self._dataset_view(session, created)

    @rpc
    def commune_datasets(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return DatasetSchema(many=True).dump(
                [catalog.dataset_view(session, d, self.clock.today())
                 for d in catalog.commune_datasets(session, insee)])

    @rpc
    def commune_dataset(self, insee, dataset_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return self._dataset_view(session,
                                      catalog.commune_dataset(session, insee, dataset_id))

    @rpc
    def change_dataset(self, insee, dataset_id, changes):
        changes = load(DatasetChangesSchema(), changes)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            dataset = catalog.commune_dataset(session, insee, dataset_id, lock=True)
            catalog.change_dataset(dataset, changes)
            return self._dataset_view(session, dataset)

    @rpc
    def add_resource(self, insee, dataset_id, resource):
        resource = load(NewResourceSchema(), resource)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            dataset = catalog.commune_dataset(session, insee, dataset_id, lock=True)
            added = catalog.add_resource(session, dataset, resource, self.clock.now())
            log.info("resource.added", commune=insee, dataset_id=str(dataset.id),
                     resource_id=str(added.id))
            return ResourceSchema().dump(catalog.resource_view(session, added))

    @rpc
    def upload_version(self, insee, dataset_id, resource_id, upload, uploaded_by):
        """Checks every row of the file; refuses it whole (each error's row, column and
        reason) or stores it as the resource's next version."""
        upload = load(UploadSchema(), upload)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            dataset = catalog.commune_dataset(session, insee, dataset_id, lock=True)
            resource = catalog.resource_of(session, dataset, resource_id)
            version = ingest.ingest_version(
                session, self.files, dataset, resource, io.BytesIO(upload["content"]),
                upload["file_name"], uploaded_by, self.clock.now(), pause=eventlet.sleep)
            log.info("version.uploaded", commune=insee, dataset_id=str(dataset.id),
                     resource_id=str(resource.id), version=version.number,
                     rows=version.row_count)
            return ResourceSchema().dump(catalog.resource_view(session, resource))

    @rpc
    def publish_dataset(self, insee, dataset_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            dataset = catalog.commune_dataset(session, insee, dataset_id, lock=True)
            catalog.publish(session, dataset, self.clock.now())
            log.info("dataset.published", commune=insee, dataset_id=str(dataset.id))
            return self._dataset_view(session, dataset)

    @rpc
    def overdue_datasets(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            today = self.clock.today()
            return OverdueDatasetSchema(many=True).dump([
                catalog.overdue_view(d) for d in catalog.overdue(session, insee, today)])

    # -- events



    @event_handler("procurement", "contract.awarded")
    @idempotent
    def on_contract_awarded(self, session, event):
        """The buyer's DECP dataset gets the contract as a new version; a contract already
        in it changes nothing."""
        version = decp.record_award(session, self.files, event.data, self.clock.now())
        if version is not None:
            log.info("decp.updated", commune=event.data["commune"],
                     contract_id=event.data["contract_id"], version=version.number)

    @event_handler("participation", "process.closed")
    @idempotent
    def on_process_closed(self, session, event):
        """The process's results become a published dataset of its commune or CCAS; a process
        already recorded changes nothing."""
        data = event.data
        version = participation.record_results(session, self.files, data, self.clock.now())
        if version is not None:
            log.info("participation.results_published", commune=data["commune"],
                     process_id=str(data["process_id"]), kind=data["kind"],
                     rows=version.row_count)
