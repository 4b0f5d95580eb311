"""Table Schema (frictionless v1, https://specs.frictionlessdata.io/table-schema/): what a
resource's rows must look like, and the checker that reads each row of an upload against it.

A publisher declares a schema — one of the published ones (SCDL) or their own — so that a
file with a malformed SIRET or a date in the wrong format is refused at upload, with each
error's row, column and reason, rather than published and found wrong by its reusers.

Rows come by the hundred thousand: each field's conversion is a closure built once from the
schema, whose regular expressions are compiled once, so that a cell costs a few calls.
"""

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "time", "year",
         "yearmonth", "geopoint", "geojson", "object", "array", "any", "duration")
FORMATS = {
    "string": ("default", "email", "uri", "binary", "uuid"),
    "geopoint": ("default", "array", "object"),
    "geojson": ("default", "topojson"),
}
# Dates and times take "default", "any" or a strptime pattern: checked apart.
DATE_TYPES = ("date", "datetime", "time")
ORDERED_TYPES = ("integer", "number", "date", "datetime", "time", "year", "yearmonth")
SIZED_TYPES = ("string", "array", "object")
CONSTRAINTS = ("required", "unique", "minimum", "maximum", "minLength", "maxLength",
               "pattern", "enum")
DEFAULT_TRUE_VALUES = ("true", "True", "TRUE", "1")
DEFAULT_FALSE_VALUES = ("false", "False", "FALSE", "0")
# Properties of a field that the checker reads besides name, type, format and constraints.
TYPE_OPTIONS = {"trueValues", "falseValues", "decimalChar", "groupChar", "bareNumber"}
# The query store keeps integers as 64-bit: a larger one is refused here, not by the database.
INTEGER_LIMIT = 2 ** 63

SCHEMAS_DIRECTORY = Path(__file__).parent / "schemas"
SCHEMA_FILES = {
    "scdl/deliberations": "scdl-deliberations.json",
    "scdl/subventions": "scdl-subventions.json",
    "decp": "decp.json",
    "participation/resultats": "participation-resultats.json",
}

_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?INF|NaN")
# bareNumber false: a currency or percent sign around the number is not part of it.
_NOT_BARE = re.compile(r"[^0-9+\-.]*(.*?)[^0-9.]*")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
                       r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?")
_YEAR = re.compile(r"[0-9]{4}")
_YEARMONTH = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")
_DURATION = re.compile(
    r"P(?!$)(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+W)?(?:[0-9]+D)?"
    r"(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]+)?S)?)?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                   r"[0-9a-fA-F]{12}")
_GEOPOINT = re.compile(r"\s*([+-]?[0-9.]+)\s*,\s*([+-]?[0-9.]+)\s*")
GEOJSON_TYPES = frozenset({"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                           "MultiPolygon", "GeometryCollection", "Feature",
                           "FeatureCollection"})
# "any" dates: ISO first, then what French spreadsheets write.
ANY_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%d/%m/%y")
ANY_DATETIME_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M")
ANY_TIME_FORMATS = ("%H:%M", "%Hh%M", "%Hh")
MAX_SHOWN = 60


class SchemaError(ValueError):
    """The descriptor is not a valid Table Schema; ``errors``: messages keyed by a path such
    as ``"fields.2.type"`` ("" for the descriptor as a whole), so that a form can show each
    where it belongs."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" if path else message
                                   for path, messages in errors.items()
                                   for message in messages))


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "string"
    format: str | None = None
    constraints: dict = field(default_factory=dict)
    title: str | None = None
    description: str | None = None
    # Every other property of the field's descriptor (trueValues, decimalChar, example...):
    # kept so that the descriptor round-trips.
    options: dict = field(default_factory=dict)

    @classmethod
    def from_descriptor(cls, descriptor: dict) -> "Field":
        known = {"name", "type", "format", "constraints", "title", "description"}
        return cls(name=descriptor["name"], type=descriptor.get("type", "string"),
                   format=descriptor.get("format"),
                   constraints=dict(descriptor.get("constraints") or {}),
                   title=descriptor.get("title"), description=descriptor.get("description"),
                   options={key: value for key, value in descriptor.items()
                            if key not in known})

    def to_descriptor(self) -> dict:
        descriptor = {"name": self.name}
        for key in ("title", "description"):
            if getattr(self, key) is not None:
                descriptor[key] = getattr(self, key)
        descriptor["type"] = self.type
        if self.format is not None:
            descriptor["format"] = self.format
        descriptor.update(self.options)
        if self.constraints:
            descriptor["constraints"] = dict(self.constraints)
        return descriptor


@dataclass(frozen=True)
class TableSchema:
    fields: tuple[Field, ...]
    missing_values: tuple[str, ...] = ("",)
    primary_key: tuple[str, ...] = ()
    # The descriptor's other properties (name, title, version, homepage, foreignKeys...):
    # kept for the round trip; the checker does not read them.
    metadata: dict = field(default_factory=dict)

    @classmethod
    def from_descriptor(cls, descriptor: dict) -> "TableSchema":
        """The schema the descriptor describes; raises SchemaError listing every problem."""
        errors = _descriptor_errors(descriptor)
        if errors:
            raise SchemaError(errors)
        primary_key = descriptor.get("primaryKey") or ()
        if isinstance(primary_key, str):
            primary_key = (primary_key,)
        schema = cls(
            fields=tuple(Field.from_descriptor(item) for item in descriptor["fields"]),
            missing_values=tuple(descriptor.get("missingValues", ("",))),
            primary_key=tuple(primary_key),
            metadata={key: value for key, value in descriptor.items()
                      if key not in ("fields", "missingValues", "primaryKey")},
        )
        # Constraint values are read with the field's own conversion: a bad one is found by
        # building the conversions.
        errors = {}
        for position, item in enumerate(schema.fields):
            try:
                _FieldPlan(item)
            except _ConstraintError as error:
                errors[f"fields.{position}.constraints.{error.name}"] = [error.reason]
        if errors:
            raise SchemaError(errors)
        return schema

    def to_descriptor(self) -> dict:
        descriptor = dict(self.metadata)
        descriptor["fields"] = [item.to_descriptor() for item in self.fields]
        descriptor["missingValues"] = list(self.missing_values)
        if self.primary_key:
            descriptor["primaryKey"] = list(self.primary_key)
        return descriptor

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.fields)


@dataclass(frozen=True)
class CellError:
    # The 1-based row a spreadsheet shows: the header is row 1, the first data row 2; in
    # JSON and GeoJSON, the 1-based index of the object or feature.
    row: int
    column: str | None  # None: the whole row
    reason: str


def _is_string_list(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _descriptor_errors(descriptor):
    if not isinstance(descriptor, dict):
        return {"": ["a Table Schema is a JSON object"]}
    errors = {}
    fields = descriptor.get("fields")
    if not isinstance(fields, list) or not fields:
        errors["fields"] = ["a Table Schema needs a non-empty list of fields"]
        fields = []
    names = set()
    for position, item in enumerate(fields):
        for key, message in _field_errors(item, names):
            errors.setdefault(f"fields.{position}{'.' if key else ''}{key}", []).append(message)
    if "missingValues" in descriptor and not _is_string_list(descriptor["missingValues"]):
        errors["missingValues"] = ["missingValues is a list of strings"]
    primary_key = descriptor.get("primaryKey", [])
    if isinstance(primary_key, str):
        primary_key = [primary_key]
    if not _is_string_list(primary_key):
        errors["primaryKey"] = ["primaryKey is a field name or a list of field names"]
    else:
        unknown = [name for name in primary_key if name not in names]
        if unknown:
            errors["primaryKey"] = [f"no field named {name!r}" for name in unknown]
    return errors


def _field_errors(item, names):
    """(path under the field, message) for each problem of one field's descriptor."""
    if not isinstance(item, dict):
        yield "", "a field is a JSON object"
        return
    name = item.get("name")
    if not isinstance(name, str) or not name:
        yield "name", "a field needs a name"
    elif name in names:
        yield "name", f"the name {name!r} is already taken by another field"
    else:
        names.add(name)
    field_type = item.get("type", "string")
    if field_type not in TYPES:
        yield "type", f"unknown type {field_type!r}; the types are {', '.join(TYPES)}"
        return
    fmt = item.get("format")
    if fmt is not None and not _valid_format(field_type, fmt):
        yield "format", f"{fmt!r} is not a format of the {field_type} type"
    for key in ("title", "description"):
        if key in item and not isinstance(item[key], str):
            yield key, f"{key} is a string"
    for key in ("trueValues", "falseValues"):
        if key in item and not _is_string_list(item[key]):
            yield key, f"{key} is a list of strings"
    for key in ("decimalChar", "groupChar"):
        if key in item and not (isinstance(item[key], str) and len(item[key]) == 1):
            yield key, f"{key} is one character"
    if "bareNumber" in item and not isinstance(item["bareNumber"], bool):
        yield "bareNumber", "bareNumber is true or false"
    constraints = item.get("constraints", {})
    if not isinstance(constraints, dict):
        yield "constraints", "constraints is a JSON object"
        return
    for key, value in constraints.items():
        message = _constraint_error(field_type, key, value)
        if message:
            yield f"constraints.{key}", message


def _valid_format(field_type, fmt):
    if not isinstance(fmt, str):
        return False
    if field_type in DATE_TYPES:
        return fmt in ("default", "any") or "%" in fmt
    return fmt in FORMATS.get(field_type, ("default",))


def _constraint_error(field_type, key, value):
    if key not in CONSTRAINTS:
        return f"unknown constraint; the constraints are {', '.join(CONSTRAINTS)}"
    if key in ("required", "unique"):
        return None if isinstance(value, bool) else f"{key} is true or false"
    if key in ("minLength", "maxLength"):
        if field_type not in SIZED_TYPES:
            return f"{key} applies to strings, arrays and objects, not to {field_type}"
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return f"{key} is a non-negative integer"
    if key in ("minimum", "maximum") and field_type not in ORDERED_TYPES:
        return f"{key} applies to ordered types, not to {field_type}"
    if key == "pattern":
        if not isinstance(value, str):
            return "pattern is a regular expression"
        try:
            re.compile(value)
        except re.error as error:
            return f"pattern is not a valid regular expression: {error}"
    if key == "enum" and (not isinstance(value, list) or not value):
        return "enum is a non-empty list of values"
    return None


# -- conversions: raw cell -> typed value, or _Invalid


class _Invalid(Exception):
    def __init__(self, reason):
        self.reason = reason


class _ConstraintError(Exception):
    def __init__(self, name, reason):
        self.name = name
        self.reason = reason


def _text(raw):
    """The cell as text: JSON values other than strings as compact JSON."""
    if raw.__class__ is str:
        return raw
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))


def _shown(raw):
    """The cell in a reason: quoted when text, cut when long."""
    if raw.__class__ is str:
        return repr(raw if len(raw) <= MAX_SHOWN else raw[:MAX_SHOWN] + "…")
    text = _text(raw)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def _string_conversion(item):
    fmt = item.format or "default"
    if fmt == "default":
        return _text
    pattern, what = {"email": (_EMAIL, "an email address"), "uri": (_URI, "a URI"),
                     "uuid": (_UUID, "a UUID"), "binary": (None, "base64 data")}[fmt]

    def convert(raw):
        if raw.__class__ is str:
            if pattern is not None:
                if pattern.fullmatch(raw):
                    return raw
            elif _is_base64(raw):
                return raw
        raise _Invalid(f"{_shown(raw)} is not {what}")
    return convert


def _is_base64(text):
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _integer_conversion(item):
    bare = item.options.get("bareNumber", True)

    def convert(raw):
        if raw.__class__ is int:
            value = raw
        else:
            text = raw if bare or raw.__class__ is not str else _NOT_BARE.fullmatch(raw)[1]
            if text.__class__ is not str or not _INTEGER.fullmatch(text):
                raise _Invalid(f"{_shown(raw)} is not an integer")
            value = int(text)
        if -INTEGER_LIMIT <= value < INTEGER_LIMIT:
            return value
        raise _Invalid(f"{_shown(raw)} is too large an integer (beyond 64 bits)")
    return convert


def _number_conversion(item):
    decimal_char = item.options.get("decimalChar", ".")
    group_char = item.options.get("groupChar")
    bare = item.options.get("bareNumber", True)
    # A French spreadsheet groups thousands with a (narrow) no-break space.
    groups = ((group_char, "\u00a0", "\u202f") if group_char == " "
              else (group_char,) if group_char else ())
    plain = decimal_char == "." and not groups and bare

    def convert(raw):
        cls = raw.__class__
        if cls is str:
            text = raw
            if not plain:
                if not bare:
                    text = _NOT_BARE.fullmatch(text)[1]
                for group in groups:
                    text = text.replace(group, "")
                if decimal_char != ".":
                    text = "!" if "." in text else text.replace(decimal_char, ".")
            if _NUMBER.fullmatch(text):
                return Decimal(text)
        elif cls is int or cls is float:
            return Decimal(repr(raw)) if cls is float else Decimal(raw)
        raise _Invalid(f"{_shown(raw)} is not a number")
    return convert


def _boolean_conversion(item):
    values = {text: True for text in item.options.get("trueValues", DEFAULT_TRUE_VALUES)}
    values.update({text: False for text in item.options.get("falseValues",
                                                            DEFAULT_FALSE_VALUES)})
    expected = ", ".join(repr(text) for text in values)

    def convert(raw):
        if raw.__class__ is bool:
            return raw
        value = values.get(raw) if raw.__class__ is str else None
        if value is None:
            raise _Invalid(f"{_shown(raw)} is not a boolean (expected one of {expected})")
        return value
    return convert


def _strptime(patterns, kind):
    """Conversion by the first of the strptime ``patterns`` that reads the cell."""
    def parse(text):
        for pattern in patterns:
            try:
                value = datetime.strptime(text, pattern)
            except ValueError:
                continue
            return value.date() if kind == "date" else value.time() if kind == "time" \
                else value
        return None
    return parse


def _temporal_conversion(item):
    kind = item.type
    fmt = item.format or "default"
    iso_pattern, iso_parse, expected = {
        "date": (_DATE, date.fromisoformat, "YYYY-MM-DD"),
        "datetime": (_DATETIME, datetime.fromisoformat, "YYYY-MM-DDThh:mm:ssZ"),
        "time": (_TIME, time.fromisoformat, "hh:mm:ss"),
    }[kind]
    if fmt == "default":
        def parse(text):
            if iso_pattern.fullmatch(text):
                try:
                    return iso_parse(text)
                except ValueError:
                    return None
            return None
    elif fmt == "any":
        fallback = _strptime({"date": ANY_DATE_FORMATS, "datetime": ANY_DATETIME_FORMATS,
                              "time": ANY_TIME_FORMATS}[kind], kind)

        def parse(text):
            try:
                return iso_parse(text)
            except ValueError:
                return fallback(text)
        expected = "a recognisable " + kind
    else:
        pattern = fmt.removeprefix("fmt:")
        parse = _strptime((pattern,), kind)
        expected = pattern
    what = "a time" if kind == "time" else f"a {kind}"

    def convert(raw):
        value = parse(raw) if raw.__class__ is str else None
        if value is None:
            raise _Invalid(f"{_shown(raw)} is not {what} (expected {expected})")
        return value
    return convert


def _pattern_conversion(pattern, what, result=None):
    def convert(raw):
        if raw.__class__ is str and pattern.fullmatch(raw):
            return result(raw) if result else raw
        raise _Invalid(f"{_shown(raw)} is not {what}")
    return convert


def _json_conversion(item):
    """geojson, object, array: JSON text (or a JSON value, in a JSON upload) kept as text."""
    kind = item.type

    def fits(value):
        if kind == "array":
            return isinstance(value, list)
        if not isinstance(value, dict):
            return False
        return kind == "object" or item.format == "topojson" or \
            value.get("type") in GEOJSON_TYPES

    what = {"array": "a JSON array", "object": "a JSON object",
            "geojson": "TopoJSON" if item.format == "topojson" else "GeoJSON"}[kind]

    def convert(raw):
        if raw.__class__ is str:
            try:
                value = json.loads(raw)
            except ValueError:
                value = None
            if fits(value):
                return raw
        elif fits(raw):
            return _text(raw)
        raise _Invalid(f"{_shown(raw)} is not {what}")
    return convert


def _geopoint_conversion(item):
    fmt = item.format or "default"

    def point(raw):
        value = raw
        if fmt == "default":
            match = _GEOPOINT.fullmatch(raw) if raw.__class__ is str else None
            return (match[1], match[2]) if match else None
        if raw.__class__ is str:
            try:
                value = json.loads(raw)
            except ValueError:
                return None
        if fmt == "array" and isinstance(value, list) and len(value) == 2:
            return value
        if fmt == "object" and isinstance(value, dict) and set(value) == {"lon", "lat"}:
            return value["lon"], value["lat"]
        return None

    def convert(raw):
        coordinates = point(raw)
        try:
            lon, lat = (float(coordinate) for coordinate in coordinates)
        except (TypeError, ValueError):
            lon = lat = None
        if lon is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise _Invalid(f"{_shown(raw)} is not a geographic point (longitude, latitude)")
        return _text(raw)
    return convert


def _type_conversion(item):
    kind = item.type
    if kind == "string":
        return _string_conversion(item)
    if kind == "integer":
        return _integer_conversion(item)
    if kind == "number":
        return _number_conversion(item)
    if kind == "boolean":
        return _boolean_conversion(item)
    if kind in DATE_TYPES:
        return _temporal_conversion(item)
    if kind == "year":
        return _pattern_conversion(_YEAR, "a year (expected YYYY)", int)
    if kind == "yearmonth":
        return _pattern_conversion(_YEARMONTH, "a year and month (expected YYYY-MM)")
    if kind == "duration":
        return _pattern_conversion(_DURATION, "an ISO 8601 duration (such as P1Y2M)")
    if kind == "geopoint":
        return _geopoint_conversion(item)
    if kind == "any":
        return _text
    return _json_conversion(item)


def _limit(item, name, convert):
    """A constraint's value read as the field's type reads a cell."""
    value = item.constraints[name]
    if item.type in ("integer", "number", "year") and isinstance(value, int | float) and \
            not isinstance(value, bool):
        return Decimal(repr(value)) if isinstance(value, float) else value
    conversions = [convert]
    if item.type in DATE_TYPES and item.format not in (None, "default"):
        # A limit may be written in ISO 8601 whatever the cells' format.
        conversions.append(_temporal_conversion(Field(item.name, item.type)))
    for conversion in conversions:
        try:
            return conversion(value)
        except _Invalid:
            continue
    raise _ConstraintError(name, f"{value!r} is not a value of the {item.type} type")


def _shown_limit(value):
    return value.isoformat() if isinstance(value, date | time) else str(value)


class _FieldPlan:
    """One field's conversion with its constraints, ready for the cells."""

    def __init__(self, item):
        constraints = item.constraints
        convert = _type_conversion(item)
        self.name = item.name
        self.required = bool(constraints.get("required"))
        self.unique = bool(constraints.get("unique"))
        checks = []
        if "enum" in constraints:
            allowed = [self._enum_value(item, convert, value) for value in constraints["enum"]]
            allowed_set = frozenset(allowed)
            listed = ", ".join(_shown(value) if isinstance(value, str) else
                               _shown_limit(value) for value in allowed[:10])
            if len(allowed) > 10:
                listed += ", …"

            def one_of(value, raw):
                if value not in allowed_set:
                    return f"{_shown(raw)} is not one of the allowed values: {listed}"
            checks.append(one_of)
        if "minimum" in constraints:
            minimum = _limit(item, "minimum", convert)
            shown_minimum = _shown_limit(minimum)

            def at_least(value, raw):
                if value < minimum:
                    return f"{_text(raw)} is below the minimum {shown_minimum}"
            checks.append(self._ordered(item, at_least))
        if "maximum" in constraints:
            maximum = _limit(item, "maximum", convert)
            shown_maximum = _shown_limit(maximum)

            def at_most(value, raw):
                if value > maximum:
                    return f"{_text(raw)} is above the maximum {shown_maximum}"
            checks.append(self._ordered(item, at_most))
        if "minLength" in constraints or "maxLength" in constraints:
            checks.append(self._length_check(item, constraints.get("minLength"),
                                             constraints.get("maxLength")))
        if "pattern" in constraints:
            pattern = re.compile(constraints["pattern"])

            def matches(value, raw):
                if not pattern.fullmatch(_text(raw)):
                    return f"{_shown(raw)} does not match the pattern {pattern.pattern}"
            checks.append(matches)
        self.convert = self._with_checks(convert, checks) if checks else convert

    @staticmethod
    def _enum_value(item, convert, value):
        try:
            return convert(value)
        except _Invalid:
            raise _ConstraintError("enum", f"{value!r} is not a value of the {item.type} "
                                           "type") from None

    @staticmethod
    def _ordered(item, check):
        if item.type != "number":
            return check

        def unless_nan(value, raw):
            # NaN is a number, but neither below nor above anything.
            return None if value.is_nan() else check(value, raw)
        return unless_nan

    @staticmethod
    def _length_check(item, shortest, longest):
        measure = len if item.type == "string" else lambda value: len(json.loads(value))
        unit = "character" if item.type == "string" else "item"

        def sized(value, raw):
            size = measure(value)
            units = unit if size == 1 else unit + "s"
            if shortest is not None and size < shortest:
                return f"{_shown(raw)} has {size} {units}, fewer than the minimum {shortest}"
            if longest is not None and size > longest:
                return f"{_shown(raw)} has {size} {units}, more than the maximum {longest}"
        return sized

    @staticmethod
    def _with_checks(convert, checks):
        def checked(raw):
            value = convert(raw)
            for check in checks:
                reason = check(value, raw)
                if reason:
                    raise _Invalid(reason)
            return value
        return checked


class RowChecker:
    """Checks the rows of one file against a schema, in order, remembering what uniqueness
    and the primary key need (memory: one set of keys per unique field and the key)."""

    def __init__(self, schema: TableSchema):
        self.schema = schema
        plans = [_FieldPlan(item) for item in schema.fields]
        key = set(schema.primary_key)
        self._missing = frozenset(schema.missing_values)
        # The primary key's fields are required (spec): said once here, not per cell.
        self._plan = tuple((plan.name, plan.convert, plan.required or plan.name in key)
                           for plan in plans)
        unique = [plan.name for plan in plans
                  if plan.unique or (len(schema.primary_key) == 1 and plan.name in key)]
        self._unique = tuple((name, {}) for name in unique)
        self._key = schema.primary_key if len(schema.primary_key) > 1 else ()
        self._keys_seen = {}

    def check_header(self, header: list[str]) -> list[CellError]:
        """Row 1's errors. A field of the schema missing from the header is an error only if
        it is required; otherwise its column reads as missing values."""
        errors = []
        seen = set()
        names = set(self.schema.field_names)
        for column in header:
            if column in seen:
                errors.append(CellError(1, column, "duplicate column name"))
                continue
            seen.add(column)
            if column not in names:
                errors.append(CellError(1, column, "column not in the schema"))
        for name, _, required in self._plan:
            if required and name not in seen:
                errors.append(CellError(1, name, "the header lacks this required column"))
        return errors

    def check(self, row_number: int, cells: Mapping[str, object]
              ) -> tuple[dict, list[CellError]]:
        """The row's typed values and errors. ``cells``: column name -> raw value (text from
        CSV, JSON values from JSON); columns outside the schema are left out."""
        typed = {}
        errors = []
        missing = self._missing
        get = cells.get
        for name, convert, required in self._plan:
            raw = get(name)
            if raw is None or (raw.__class__ is str and raw in missing):
                typed[name] = None
                if required:
                    errors.append(CellError(row_number, name, "a value is required"))
                continue
            try:
                typed[name] = convert(raw)
            except _Invalid as invalid:
                typed[name] = None
                errors.append(CellError(row_number, name, invalid.reason))
        for name, seen in self._unique:
            value = typed[name]
            if value is not None:
                first = seen.setdefault(value, row_number)
                if first != row_number:
                    errors.append(CellError(
                        row_number, name,
                        f"duplicate value of a unique field (first on row {first})"))
        if self._key:
            key = tuple(typed[name] for name in self._key)
            if None not in key:
                first = self._keys_seen.setdefault(key, row_number)
                if first != row_number:
                    errors.append(CellError(
                        row_number, None,
                        f"duplicate primary key ({', '.join(self._key)}) "
                        f"(first on row {first})"))
        return typed, errors


# -- inference

# A column's type, as far as its cells so far tell; each widens to what fits both.
_INFERRED = ("integer", "number", "boolean", "date", "date-dmy", "datetime", "object", "array",
             "string")
# Codes with leading zeros (INSEE, postcodes, SIRET) are text: read as integers they would
# lose their zeros.
_INFER_INTEGER = re.compile(r"[+-]?(?:0|[1-9][0-9]{0,17})")
_INFER_NUMBER = re.compile(
    r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INFER_BOOLEAN = frozenset(DEFAULT_TRUE_VALUES[:3] + DEFAULT_FALSE_VALUES[:3])
_DATE_DMY = re.compile(r"(?:0[1-9]|[12][0-9]|3[01])/(?:0[1-9]|1[0-2])/[0-9]{4}")


def _date_fits(text):
    if not _DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _date_dmy_fits(text):
    if not _DATE_DMY.fullmatch(text):
        return False
    try:
        date(int(text[6:]), int(text[3:5]), int(text[:2]))
    except ValueError:
        return False
    return True


def _datetime_fits(text):
    if not _DATETIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


_FITS = {
    "integer": lambda text: _INFER_INTEGER.fullmatch(text) is not None,
    "number": lambda text: _INFER_NUMBER.fullmatch(text) is not None,
    "boolean": _INFER_BOOLEAN.__contains__,
    "date": _date_fits,
    "date-dmy": _date_dmy_fits,
    "datetime": _datetime_fits,
    "object": lambda text: False,
    "array": lambda text: False,
}
_NATIVE = {int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


def _narrowest(raw):
    kind = _NATIVE.get(raw.__class__)
    if kind:
        return kind
    for kind in ("integer", "number", "boolean", "date", "date-dmy", "datetime"):
        if _FITS[kind](raw):
            return kind
    return "string"


def _widened(current, kind):
    if current is None or current == kind:
        return kind
    if {current, kind} == {"integer", "number"}:
        return "number"
    return "string"


def infer_schema(header: list[str], rows: Iterable[Mapping[str, object]]) -> TableSchema:
    """The narrowest schema every row fits, in one pass: each column starts as the narrowest
    type its first value has and widens as the others come (integer → number → string).
    Empty cells tell nothing; a column of empty cells is a string column."""
    kinds = dict.fromkeys(header)
    fits = dict.fromkeys(header)
    pending = list(dict.fromkeys(header))
    for row in rows:
        get = row.get
        widened = False
        for name in pending:
            raw = get(name)
            if raw is None or raw == "":
                continue
            check = fits[name]
            if check is not None and raw.__class__ is str and check(raw):
                continue
            kind = _narrowest(raw)
            current = kinds[name]
            if kind == current:
                continue
            kinds[name] = kind = _widened(current, kind)
            fits[name] = _FITS.get(kind)
            widened = widened or kind == "string"
        if widened:
            # A string column takes anything: its cells need not be looked at again.
            pending = [name for name in pending if kinds[name] != "string"]
    return TableSchema(fields=tuple(_inferred_field(name, kinds[name] or "string")
                                    for name in dict.fromkeys(header)))


def _inferred_field(name, kind):
    if kind == "date-dmy":
        return Field(name, "date", format="%d/%m/%Y")
    return Field(name, kind)


# -- the published schemas


class _KnownSchemas(Mapping):
    """The published schemas by name, each read from ``schemas/`` when first asked for."""

    def __init__(self, files):
        self._files = files
        self._loaded = {}

    def __getitem__(self, name):
        if name not in self._loaded:
            path = SCHEMAS_DIRECTORY / self._files[name]
            self._loaded[name] = TableSchema.from_descriptor(
                json.loads(path.read_text(encoding="utf-8")))
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self):
        return len(self._files)


KNOWN_SCHEMAS: Mapping[str, TableSchema] = _KnownSchemas(SCHEMA_FILES)


def known_schema(name: str) -> TableSchema:
    """A published schema by name; raises SchemaError naming the known ones."""
    try:
        return KNOWN_SCHEMAS[name]
    except KeyError:
        raise SchemaError({"": [f"unknown schema {name!r}; the known schemas are "
                                f"{', '.join(sorted(KNOWN_SCHEMAS))}"]}) from None
