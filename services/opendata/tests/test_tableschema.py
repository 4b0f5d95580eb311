"""Table Schema: descriptors refused with each problem's path, every type and constraint read
as the spec says (edges included), uniqueness and the primary key across rows, header errors,
inference widening column by column, and the published SCDL schemas."""

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from services.opendata.tableschema import (
    KNOWN_SCHEMAS,
    CellError,
    Field,
    RowChecker,
    SchemaError,
    TableSchema,
    infer_schema,
    known_schema,
)


def schema_of(*fields, **properties):
    return TableSchema.from_descriptor({"fields": list(fields), **properties})


def check_one(field, raw):
    """(typed value, reasons) of one cell in a one-field schema."""
    typed, errors = RowChecker(schema_of({"name": "x", **field})).check(2, {"x": raw})
    return typed["x"], [error.reason for error in errors]


# -- descriptors


@pytest.mark.parametrize("descriptor, path, words", [
    ([], "", "JSON object"),
    ({}, "fields", "non-empty list"),
    ({"fields": []}, "fields", "non-empty list"),
    ({"fields": ["x"]}, "fields.0", "JSON object"),
    ({"fields": [{"type": "string"}]}, "fields.0.name", "needs a name"),
    ({"fields": [{"name": ""}]}, "fields.0.name", "needs a name"),
    ({"fields": [{"name": "a"}, {"name": "a"}]}, "fields.1.name", "already taken"),
    ({"fields": [{"name": "a"}, {"name": "b", "type": "text"}]}, "fields.1.type",
     "unknown type 'text'"),
    ({"fields": [{"name": "a", "format": "email"}, {"name": "b", "type": "integer",
                                                    "format": "email"}]},
     "fields.1.format", "not a format of the integer type"),
    ({"fields": [{"name": "a", "type": "date", "format": "dd/mm/yyyy"}]}, "fields.0.format",
     "not a format"),
    ({"fields": [{"name": "a", "constraints": []}]}, "fields.0.constraints", "JSON object"),
    ({"fields": [{"name": "a", "constraints": {"requried": True}}]},
     "fields.0.constraints.requried", "unknown constraint"),
    ({"fields": [{"name": "a", "constraints": {"required": "yes"}}]},
     "fields.0.constraints.required", "true or false"),
    ({"fields": [{"name": "a", "constraints": {"maxLength": -1}}]},
     "fields.0.constraints.maxLength", "non-negative integer"),
    ({"fields": [{"name": "a", "type": "integer", "constraints": {"maxLength": 3}}]},
     "fields.0.constraints.maxLength", "not to integer"),
    ({"fields": [{"name": "a", "constraints": {"minimum": "a"}}]},
     "fields.0.constraints.minimum", "not to string"),
    ({"fields": [{"name": "a", "type": "integer", "constraints": {"minimum": "ten"}}]},
     "fields.0.constraints.minimum", "'ten' is not a value of the integer type"),
    ({"fields": [{"name": "a", "type": "date", "constraints": {"maximum": "2024-13-01"}}]},
     "fields.0.constraints.maximum", "not a value of the date type"),
    ({"fields": [{"name": "a", "constraints": {"pattern": "[0-9"}}]},
     "fields.0.constraints.pattern", "not a valid regular expression"),
    ({"fields": [{"name": "a", "constraints": {"enum": []}}]}, "fields.0.constraints.enum",
     "non-empty list"),
    ({"fields": [{"name": "a", "type": "integer", "constraints": {"enum": ["1", "x"]}}]},
     "fields.0.constraints.enum", "'x' is not a value of the integer type"),
    ({"fields": [{"name": "a", "type": "boolean", "trueValues": "oui"}]},
     "fields.0.trueValues", "list of strings"),
    ({"fields": [{"name": "a", "type": "number", "decimalChar": ",,"}]},
     "fields.0.decimalChar", "one character"),
    ({"fields": [{"name": "a"}], "missingValues": "NA"}, "missingValues", "list of strings"),
    ({"fields": [{"name": "a"}], "primaryKey": ["b"]}, "primaryKey", "no field named 'b'"),
    ({"fields": [{"name": "a"}], "primaryKey": 1}, "primaryKey", "field name"),
])
def test_an_invalid_descriptor_is_refused_naming_the_path(descriptor, path, words):
    with pytest.raises(SchemaError) as raised:
        TableSchema.from_descriptor(descriptor)
    assert path in raised.value.errors
    assert any(words in message for message in raised.value.errors[path])


def test_every_problem_is_told_at_once():
    with pytest.raises(SchemaError) as raised:
        TableSchema.from_descriptor({"fields": [{"name": "a", "type": "text"},
                                                {"name": "a"}], "primaryKey": ["z"]})
    assert set(raised.value.errors) == {"fields.0.type", "fields.1.name", "primaryKey"}


DESCRIPTOR = {
    "name": "equipements", "title": "Équipements", "version": "1.0",
    "fields": [
        {"name": "id", "title": "Identifiant", "description": "Why it is there.",
         "type": "integer", "constraints": {"required": True}},
        {"name": "montant", "type": "number", "decimalChar": ",", "groupChar": " "},
        {"name": "ouvert", "type": "boolean", "trueValues": ["oui"], "falseValues": ["non"],
         "example": "oui"},
        {"name": "jour", "type": "date", "format": "%d/%m/%Y"},
        {"name": "courriel", "type": "string", "format": "email"},
    ],
    "missingValues": ["", "NA"],
    "primaryKey": ["id"],
    "foreignKeys": [],
}


def test_a_descriptor_round_trips():
    schema = TableSchema.from_descriptor(DESCRIPTOR)
    assert schema.to_descriptor() == DESCRIPTOR
    assert TableSchema.from_descriptor(schema.to_descriptor()) == schema
    assert schema.field_names == ("id", "montant", "ouvert", "jour", "courriel")
    assert schema.fields[2].options == {"trueValues": ["oui"], "falseValues": ["non"],
                                        "example": "oui"}


def test_defaults_are_made_explicit():
    schema = TableSchema.from_descriptor({"fields": [{"name": "a"}], "primaryKey": "a"})
    assert schema.fields == (Field("a", "string"),)
    assert schema.missing_values == ("",)
    assert schema.to_descriptor() == {"fields": [{"name": "a", "type": "string"}],
                                      "missingValues": [""], "primaryKey": ["a"]}


# -- types


PARIS = timezone(timedelta(hours=2))


@pytest.mark.parametrize("field, raw, expected", [
    ({"type": "string"}, "Lavérune", "Lavérune"),
    ({"type": "string"}, " spaced ", " spaced "),
    ({"type": "string"}, 42, "42"),
    ({"type": "string", "format": "email"}, "mairie@laverune.fr", "mairie@laverune.fr"),
    ({"type": "string", "format": "uri"}, "https://laverune.fr/a?b=c", "https://laverune.fr/a?b=c"),
    ({"type": "string", "format": "uuid"}, "65d5b6c7-102c-4440-ac3b-768f708edc0a",
     "65d5b6c7-102c-4440-ac3b-768f708edc0a"),
    ({"type": "string", "format": "binary"}, "aGVsbG8=", "aGVsbG8="),
    ({"type": "integer"}, "42", 42),
    ({"type": "integer"}, "-0", 0),
    ({"type": "integer"}, "+007", 7),
    ({"type": "integer"}, 12, 12),
    ({"type": "integer"}, "9223372036854775807", 2 ** 63 - 1),
    ({"type": "integer", "bareNumber": False}, "95 %", 95),
    ({"type": "number"}, "1.50", Decimal("1.50")),
    ({"type": "number"}, "-.5", Decimal("-0.5")),
    ({"type": "number"}, "1e3", Decimal("1e3")),
    ({"type": "number"}, "-INF", Decimal("-Infinity")),
    ({"type": "number"}, 0.1, Decimal("0.1")),
    ({"type": "number"}, 3, Decimal(3)),
    ({"type": "number", "decimalChar": ",", "groupChar": " "}, "1 234,50", Decimal("1234.50")),
    ({"type": "number", "decimalChar": ",", "groupChar": " "}, "1\u202f234,5", Decimal("1234.5")),
    ({"type": "number", "groupChar": ","}, "1,234,567.8", Decimal("1234567.8")),
    ({"type": "number", "bareNumber": False, "decimalChar": ","}, "12,5 €", Decimal("12.5")),
    ({"type": "number", "bareNumber": False}, "€95", Decimal("95")),
    ({"type": "boolean"}, "true", True),
    ({"type": "boolean"}, "TRUE", True),
    ({"type": "boolean"}, "1", True),
    ({"type": "boolean"}, "False", False),
    ({"type": "boolean"}, "0", False),
    ({"type": "boolean"}, False, False),
    ({"type": "boolean", "trueValues": ["oui"], "falseValues": ["non"]}, "non", False),
    ({"type": "date"}, "2024-02-29", date(2024, 2, 29)),
    ({"type": "date", "format": "%d/%m/%Y"}, "14/07/2024", date(2024, 7, 14)),
    ({"type": "date", "format": "fmt:%d/%m/%Y"}, "14/07/2024", date(2024, 7, 14)),
    ({"type": "date", "format": "any"}, "14.07.2024", date(2024, 7, 14)),
    ({"type": "date", "format": "any"}, "2024-07-14", date(2024, 7, 14)),
    ({"type": "datetime"}, "2024-07-14T10:30:00Z", datetime(2024, 7, 14, 10, 30, tzinfo=UTC)),
    ({"type": "datetime"}, "2024-07-14T10:30:00+02:00",
     datetime(2024, 7, 14, 10, 30, tzinfo=PARIS)),
    ({"type": "datetime"}, "2024-07-14T10:30:00.250", datetime(2024, 7, 14, 10, 30, 0, 250000)),
    ({"type": "datetime", "format": "%d/%m/%Y %H:%M"}, "14/07/2024 10:30",
     datetime(2024, 7, 14, 10, 30)),
    ({"type": "time"}, "23:59:59", time(23, 59, 59)),
    ({"type": "time", "format": "any"}, "8h30", time(8, 30)),
    ({"type": "year"}, "2024", 2024),
    ({"type": "yearmonth"}, "2024-12", "2024-12"),
    ({"type": "duration"}, "P1Y2M10DT2H30M", "P1Y2M10DT2H30M"),
    ({"type": "duration"}, "PT0.5S", "PT0.5S"),
    ({"type": "geopoint"}, "3.8, 43.6", "3.8, 43.6"),
    ({"type": "geopoint", "format": "array"}, "[3.8, 43.6]", "[3.8, 43.6]"),
    ({"type": "geopoint", "format": "object"}, {"lon": 3.8, "lat": 43.6},
     '{"lon":3.8,"lat":43.6}'),
    ({"type": "geojson"}, '{"type": "Point", "coordinates": [3.8, 43.6]}',
     '{"type": "Point", "coordinates": [3.8, 43.6]}'),
    ({"type": "geojson"}, {"type": "Point", "coordinates": [3.8, 43.6]},
     '{"type":"Point","coordinates":[3.8,43.6]}'),
    ({"type": "object"}, '{"a": 1}', '{"a": 1}'),
    ({"type": "array"}, "[1, 2]", "[1, 2]"),
    ({"type": "array"}, ["é"], '["é"]'),
    ({"type": "any"}, "anything", "anything"),
])
def test_a_valid_cell_is_typed(field, raw, expected):
    value, reasons = check_one(field, raw)
    assert reasons == []
    assert value == expected
    assert type(value) is type(expected)


def test_a_number_keeps_its_precision_and_may_be_nan():
    assert str(check_one({"type": "number"}, "1.50")[0]) == "1.50"
    assert check_one({"type": "number"}, "NaN")[0].is_nan()


@pytest.mark.parametrize("field, raw, reason", [
    ({"type": "integer"}, "abc", "'abc' is not an integer"),
    ({"type": "integer"}, "1.0", "'1.0' is not an integer"),
    ({"type": "integer"}, " 1", "' 1' is not an integer"),
    ({"type": "integer"}, "1_000", "'1_000' is not an integer"),
    ({"type": "integer"}, "١٢", "'١٢' is not an integer"),
    ({"type": "integer"}, True, "true is not an integer"),
    ({"type": "integer"}, 1.5, "1.5 is not an integer"),
    ({"type": "integer"}, "9223372036854775808", "too large an integer"),
    ({"type": "integer"}, "95 %", "'95 %' is not an integer"),
    ({"type": "number"}, "1,5", "'1,5' is not a number"),
    ({"type": "number"}, "1.2.3", "'1.2.3' is not a number"),
    ({"type": "number"}, "", None),
    ({"type": "number"}, "e5", "'e5' is not a number"),
    ({"type": "number"}, "€95", "'€95' is not a number"),
    ({"type": "number", "decimalChar": ","}, "1.5", "'1.5' is not a number"),
    ({"type": "number"}, False, "false is not a number"),
    ({"type": "boolean"}, "yes", "'yes' is not a boolean (expected one of 'true', 'True', "
                                 "'TRUE', '1', 'false', 'False', 'FALSE', '0')"),
    ({"type": "boolean", "trueValues": ["oui"], "falseValues": ["non"]}, "true",
     "'true' is not a boolean (expected one of 'oui', 'non')"),
    ({"type": "date"}, "14/07/2024", "'14/07/2024' is not a date (expected YYYY-MM-DD)"),
    ({"type": "date"}, "2023-02-29", "'2023-02-29' is not a date"),
    ({"type": "date"}, "20240714", "'20240714' is not a date"),
    ({"type": "date", "format": "%d/%m/%Y"}, "2024-07-14",
     "'2024-07-14' is not a date (expected %d/%m/%Y)"),
    ({"type": "date", "format": "any"}, "le 14 juillet", "is not a date"),
    ({"type": "datetime"}, "2024-07-14 10:30:00", "is not a datetime"),
    ({"type": "datetime"}, "2024-07-14T25:00:00Z", "is not a datetime"),
    ({"type": "time"}, "24:00:00", "'24:00:00' is not a time (expected hh:mm:ss)"),
    ({"type": "time"}, "8:30", "is not a time"),
    ({"type": "year"}, "24", "'24' is not a year"),
    ({"type": "yearmonth"}, "2024-13", "'2024-13' is not a year and month"),
    ({"type": "duration"}, "P", "'P' is not an ISO 8601 duration"),
    ({"type": "duration"}, "PT", "'PT' is not an ISO 8601 duration"),
    ({"type": "string", "format": "email"}, "mairie@laverune", "is not an email address"),
    ({"type": "string", "format": "uri"}, "laverune.fr", "'laverune.fr' is not a URI"),
    ({"type": "string", "format": "uuid"}, "65d5b6c7", "is not a UUID"),
    ({"type": "string", "format": "binary"}, "a", "is not base64 data"),
    ({"type": "geopoint"}, "200, 43", "'200, 43' is not a geographic point"),
    ({"type": "geopoint"}, "3.8", "is not a geographic point"),
    ({"type": "geopoint", "format": "array"}, "[3.8]", "is not a geographic point"),
    ({"type": "geojson"}, '{"type": "Circle"}', "is not GeoJSON"),
    ({"type": "geojson"}, "{", "is not GeoJSON"),
    ({"type": "object"}, "[1]", "'[1]' is not a JSON object"),
    ({"type": "array"}, '{"a": 1}', "is not a JSON array"),
])
def test_an_invalid_cell_is_refused_with_its_reason(field, raw, reason):
    value, reasons = check_one(field, raw)
    assert value is None
    if reason is None:
        assert reasons == []
    else:
        assert len(reasons) == 1 and reason in reasons[0]


def test_a_long_value_is_cut_in_the_reason():
    _, reasons = check_one({"type": "integer"}, "x" * 500)
    assert len(reasons[0]) < 120 and "…" in reasons[0]


# -- constraints


@pytest.mark.parametrize("field, raw, reason", [
    ({"constraints": {"required": True}}, "", "a value is required"),
    ({"constraints": {"required": True}}, None, "a value is required"),
    ({"constraints": {"required": True}}, " ", None),
    ({"constraints": {"required": False}}, "", None),
    ({"type": "integer", "constraints": {"minimum": 100}}, "42",
     "42 is below the minimum 100"),
    ({"type": "integer", "constraints": {"minimum": 100}}, "100", None),
    ({"type": "integer", "constraints": {"maximum": "100"}}, "101",
     "101 is above the maximum 100"),
    ({"type": "integer", "constraints": {"maximum": 100}}, "100", None),
    ({"type": "number", "constraints": {"minimum": 0.01, "maximum": 1}}, "0.01", None),
    ({"type": "number", "constraints": {"minimum": 0.01, "maximum": 1}}, "1.00", None),
    ({"type": "number", "constraints": {"minimum": 0.01, "maximum": 1}}, "0.009",
     "0.009 is below the minimum 0.01"),
    ({"type": "number", "constraints": {"minimum": 0.01, "maximum": 1}}, "1.001",
     "1.001 is above the maximum 1"),
    ({"type": "number", "constraints": {"maximum": 1}}, "NaN", None),
    ({"type": "number", "decimalChar": ",", "constraints": {"maximum": 1}}, "1,5",
     "1,5 is above the maximum 1"),
    ({"type": "date", "constraints": {"minimum": "2024-01-01"}}, "2023-12-31",
     "2023-12-31 is below the minimum 2024-01-01"),
    ({"type": "date", "format": "%d/%m/%Y", "constraints": {"minimum": "2024-01-01"}},
     "31/12/2023", "31/12/2023 is below the minimum 2024-01-01"),
    ({"type": "date", "format": "%d/%m/%Y", "constraints": {"maximum": "31/12/2024"}},
     "01/01/2025", "01/01/2025 is above the maximum 2024-12-31"),
    ({"type": "year", "constraints": {"minimum": 2000}}, "1999",
     "1999 is below the minimum 2000"),
    ({"type": "time", "constraints": {"maximum": "18:00:00"}}, "18:00:01",
     "18:00:01 is above the maximum 18:00:00"),
    ({"constraints": {"minLength": 2}}, "a", "'a' has 1 character, fewer than the minimum 2"),
    ({"constraints": {"minLength": 2}}, "ab", None),
    ({"constraints": {"maxLength": 3}}, "abc", None),
    ({"constraints": {"maxLength": 3}}, "abcd",
     "'abcd' has 4 characters, more than the maximum 3"),
    ({"constraints": {"maxLength": 3}}, "été", None),
    ({"type": "array", "constraints": {"maxLength": 1}}, "[1, 2]", "2 items, more than"),
    ({"constraints": {"pattern": "^[0-9]{14}$"}}, "x",
     "'x' does not match the pattern ^[0-9]{14}$"),
    ({"constraints": {"pattern": "[0-9]{14}"}}, "123456789012345", "does not match"),
    ({"constraints": {"pattern": "[0-9]{14}"}}, "12345678901234", None),
    ({"constraints": {"pattern": "W[0-9]{9}"}}, "", None),
    ({"constraints": {"enum": ["unique", "échelonné"]}}, "échelonné", None),
    ({"constraints": {"enum": ["unique", "échelonné"]}}, "Unique",
     "'Unique' is not one of the allowed values: 'unique', 'échelonné'"),
    ({"type": "integer", "constraints": {"enum": [1, "2"]}}, "02", None),
    ({"type": "integer", "constraints": {"enum": [1, 2]}}, "3",
     "'3' is not one of the allowed values: 1, 2"),
])
def test_constraints(field, raw, reason):
    _, reasons = check_one(field, raw)
    if reason is None:
        assert reasons == []
    else:
        assert len(reasons) == 1 and reason in reasons[0]


def test_a_type_error_is_told_once_not_with_the_constraints():
    _, reasons = check_one({"type": "integer", "constraints": {"minimum": 1, "enum": [1]}}, "x")
    assert reasons == ["'x' is not an integer"]


def test_missing_values_are_none():
    checker = RowChecker(schema_of({"name": "a", "type": "integer"},
                                   {"name": "b", "type": "date"}, missingValues=["", "NA", "-"]))
    typed, errors = checker.check(2, {"a": "NA", "b": "-"})
    assert typed == {"a": None, "b": None} and errors == []
    typed, errors = checker.check(3, {"a": ""})
    assert typed == {"a": None, "b": None} and errors == []


def test_an_empty_string_is_a_value_when_not_a_missing_value():
    checker = RowChecker(schema_of({"name": "a", "constraints": {"required": True}},
                                   missingValues=["NA"]))
    assert checker.check(2, {"a": ""}) == ({"a": ""}, [])
    assert checker.check(3, {"a": "NA"})[1] == [CellError(3, "a", "a value is required")]


def test_columns_outside_the_schema_are_left_out():
    checker = RowChecker(schema_of({"name": "a", "type": "integer"}))
    assert checker.check(2, {"a": "1", "extra": "x"}) == ({"a": 1}, [])


def test_every_error_of_a_row_is_told_with_its_row_and_column():
    checker = RowChecker(schema_of({"name": "a", "type": "integer"},
                                   {"name": "b", "constraints": {"required": True}},
                                   {"name": "c", "type": "boolean"}))
    typed, errors = checker.check(7, {"a": "x", "b": "", "c": "true"})
    assert typed == {"a": None, "b": None, "c": True}
    assert errors == [CellError(7, "a", "'x' is not an integer"),
                      CellError(7, "b", "a value is required")]


# -- across rows


def test_a_unique_field_refuses_a_repeated_value_naming_the_first_row():
    checker = RowChecker(schema_of({"name": "id", "type": "integer",
                                    "constraints": {"unique": True}}))
    results = [checker.check(number, {"id": raw})[1]
               for number, raw in [(2, "1"), (3, "2"), (4, "01"), (5, ""), (6, ""), (7, "2")]]
    assert results == [[], [], [CellError(4, "id", "duplicate value of a unique field (first "
                                                    "on row 2)")], [], [],
                       [CellError(7, "id", "duplicate value of a unique field (first on "
                                           "row 3)")]]


def test_a_single_field_primary_key_is_required_and_unique():
    checker = RowChecker(schema_of({"name": "id"}, primaryKey="id"))
    assert checker.check(2, {"id": "a"})[1] == []
    assert checker.check(3, {"id": ""})[1] == [CellError(3, "id", "a value is required")]
    assert checker.check(4, {"id": "a"})[1] == [
        CellError(4, "id", "duplicate value of a unique field (first on row 2)")]


def test_a_composite_primary_key_is_unique_as_a_whole():
    checker = RowChecker(schema_of({"name": "insee"}, {"name": "year", "type": "year"},
                                   primaryKey=["insee", "year"]))
    assert checker.check(2, {"insee": "34134", "year": "2023"})[1] == []
    assert checker.check(3, {"insee": "34134", "year": "2024"})[1] == []
    assert checker.check(4, {"insee": "34198", "year": "2023"})[1] == []
    assert checker.check(5, {"insee": "34134", "year": "2024"})[1] == [
        CellError(5, None, "duplicate primary key (insee, year) (first on row 3)")]
    assert checker.check(6, {"insee": "34134", "year": ""})[1] == [
        CellError(6, "year", "a value is required")]


def test_a_row_with_errors_still_counts_for_uniqueness():
    checker = RowChecker(schema_of({"name": "id", "constraints": {"unique": True}},
                                   {"name": "n", "type": "integer"}))
    assert len(checker.check(2, {"id": "a", "n": "x"})[1]) == 1
    assert checker.check(3, {"id": "a", "n": "1"})[1][0].reason.endswith("(first on row 2)")


# -- header


HEADER_SCHEMA = schema_of({"name": "id", "constraints": {"required": True}}, {"name": "nom"},
                          {"name": "code"}, primaryKey=["code"])


@pytest.mark.parametrize("header, errors", [
    (["id", "nom", "code"], []),
    (["code", "id", "nom"], []),
    (["id", "code"], []),
    (["nom", "code"], [CellError(1, "id", "the header lacks this required column")]),
    (["id", "nom"], [CellError(1, "code", "the header lacks this required column")]),
    (["id", "nom", "code", "extra"], [CellError(1, "extra", "column not in the schema")]),
    (["id", "nom", "nom", "code"], [CellError(1, "nom", "duplicate column name")]),
    (["id", "Nom", "code"], [CellError(1, "Nom", "column not in the schema")]),
    ([], [CellError(1, "id", "the header lacks this required column"),
          CellError(1, "code", "the header lacks this required column")]),
])
def test_header(header, errors):
    assert RowChecker(HEADER_SCHEMA).check_header(header) == errors


def test_an_optional_column_missing_from_the_header_reads_as_missing():
    checker = RowChecker(HEADER_SCHEMA)
    assert checker.check(2, {"id": "1", "code": "a"}) == (
        {"id": "1", "nom": None, "code": "a"}, [])


# -- inference


@pytest.mark.parametrize("values, field_type", [
    (["1", "-2", "+30"], "integer"),
    (["1", "2.5"], "number"),
    (["2.5", "1"], "number"),
    (["1", "1e3"], "number"),
    (["1", "x"], "string"),
    (["1", "2.5", "x", "3"], "string"),
    (["true", "False", "TRUE"], "boolean"),
    (["true", "1"], "string"),
    (["0", "1"], "integer"),
    (["2024-01-31", "2024-02-29"], "date"),
    (["2024-01-31", "2023-02-29"], "string"),
    (["2024-01-31", "2024-01-31T10:00:00Z"], "string"),
    (["2024-01-31T10:00:00Z", "2024-01-31T10:00:00+02:00"], "datetime"),
    (["01/02/2024", "31/12/2024"], "date"),
    (["01/02/2024", "2024-02-01"], "string"),
    (["34134", "01004"], "string"),
    (["0", "10"], "integer"),
    (["1234567890123456789"], "number"),
    (["", "", ""], "string"),
    ([], "string"),
    (["", "3", ""], "integer"),
    ([3, 4], "integer"),
    ([3, 4.5], "number"),
    ([True, False], "boolean"),
    (["3", 4], "integer"),
    ([{"a": 1}], "object"),
    ([[1]], "array"),
    ([[1], {"a": 1}], "string"),
    ([None, 3], "integer"),
    (["NaN", "1"], "string"),
])
def test_inference_widens_each_column(values, field_type):
    schema = infer_schema(["c"], ({"c": value} for value in values))
    assert schema.fields[0].type == field_type


def test_inference_keeps_the_header_order_and_reads_french_dates_as_dates():
    schema = infer_schema(["b", "a", "d"], [{"a": "1", "b": "x", "d": "14/07/2024"},
                                            {"a": "2", "b": "3"}])
    assert schema.field_names == ("b", "a", "d")
    assert [item.type for item in schema.fields] == ["string", "integer", "date"]
    assert schema.fields[2].format == "%d/%m/%Y"


def test_an_inferred_schema_accepts_the_rows_it_was_inferred_from():
    rows = [{"n": "1", "x": "2.50", "d": "2024-01-01", "t": "2024-01-01T00:00:00Z",
             "b": "true", "s": "01004"},
            {"n": "-4", "x": "3", "d": "", "t": "2024-06-01T12:00:00+02:00", "b": "FALSE",
             "s": "x"}]
    schema = infer_schema(list(rows[0]), rows)
    checker = RowChecker(TableSchema.from_descriptor(schema.to_descriptor()))
    assert [checker.check(number, row)[1] for number, row in enumerate(rows, 2)] == [[], []]


# -- the published schemas

DELIBERATION = {
    "COLL_NOM": "Commune de Lavérune", "COLL_SIRET": "21340134200019", "DELIB_ID": "2024-042",
    "DELIB_DATE": "2024-03-21", "DELIB_MATIERE_CODE": "7.5",
    "DELIB_MATIERE_NOM": "Finances locales/Subventions",
    "DELIB_OBJET": "Attribution des subventions aux associations", "BUDGET_ANNEE": "2024",
    "BUDGET_NOM": "Budget principal", "PREF_ID": "PREF034", "PREF_DATE": "2024-03-25",
    "VOTE_EFFECTIF": "23", "VOTE_REEL": "21", "VOTE_POUR": "19", "VOTE_CONTRE": "0",
    "VOTE_ABSTENTION": "2", "DELIB_URL": "https://laverune.fr/deliberations/2024-042.pdf",
}
SUBVENTION = {
    "nomAttribuant": "Commune de Lavérune", "idAttribuant": "21340134200019",
    "dateConvention": "2024-04-02", "referenceDecision": "2024-042",
    "nomBeneficiaire": "Comité des fêtes", "idBeneficiaire": "", "rnaBeneficiaire": "W343000123",
    "objet": "Fête de la Saint-Jean", "montant": "1500.00", "nature": "aide en numéraire",
    "conditionsVersement": "unique", "datesPeriodeVersement": "2024-06-01", "idRAE": "",
    "notificationUE": "non", "pourcentageSubvention": "1.00", "dispositifAide": "",
}


@pytest.mark.parametrize("name, version, row, changes, column", [
    ("scdl/deliberations", "2.1.5", DELIBERATION, {"COLL_SIRET": "213401342"}, "COLL_SIRET"),
    ("scdl/deliberations", "2.1.5", DELIBERATION, {"DELIB_DATE": "21/03/2024"}, "DELIB_DATE"),
    ("scdl/deliberations", "2.1.5", DELIBERATION, {"DELIB_MATIERE_CODE": "7"},
     "DELIB_MATIERE_CODE"),
    ("scdl/deliberations", "2.1.5", DELIBERATION, {"BUDGET_ANNEE": "24"}, "BUDGET_ANNEE"),
    ("scdl/deliberations", "2.1.5", DELIBERATION, {"VOTE_POUR": "dix-neuf"}, "VOTE_POUR"),
    ("scdl/deliberations", "2.1.5", DELIBERATION, {"DELIB_URL": "laverune.fr/x.pdf"},
     "DELIB_URL"),
    ("scdl/deliberations", "2.1.5", DELIBERATION, {"DELIB_OBJET": ""}, "DELIB_OBJET"),
    ("scdl/subventions", "2.1.1", SUBVENTION, {"notificationUE": "false"}, "notificationUE"),
    ("scdl/subventions", "2.1.1", SUBVENTION, {"pourcentageSubvention": "1.5"},
     "pourcentageSubvention"),
    ("scdl/subventions", "2.1.1", SUBVENTION, {"nature": "aide"}, "nature"),
    ("scdl/subventions", "2.1.1", SUBVENTION, {"rnaBeneficiaire": "W12"}, "rnaBeneficiaire"),
    ("scdl/subventions", "2.1.1", SUBVENTION, {"datesPeriodeVersement": "juin 2024"},
     "datesPeriodeVersement"),
    ("scdl/subventions", "2.1.1", SUBVENTION, {"objet": "x" * 257}, "objet"),
    ("scdl/subventions", "2.1.1", SUBVENTION, {"idRAE": "123456"}, "idRAE"),
    ("scdl/subventions", "2.1.1", SUBVENTION, {"montant": "1 500"}, "montant"),
])
def test_a_published_schema_passes_a_valid_row_and_refuses_a_bad_one(name, version, row,
                                                                     changes, column):
    schema = known_schema(name)
    assert schema.metadata["version"] == version
    checker = RowChecker(schema)
    assert checker.check_header(list(row)) == []
    assert checker.check(2, row)[1] == []
    errors = checker.check(3, {**row, **changes})[1]
    assert [error.column for error in errors] == [column]


def test_the_subvention_sample_is_typed():
    typed, _ = RowChecker(known_schema("scdl/subventions")).check(2, SUBVENTION)
    assert typed["montant"] == Decimal("1500.00") and typed["notificationUE"] is False
    assert typed["dateConvention"] == date(2024, 4, 2) and typed["idRAE"] is None


@pytest.mark.parametrize("name", sorted(KNOWN_SCHEMAS))
def test_each_known_schema_loads_once_and_round_trips(name):
    schema = known_schema(name)
    assert known_schema(name) is schema
    assert TableSchema.from_descriptor(schema.to_descriptor()) == schema
    assert {"name", "title", "version", "homepage"} <= set(schema.metadata)


def test_an_unknown_schema_is_refused_naming_the_known_ones():
    with pytest.raises(SchemaError) as raised:
        known_schema("scdl/marches")
    assert "scdl/deliberations" in str(raised.value)
    assert "scdl/subventions" in raised.value.errors[""][0]
