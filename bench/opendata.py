"""The open data portal at the scale of a large resource: a 1,000,000-row CSV ingested with
every row checked against its Table Schema, a filtered and sorted first page queried again
and again, and the whole resource exported slice by slice as the gateway streams it.

Each phase runs in a process of its own (``python -m bench.opendata ingest|query DIR``), so
that its peak RSS is its own: memory must stay bounded by a batch, whatever the file's size.
The service's own functions do the work, on a SQLite file, as in ``make run``.
"""

import csv
import io
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROWS = 1_000_000
QUERIES = 200
COMMUNES = ("34022", "34027", "34057", "34058", "34077", "34090", "34134", "34172")
SCHEMA = {"fields": [
    {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
    {"name": "commune", "type": "string", "constraints": {"pattern": "^[0-9]{5}$"}},
    {"name": "date", "type": "date"},
    {"name": "montant", "type": "number", "constraints": {"minimum": 0}},
    {"name": "objet", "type": "string", "constraints": {"maxLength": 200}},
    {"name": "paye", "type": "boolean"},
]}
OBJECTS = ("Fournitures scolaires", "Entretien de la voirie", "Éclairage public",
           "Restauration collective", "Espaces verts", "Subvention association sportive")


def write_csv(path, rows=ROWS):
    """A subsidies-like file: a semicolon, Windows-1252, as a commune's spreadsheet exports."""
    draw = random.Random(6)
    start = date(2015, 1, 1)
    with path.open("w", encoding="cp1252", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow([field["name"] for field in SCHEMA["fields"]])
        for number in range(1, rows + 1):
            writer.writerow([number, draw.choice(COMMUNES),
                             (start + timedelta(days=draw.randrange(3650))).isoformat(),
                             f"{draw.randrange(1, 10_000_000) / 100:.2f}",
                             draw.choice(OBJECTS), draw.choice(("true", "false"))])


def _peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _database(folder):
    from servicekit.database import make_engine, migrate

    engine = make_engine(f"sqlite:///{folder / 'opendata.sqlite3'}")
    migrate(engine, "services.opendata")
    return engine


def ingest(folder):
    from sqlalchemy.orm import Session

    from servicekit.files import FileStore
    from services.opendata import catalog, ingest

    engine = _database(folder)
    files = FileStore(folder / "files")
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        catalog.ensure_publishers(session)
        dataset = catalog.create_dataset(session, "34134", {
            "publisher": "commune", "title": "Subventions", "description": "Bench.",
            "keywords": [], "theme": "ECON", "licence": {"code": "lo-2.0"},
            "frequency": "annual", "temporal_start": None, "temporal_end": None,
            "spatial": None, "contact": {"name": "Bench", "email": "bench@example.org"},
        }, None, now)
        added = catalog.add_resource(session, dataset, {
            "title": "Subventions", "description": None, "format": "csv",
            "table_schema": {"descriptor": SCHEMA}}, now)
        ids = {"dataset": str(dataset.id), "resource": str(added.id)}
    before = _peak_rss_mib()
    started = time.perf_counter()
    with Session(engine) as session, session.begin(), (folder / "upload.csv").open("rb") as up:
        dataset = catalog.commune_dataset(session, "34134", ids["dataset"])
        version = ingest.ingest_version(session, files, dataset,
                                        catalog.resource_of(session, dataset, ids["resource"]),
                                        up, "upload.csv", None, now)
        rows = version.row_count
    seconds = time.perf_counter() - started
    return {**ids, "rows": rows, "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds),
            "rss_before_mib": round(before), "peak_rss_mib": round(_peak_rss_mib())}


def query(folder, ids):
    from sqlalchemy.orm import Session

    from services.opendata import catalog, ingest

    engine = _database(folder)
    draw = random.Random(7)
    latencies = []
    with Session(engine) as session:
        dataset = catalog.commune_dataset(session, "34134", ids["dataset"])
        resource_row = catalog.resource_of(session, dataset, ids["resource"])
        for _ in range(QUERIES):
            threshold = draw.randrange(0, 100_000)
            started = time.perf_counter()
            page = ingest.query_records(session, resource_row, {
                "filter": [f"commune={draw.choice(COMMUNES)}", f"montant>={threshold}"],
                "sort": "-date", "limit": 100})
            latencies.append((time.perf_counter() - started) * 1000)
            assert len(page.results) == 100
        started = time.perf_counter()
        exported, cursor, sink = 0, None, io.StringIO()
        while True:
            page = ingest.query_records(session, resource_row, {
                "filter": [], "limit": 5000, "cursor": cursor})
            writer = csv.writer(sink)
            writer.writerows([record.values() for record in page.results])
            exported += len(page.results)
            sink.seek(0)
            sink.truncate()
            cursor = page.next_cursor
            if cursor is None:
                break
        export_seconds = time.perf_counter() - started
    latencies.sort()
    return {"queries": QUERIES, "p50_ms": round(statistics.median(latencies), 2),
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
            "exported_rows": exported, "export_seconds": round(export_seconds, 2),
            "export_rows_per_second": round(exported / export_seconds),
            "peak_rss_mib": round(_peak_rss_mib())}


def _phase(*args):
    done = subprocess.run([sys.executable, "-m", "bench.opendata", *map(str, args)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"bench.opendata {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(rows=ROWS):
    """Each phase in its own process; the figures ``bench.report`` prints."""
    with tempfile.TemporaryDirectory(prefix="communs-bench-opendata-") as folder:
        folder = Path(folder)
        write_csv(folder / "upload.csv", rows)
        size = (folder / "upload.csv").stat().st_size
        ingested = _phase("ingest", folder)
        queried = _phase("query", folder, json.dumps(
            {"dataset": ingested["dataset"], "resource": ingested["resource"]}))
    return {"file_mib": round(size / 2**20, 1), "ingest": ingested, "query": queried}


if __name__ == "__main__":
    phase, folder = sys.argv[1], Path(sys.argv[2])
    figures = ingest(folder) if phase == "ingest" else query(folder, json.loads(sys.argv[3]))
    print(json.dumps(figures))
