"""Reading an upload as a table: a header and rows of cells, whatever its encoding and
delimiter, streamed so that memory stays bounded by a row, not by the file.

A commune's CSV comes out of a spreadsheet: often cp1252 with ";" (French Excel), sometimes
UTF-8 with a BOM, tabs or commas. The encoding and delimiter are found from the file's first
64 KiB, and told back (``Dialect``) so that the stored copy, in UTF-8, says what it came from.
"""

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import charset_normalizer

MEDIA_TYPES = {"text/csv": "csv", "application/json": "json", "application/geo+json": "geojson"}
SAMPLE_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
CHUNK_BYTES = 1024 * 1024
# charset_normalizer cannot tell these apart on a short French text, and its first guess is
# often cp1250 ("Fête" read as "Fęte"); a French spreadsheet's export is cp1252.
LATIN_GUESSES = frozenset({"cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "iso8859-1",
                           "iso8859-2", "iso8859-3", "iso8859-4", "iso8859-9", "iso8859-10",
                           "iso8859-13", "iso8859-14", "iso8859-15", "iso8859-16", "mac-roman",
                           "mac-latin2", "cp437", "cp850", "cp858"})


class UnreadableFile(ValueError):
    """The file cannot be read as its format; ``reason`` a sentence naming the problem,
    ``row`` the row where it was found, if any."""

    def __init__(self, reason: str, row: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.row = row


@dataclass(frozen=True)
class Dialect:
    encoding: str  # a Python codec name: "utf-8", "utf-8-sig" (BOM), "cp1252"...
    delimiter: str  # one of DELIMITERS


class RowRead(NamedTuple):
    """One row as read: ``cells`` None when ``problem`` (a reason for a CellError of the
    whole row) says why the row cannot be read as cells."""
    number: int
    cells: dict | None
    problem: str | None


def sniff_csv(sample: bytes) -> Dialect:
    """The encoding and delimiter of a CSV file, from its first bytes (which may end in the
    middle of a character or of a row)."""
    encoding = _encoding(sample)
    text = codecs.getincrementaldecoder(encoding)("replace").decode(sample, final=False)
    return Dialect(encoding, _delimiter(text))


def _encoding(sample):
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            # Not final: the sample may cut a multi-byte character at its end.
            codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    guess = charset_normalizer.from_bytes(sample).best()
    encoding = codecs.lookup(guess.encoding).name if guess else None
    if encoding is None or encoding in LATIN_GUESSES:
        try:
            sample.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            return encoding or "latin-1"
    return encoding


def _delimiter(text):
    # Only whole lines: a row cut at the sample's end would mislead the sniffer.
    lines = text[:text.rfind("\n") + 1] or text
    try:
        delimiter = csv.Sniffer().sniff(lines, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = None
    if delimiter and delimiter in DELIMITERS:
        return delimiter
    header = text.lstrip("\r\n").split("\n", 1)[0]
    counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


class Table:
    """An upload read as a header and rows. Its rows can be read once: they stream from the
    file."""

    def __init__(self, header: list[str], dialect: Dialect | None, rows: Iterator[RowRead],
                 raw_chunks):
        self.header = header
        self.dialect = dialect
        self._rows = rows
        self._raw_chunks = raw_chunks

    def rows(self) -> Iterator[RowRead]:
        """(row number as in a CellError, cells, problem) for each row; blank lines
        skipped."""
        return self._rows

    def raw_chunks(self) -> Iterator[bytes]:
        """The file as uploaded, in chunks."""
        return self._raw_chunks()


class _TextView(io.TextIOWrapper):
    """Text read from the caller's binary stream, which stays open when the view is closed or
    collected: the caller reads it again (the checker's second pass, the stored copy)."""

    def close(self):
        if self.buffer is not None:
            self.detach()


def read_csv(binary_stream, dialect: Dialect | None = None) -> Table:
    """A CSV file as a table. ``binary_stream`` must be seekable when ``dialect`` is not
    given: the first 64 KiB are read to find it, then read again as rows."""
    start = binary_stream.tell()
    if dialect is None:
        dialect = sniff_csv(binary_stream.read(SAMPLE_BYTES))
        binary_stream.seek(start)
    text = _TextView(binary_stream, encoding=dialect.encoding, newline="")
    records = csv.reader(text, delimiter=dialect.delimiter)
    header, number = None, 0
    try:
        for record in records:
            number += 1
            if record:
                header = record
                break
    except (UnicodeDecodeError, csv.Error) as error:
        raise _csv_failure(error, binary_stream, start, dialect) from None
    if header is None:
        raise UnreadableFile("the file is empty: it has no header row", 1)

    def rows():
        width = len(header)
        row = number
        try:
            for row, record in enumerate(records, start=number + 1):
                if len(record) == width:
                    yield RowRead(row, dict(zip(header, record, strict=True)), None)
                elif record:
                    count = len(record)
                    yield RowRead(row, None, f"the row has {count} cell{'s' * (count != 1)}, "
                                             f"the header {width}")
        except (UnicodeDecodeError, csv.Error) as error:
            raise _csv_failure(error, binary_stream, start, dialect, row + 1) from None

    def raw_chunks():
        binary_stream.seek(start)
        while chunk := binary_stream.read(CHUNK_BYTES):
            yield chunk

    return Table(header, dialect, rows(), raw_chunks)


def _csv_failure(error, binary_stream, start, dialect, row=None):
    if isinstance(error, csv.Error):
        return UnreadableFile(f"the file is not readable as CSV: {error}", row)
    # The text is decoded a block ahead of the rows: the bad bytes' row is found again.
    row = _row_of_bad_bytes(binary_stream, start, dialect) or row
    return UnreadableFile(f"the file is not valid {dialect.encoding} text; save it as UTF-8 "
                          "and upload it again", row)


def _row_of_bad_bytes(binary_stream, start, dialect):
    try:
        binary_stream.seek(start)
    except (OSError, ValueError):
        return None
    text = _TextView(binary_stream, encoding=dialect.encoding, newline="",
                     errors="surrogateescape")
    try:
        for number, record in enumerate(csv.reader(text, delimiter=dialect.delimiter),
                                        start=1):
            if any(_has_bad_byte(cell) for cell in record):
                return number
    except csv.Error:
        return None
    finally:
        text.close()
    return None


def _has_bad_byte(cell):
    return any("\udc80" <= character <= "\udcff" for character in cell)


def read_json(binary_stream) -> Table:
    """A JSON array of flat objects as a table, its header the objects' keys in the order
    they first come. Read whole: uploads are small enough (24 MiB at most)."""
    content = binary_stream.read()
    items = _json(content)
    if not isinstance(items, list):
        raise UnreadableFile(f"the file holds a JSON {_json_kind(items)}, not an array of "
                             "objects")
    header = _keys(item for item in items if isinstance(item, dict))

    def rows():
        for number, item in enumerate(items, start=1):
            if isinstance(item, dict):
                yield RowRead(number, item, None)
            else:
                yield RowRead(number, None, f"item {number} is a JSON {_json_kind(item)}, "
                                            "not an object")

    return Table(header, None, rows(), lambda: iter((content,)))


def read_geojson(binary_stream) -> Table:
    """A GeoJSON FeatureCollection as a table: each feature's properties, and a "geometry"
    column holding its geometry as compact JSON text."""
    content = binary_stream.read()
    collection = _json(content)
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise UnreadableFile("the file is not a GeoJSON FeatureCollection")
    features = collection.get("features")
    if not isinstance(features, list):
        raise UnreadableFile("the FeatureCollection has no list of features")
    header = [key for key in _keys(_properties(feature) for feature in features)
              if key != "geometry"] + ["geometry"]

    def rows():
        for number, feature in enumerate(features, start=1):
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                yield RowRead(number, None, f"item {number} is not a GeoJSON Feature")
                continue
            geometry = feature.get("geometry")
            cells = dict(_properties(feature))
            cells["geometry"] = None if geometry is None else json.dumps(
                geometry, ensure_ascii=False, separators=(",", ":"))
            yield RowRead(number, cells, None)

    return Table(header, None, rows(), lambda: iter((content,)))


def read_upload(binary_stream, fmt: str) -> Table:
    """The upload as a table; ``fmt`` one of "csv", "json", "geojson"."""
    readers = {"csv": read_csv, "json": read_json, "geojson": read_geojson}
    if fmt not in readers:
        raise ValueError(f"unknown format {fmt!r}")
    return readers[fmt](binary_stream)


def _json(content):
    try:
        return json.loads(content)
    except UnicodeDecodeError:
        raise UnreadableFile("the file is not UTF-8 text, as JSON must be") from None
    except json.JSONDecodeError as error:
        raise UnreadableFile(f"the file is not valid JSON: {error.msg} (line {error.lineno}, "
                             f"column {error.colno})") from None


def _json_kind(value):
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number"}.get(type(value), "null")


def _properties(feature):
    properties = feature.get("properties") if isinstance(feature, dict) else None
    return properties if isinstance(properties, dict) else {}


def _keys(objects):
    keys = {}
    for item in objects:
        keys.update(dict.fromkeys(item))
    return list(keys)
