"""Reading uploads: the encodings and delimiters communes' spreadsheets write, quoted cells,
ragged rows and blank lines with their row numbers, JSON arrays and GeoJSON collections, and
the files refused with a reason."""

import codecs
import io
import json

import pytest

from services.opendata.reading import (
    MEDIA_TYPES,
    Dialect,
    RowRead,
    UnreadableFile,
    read_csv,
    read_geojson,
    read_json,
    read_upload,
    sniff_csv,
)

FRENCH = "commune;montant;objet\r\nLavérune;1200;Fête\r\nPérols;300;Prix 3 €\r\n"


def rows_of(table):
    return [(row.number, row.cells, row.problem) for row in table.rows()]


@pytest.mark.parametrize("content, encoding, delimiter", [
    (FRENCH.encode("utf-8"), "utf-8", ";"),
    (codecs.BOM_UTF8 + FRENCH.encode("utf-8"), "utf-8-sig", ";"),
    (FRENCH.encode("cp1252"), "cp1252", ";"),
    (FRENCH.replace(";", ",").encode("cp1252"), "cp1252", ","),
    (FRENCH.replace(";", "\t").encode("utf-16"), "utf-16", "\t"),
    (b"a,b\n1,2\n", "utf-8", ","),
    (b"a\tb\n1\t2\n", "utf-8", "\t"),
    (b"a|b\n1|2\n", "utf-8", "|"),
    (b'nom,ville\n"Dupont; Jean",Lav\xc3\xa9rune\n', "utf-8", ","),
    (b'nom;ville\n"Dupont, Jean";"P\xc3\xa9rols, H\xc3\xa9rault"\n', "utf-8", ";"),
    (b"seule\n1\n2\n", "utf-8", ","),
    (b"a;b;c\n", "utf-8", ";"),
    (b"", "utf-8", ","),
])
def test_sniff(content, encoding, delimiter):
    assert sniff_csv(content) == Dialect(encoding, delimiter)


@pytest.mark.parametrize("cut", range(1, 4))
def test_a_sample_ending_mid_character_is_still_utf8(cut):
    content = "ville;montant\nLavérune;1\nPérols;2\n€".encode()
    assert sniff_csv(content[:-cut]) == Dialect("utf-8", ";")


@pytest.mark.parametrize("content", [
    FRENCH.encode("utf-8"),
    codecs.BOM_UTF8 + FRENCH.encode("utf-8"),
    FRENCH.encode("cp1252"),
    FRENCH.replace(";", "\t").encode("utf-8"),
    FRENCH.replace(";", ",").encode("cp1252"),
])
def test_a_csv_reads_to_the_same_cells_whatever_its_encoding_and_delimiter(content):
    table = read_csv(io.BytesIO(content))
    assert table.header == ["commune", "montant", "objet"]
    assert rows_of(table) == [
        (2, {"commune": "Lavérune", "montant": "1200", "objet": "Fête"}, None),
        (3, {"commune": "Pérols", "montant": "300", "objet": "Prix 3 €"}, None),
    ]


def test_quoted_cells_keep_their_delimiters_quotes_and_newlines():
    content = b'nom;objet\n"Dupont; Jean";"Dit ""le maire""\nsur deux lignes"\nA;B\n'
    assert rows_of(read_csv(io.BytesIO(content))) == [
        (2, {"nom": "Dupont; Jean", "objet": 'Dit "le maire"\nsur deux lignes'}, None),
        (3, {"nom": "A", "objet": "B"}, None),
    ]


def test_ragged_rows_are_told_and_blank_lines_skipped_but_counted():
    content = b"a;b;c\n1;2;3\n\n4;5\n6;7;8;9\n\r\n10;11;12\n;;\n"
    assert rows_of(read_csv(io.BytesIO(content))) == [
        (2, {"a": "1", "b": "2", "c": "3"}, None),
        (4, None, "the row has 2 cells, the header 3"),
        (5, None, "the row has 4 cells, the header 3"),
        (7, {"a": "10", "b": "11", "c": "12"}, None),
        (8, {"a": "", "b": "", "c": ""}, None),
    ]


def test_a_one_cell_row_is_told_in_the_singular():
    assert rows_of(read_csv(io.BytesIO(b"a;b\nx\n"))) == [
        (2, None, "the row has 1 cell, the header 2")]


def test_blank_lines_before_the_header_are_skipped():
    table = read_csv(io.BytesIO(b"\n\na,b\n1,2\n"))
    assert table.header == ["a", "b"]
    assert rows_of(table) == [(4, {"a": "1", "b": "2"}, None)]


def test_a_given_dialect_is_used_as_is():
    table = read_csv(io.BytesIO("a;b\né;2\n".encode("latin-1")), Dialect("latin-1", ";"))
    assert table.dialect == Dialect("latin-1", ";")
    assert rows_of(table) == [(2, {"a": "é", "b": "2"}, None)]


@pytest.mark.parametrize("content", [b"", b"\n\r\n\n"])
def test_an_empty_csv_is_unreadable(content):
    with pytest.raises(UnreadableFile) as raised:
        read_csv(io.BytesIO(content))
    assert "empty" in raised.value.reason and raised.value.row == 1


def test_a_decoding_error_past_the_sample_names_its_row():
    # The first 64 KiB are UTF-8; a cp1252 "é" comes on row 20,003.
    content = b"a;b\n" + b"x;y\n" * 20_000 + '"Pérols\n";1\nz;z\n'.encode("cp1252")
    table = read_csv(io.BytesIO(content))
    assert table.dialect.encoding == "utf-8"
    with pytest.raises(UnreadableFile) as raised:
        for _ in table.rows():
            pass
    assert raised.value.row == 20_002
    assert "utf-8" in raised.value.reason


def test_the_callers_stream_stays_open_and_rereadable():
    stream = io.BytesIO(FRENCH.encode("cp1252"))
    table = read_csv(stream)
    rows_of(table)
    del table
    assert not stream.closed
    stream.seek(0)
    assert rows_of(read_upload(stream, "csv"))[0][0] == 2


def test_a_csv_table_gives_back_the_file_as_uploaded():
    content = FRENCH.encode("cp1252")
    table = read_csv(io.BytesIO(content))
    rows_of(table)
    assert b"".join(table.raw_chunks()) == content


# -- JSON


def test_a_json_array_of_objects():
    items = [{"commune": "Lavérune", "montant": 1200.5, "actif": True},
             {"commune": "Pérols", "code": "34198", "lieu": {"lat": 43.6}},
             {}]
    content = json.dumps(items, ensure_ascii=False).encode()
    table = read_json(io.BytesIO(content))
    assert table.header == ["commune", "montant", "actif", "code", "lieu"]
    assert table.dialect is None
    assert rows_of(table) == [(1, items[0], None), (2, items[1], None), (3, {}, None)]
    assert b"".join(table.raw_chunks()) == content


def test_a_json_item_that_is_not_an_object_is_a_row_problem():
    table = read_json(io.BytesIO(b'[{"a": 1}, 2, ["a"]]'))
    assert table.header == ["a"]
    assert rows_of(table) == [(1, {"a": 1}, None),
                              (2, None, "item 2 is a JSON number, not an object"),
                              (3, None, "item 3 is a JSON array, not an object")]


@pytest.mark.parametrize("content, words", [
    (b'{"a": 1}', "JSON object, not an array"),
    (b'"text"', "JSON string, not an array"),
    (b"null", "JSON null, not an array"),
    (b"[{", "not valid JSON"),
    (b"", "not valid JSON"),
    ("[{\"a\": \"é\"}]".encode("cp1252"), "not UTF-8"),
])
def test_a_json_file_that_is_not_an_array_is_refused(content, words):
    with pytest.raises(UnreadableFile) as raised:
        read_json(io.BytesIO(content))
    assert words in raised.value.reason


def test_a_json_file_with_a_bom_is_read():
    assert read_json(io.BytesIO(codecs.BOM_UTF8 + b'[{"a": 1}]')).header == ["a"]


# -- GeoJSON

POINT = {"type": "Point", "coordinates": [3.8186, 43.5925]}
COLLECTION = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": POINT, "properties": {"nom": "Mairie", "places": 12}},
    {"type": "Feature", "geometry": None, "properties": {"nom": "Stade", "éclairé": True}},
    {"type": "Feature", "geometry": POINT, "properties": None},
    {"type": "Point", "coordinates": [0, 0]},
]}


def test_a_feature_collection_reads_as_properties_and_geometry():
    table = read_geojson(io.BytesIO(json.dumps(COLLECTION).encode()))
    assert table.header == ["nom", "places", "éclairé", "geometry"]
    geometry = '{"type":"Point","coordinates":[3.8186,43.5925]}'
    assert rows_of(table) == [
        (1, {"nom": "Mairie", "places": 12, "geometry": geometry}, None),
        (2, {"nom": "Stade", "éclairé": True, "geometry": None}, None),
        (3, {"geometry": geometry}, None),
        (4, None, "item 4 is not a GeoJSON Feature"),
    ]


def test_an_empty_feature_collection_has_no_rows():
    table = read_upload(io.BytesIO(b'{"type": "FeatureCollection", "features": []}'), "geojson")
    assert table.header == ["geometry"] and rows_of(table) == []


@pytest.mark.parametrize("document, words", [
    ({"type": "FeatureCollection"}, "no list of features"),
    ({"type": "FeatureCollection", "features": {}}, "no list of features"),
    ({"type": "Feature", "geometry": POINT, "properties": {}}, "not a GeoJSON FeatureCollection"),
    ([POINT], "not a GeoJSON FeatureCollection"),
])
def test_a_geojson_without_features_is_refused(document, words):
    with pytest.raises(UnreadableFile) as raised:
        read_geojson(io.BytesIO(json.dumps(document).encode()))
    assert words in raised.value.reason


# -- formats


@pytest.mark.parametrize("fmt, content, header", [
    ("csv", b"a;b\n1;2\n", ["a", "b"]),
    ("json", b'[{"a": 1}]', ["a"]),
    ("geojson", json.dumps(COLLECTION).encode(), ["nom", "places", "éclairé", "geometry"]),
])
def test_read_upload_by_format(fmt, content, header):
    assert read_upload(io.BytesIO(content), fmt).header == header


def test_an_unknown_format_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown format"):
        read_upload(io.BytesIO(b""), "xlsx")


def test_media_types_name_the_formats():
    assert MEDIA_TYPES == {"text/csv": "csv", "application/json": "json",
                           "application/geo+json": "geojson"}
    assert RowRead(2, {}, None).problem is None
