"""An upload becomes a version: read in any encoding and delimiter, every row checked against
the resource's Table Schema (or one inferred from the file), stored as UTF-8, its rows loaded
into the version's records table — or refused whole, with each error's row, column and
reason, leaving nothing behind.

Memory stays bounded by a batch of rows, whatever the file's size: the rows stream from the
upload to the file store and the database.
"""

import csv
import io
import uuid

from sqlalchemy import func, select

from contracts.errors import InvalidRows, NotFound
from services.opendata import catalog, reading
from services.opendata.models import Version
from services.opendata.records import RecordsTable, Sort, table_name
from services.opendata.tableschema import RowChecker, TableSchema, infer_schema

BATCH_ROWS = 5000
# A file with a million bad rows is told about its first thousand, and how many there were.
MAX_REPORTED_ERRORS = 1000


class RowErrors:
    """The errors found so far: every one counted, the first ``MAX_REPORTED_ERRORS`` kept."""

    def __init__(self):
        self.count = 0
        self.reported = []

    def add(self, row, column, reason):
        self.count += 1
        if len(self.reported) < MAX_REPORTED_ERRORS:
            self.reported.append((row, column, reason))

    def extend(self, errors):
        for error in errors:
            self.add(error.row, error.column, error.reason)

    def refusal(self, file_name):
        rows = len({row for row, _, _ in self.reported})
        summary = (f"{self.count} error{'s' if self.count > 1 else ''} in {file_name}"
                   + ("" if self.count <= len(self.reported)
                      else f"; the first {len(self.reported)} are listed"))
        return InvalidRows({"content": [summary + "."]},
                           f"The file is refused: nothing of it is published ({summary}, "
                           f"on {rows}{'+' if self.count > len(self.reported) else ''} "
                           f"row{'s' if rows > 1 else ''}).",
                           self.reported, self.count)


def _unreadable(error, file_name):
    errors = RowErrors()
    errors.add(error.row or 1, None, error.reason)
    return errors.refusal(file_name)


def ingest_version(session, files, dataset, resource, stream, file_name, uploaded_by, now,
                   pause=lambda: None):
    """The resource's next version, from ``stream`` (a seekable binary file). ``pause`` is
    called between batches, so that a long load lets the service's other work through."""
    declared = catalog.declared_schema(resource)
    try:
        schema = declared or _inferred_schema(stream, resource.format)
        stream.seek(0)
        table = reading.read_upload(stream, resource.format)
    except reading.UnreadableFile as error:
        raise _unreadable(error, file_name) from None
    version_id = uuid.uuid4()
    records = RecordsTable(table_name(version_id), schema.fields)
    connection = session.connection()
    records.create(connection)
    try:
        with files.writer() as stored:
            row_count = _load(table, schema, records, connection, stored, resource.format,
                              file_name, pause)
        records.create_indexes(connection)
    except BaseException:
        records.drop(connection)
        raise
    number = (session.scalar(select(func.max(Version.number))
                             .where(Version.resource_id == resource.id)) or 0) + 1
    version = Version(
        id=version_id, resource_id=resource.id, number=number, file_name=file_name,
        sha256=stored.sha256, byte_size=stored.size, row_count=row_count,
        encoding=table.dialect.encoding if table.dialect else "utf-8",
        delimiter=table.dialect.delimiter if table.dialect else None,
        table_schema=schema.to_descriptor(), records_table=records.name,
        uploaded_by=uploaded_by, uploaded_at=now,
    )
    session.add(version)
    dataset.updated_at = now
    session.flush()
    return version


def _inferred_schema(stream, fmt):
    table = reading.read_upload(stream, fmt)
    return infer_schema(table.header, (row.cells for row in table.rows() if row.cells))


def _load(table, schema, records, connection, stored, fmt, file_name, pause):
    """Checks every row; loads and stores them while none has failed. Returns the count."""
    checker = RowChecker(schema)
    errors = RowErrors()
    errors.extend(checker.check_header(table.header))
    text = io.TextIOWrapper(_Sink(stored), encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n") if fmt == "csv" else None
    if writer:
        writer.writerow(table.header)
    batch, row_count = [], 0
    for row in table.rows():
        if row.problem:
            errors.add(row.number, None, row.problem)
            continue
        typed, row_errors = checker.check(row.number, row.cells)
        if row_errors:
            errors.extend(row_errors)
            continue
        row_count += 1
        if errors.count:
            continue
        batch.append((row.number, typed))
        if writer:
            writer.writerow([row.cells.get(name, "") for name in table.header])
        if len(batch) == BATCH_ROWS:
            records.insert(connection, batch)
            batch.clear()
            pause()
    if errors.count:
        raise errors.refusal(file_name)
    if batch:
        records.insert(connection, batch)
    if not writer:
        # JSON and GeoJSON are UTF-8 by definition (RFC 8259): stored as uploaded.
        for chunk in table.raw_chunks():
            stored.write(chunk)
    text.flush()
    return row_count


class _Sink(io.RawIOBase):
    """``StoredFile`` as the raw stream a ``TextIOWrapper`` writes to."""

    def __init__(self, stored):
        self._stored = stored

    def writable(self):
        return True

    def write(self, content):
        self._stored.write(bytes(content))
        return len(content)


def records_of(session, resource):
    """The records table of the resource's current version, or None before any upload."""
    version = catalog.current_version(session, resource)
    if version is None:
        return None
    return RecordsTable(version.records_table,
                        TableSchema.from_descriptor(version.table_schema).fields)


def query_records(session, resource, query):
    """A page of the current version's records for the records API's ``query``."""
    table = records_of(session, resource)
    if table is None:
        raise NotFound("This resource has no file yet.")
    sort = Sort(None)
    if query.get("sort"):
        descending = query["sort"].startswith("-")
        sort = Sort(query["sort"].lstrip("-"), descending)
    fields = [name.strip() for name in query["fields"].split(",")] if query.get("fields") \
        else None
    return table.query(
        session.connection(),
        filters=[table.parse_filter(text) for text in query["filter"]],
        sort=sort, fields=fields, limit=query["limit"], cursor=query.get("cursor"),
    )
