"""The rows of one version of a resource, as a table of their own in the service's database,
and the records API's queries on it: filters, sort, keyset pagination, field selection.

As CKAN's DataStore does, each version gets a real table with a typed column per field and an
index per column, so that filtering and sorting a million rows is the database's work, not
the service's. Columns are named by position (``c0``, ``c1``…): field names come from the
uploader and may hold any character. ``_row`` is the row's position in the file, the
tie-breaker of every sort and the second half of every cursor.
"""

import base64
import binascii
import json
import operator
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Time,
    and_,
    func,
    or_,
    select,
)

from contracts.errors import Invalid
from contracts.opendata import FILTER_SYNTAX

ROW = "_row"
COLUMN_TYPES = {
    "integer": BigInteger,
    "year": Integer,
    # Exact decimals stay in the stored file; the query store compares and sorts doubles.
    "number": Float,
    "boolean": Boolean,
    "date": Date,
    "datetime": DateTime,
    "time": Time,
}
ORDERED_TYPES = frozenset(COLUMN_TYPES)
# Beyond this, a column is still filtered and sorted, by a scan rather than an index.
MAX_INDEXES = 32
FILTER = re.compile(r"^(?P<field>[^<>=!~]+?)\s*(?P<operator>>=|<=|!=|=|<|>|~)(?P<value>.*)$",
                    re.DOTALL)


COMPARISONS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
               ">": operator.gt, ">=": operator.ge}


def table_name(version_id):
    return f"records_{version_id.hex}"


@dataclass(frozen=True)
class Filter:
    field: str
    operator: str
    value: object


@dataclass(frozen=True)
class Sort:
    field: str | None  # None: the file's order
    descending: bool = False


@dataclass(frozen=True)
class RecordPage:
    fields: list
    total_count: int
    results: list  # of dicts, JSON-ready
    next_cursor: str | None


def _stored(field_type, value):
    if isinstance(value, Decimal):
        return float(value)
    if field_type == "datetime" and isinstance(value, datetime) and value.tzinfo:
        # Stored naive, in UTC: SQLite keeps no offset, and one clock makes them comparable.
        return value.astimezone(UTC).replace(tzinfo=None)
    if field_type not in ORDERED_TYPES and value is not None and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


class RecordsTable:
    """One version's rows. ``fields`` are the Table Schema's fields (``name``, ``type``)."""

    def __init__(self, name, fields):
        self.fields = list(fields)
        self.types = {field.name: field.type for field in self.fields}
        self._columns = {field.name: f"c{position}" for position, field in
                         enumerate(self.fields)}
        self.table = Table(
            name, MetaData(),
            Column(ROW, Integer, primary_key=True, autoincrement=False),
            *(Column(self._columns[field.name], COLUMN_TYPES.get(field.type, Text)())
              for field in self.fields),
        )

    @property
    def name(self):
        return self.table.name

    def create(self, connection):
        self.table.create(connection)

    def drop(self, connection):
        self.table.drop(connection, checkfirst=True)

    def insert(self, connection, rows):
        """``rows``: ``(row number, {field: typed value})`` pairs."""
        statement = self.table.insert()
        connection.execute(statement, [
            {ROW: number, **{self._columns[name]: _stored(self.types[name], value)
                             for name, value in values.items() if name in self._columns}}
            for number, values in rows
        ])

    def create_indexes(self, connection):
        """After the load: one index per column, with the row number so that a sort on it
        walks the index in the order the cursor expects."""
        for field in self.fields[:MAX_INDEXES]:
            column = self._columns[field.name]
            Index(f"ix_{self.name}_{column}", self.table.c[column],
                  self.table.c[ROW]).create(connection)

    # -- reading

    def column(self, field_name, parameter):
        try:
            return self.table.c[self._columns[field_name]]
        except KeyError:
            raise Invalid({parameter: [f"No field {field_name!r} in this resource."]}) from None

    def parse_filter(self, text):
        """``montant>=1000`` → a ``Filter``; refuses an unknown field or a value that is not
        of the field's type, naming the ``filter`` parameter."""
        match = FILTER.match(text)
        if not match:
            raise Invalid({"filter": [f"{text!r} is not a filter: use {FILTER_SYNTAX}."]})
        name, operator = match["field"].strip(), match["operator"]
        self.column(name, "filter")
        if operator == "~":
            return Filter(name, operator, match["value"])
        if operator not in ("=", "!=") and self.types[name] not in ORDERED_TYPES:
            raise Invalid({"filter": [f"{name!r} is text: compare it with = , != or ~."]})
        return Filter(name, operator, self.parse_value(name, match["value"], "filter"))

    def parse_value(self, name, text, parameter):
        field_type = self.types[name]
        try:
            return _PARSERS.get(field_type, str)(text)
        except ValueError:
            raise Invalid({parameter: [f"{text!r} is not a {field_type} ({name})."]}) from None

    def _condition(self, flt):
        column = self.column(flt.field, "filter")
        if flt.operator == "~":
            text = column if self.types[flt.field] not in ORDERED_TYPES else \
                column.cast(Text)
            return text.icontains(flt.value, autoescape=True)
        value = _stored(self.types[flt.field], flt.value)
        return COMPARISONS[flt.operator](column, value)

    def query(self, connection, filters=(), sort=Sort(None), fields=None, limit=100,
              cursor=None):
        """A page of records; ``next_cursor`` is None on the last one. Nulls sort last in
        either direction."""
        names = list(fields) if fields else [field.name for field in self.fields]
        selected = [self.column(name, "fields") for name in names]
        conditions = [self._condition(flt) for flt in filters]
        total_count = connection.execute(
            select(func.count()).select_from(self.table).where(and_(True, *conditions))
        ).scalar_one()
        row = self.table.c[ROW]
        sort_column = self.column(sort.field, "sort") if sort.field else None
        order = [row]
        if sort_column is not None:
            order = [(sort_column.desc() if sort.descending else sort_column.asc()).nulls_last(),
                     row]
        if cursor:
            conditions.append(self._after(cursor, sort, sort_column, row))
        statement = (select(row, *([sort_column] if sort_column is not None else []),
                            *selected)
                     .where(and_(True, *conditions)).order_by(*order).limit(limit + 1))
        fetched = connection.execute(statement).all()
        offset = 2 if sort_column is not None else 1
        results = [dict(zip(names, map(_jsonable, values[offset:]), strict=True))
                   for values in fetched[:limit]]
        next_cursor = None
        if len(fetched) > limit:
            last = fetched[limit - 1]
            next_cursor = _encode_cursor(sort, last[1] if sort_column is not None else None,
                                         last[0])
        return RecordPage(names, total_count, results, next_cursor)

    def _after(self, cursor, sort, sort_column, row):
        """Keyset pagination: what comes after the cursor's (value, row) in the sort order."""
        cursor_sort, value, last_row = _decode_cursor(cursor)
        if cursor_sort != [sort.field, sort.descending]:
            raise Invalid({"cursor": ["This cursor belongs to another sort order."]})
        if sort_column is None:
            return row > last_row
        if value is None:
            return and_(sort_column.is_(None), row > last_row)
        value = _stored(self.types[sort.field], self.parse_value(sort.field, value, "cursor"))
        beyond = sort_column < value if sort.descending else sort_column > value
        return or_(beyond, and_(sort_column == value, row > last_row), sort_column.is_(None))


def _parse_boolean(text):
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(text)


def _parse_datetime(text):
    return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))


_PARSERS = {
    "integer": lambda text: int(text.strip()),
    "year": lambda text: int(text.strip()),
    "number": lambda text: float(text.strip().replace(",", ".")),
    "boolean": _parse_boolean,
    "date": lambda text: date.fromisoformat(text.strip()),
    "datetime": _parse_datetime,
    "time": lambda text: time.fromisoformat(text.strip()),
}


def _jsonable(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        # 4000, not 4000.0: how the publisher wrote it, most likely.
        return int(value)
    return value


def _encode_cursor(sort, value, row):
    position = [[sort.field, sort.descending], None if value is None else str(_jsonable(value)),
                row]
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _decode_cursor(cursor):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort, value, row = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(row, int) or not (value is None or isinstance(value, str)):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error):
        raise Invalid({"cursor": ["Not a cursor this API gave: start again without one."]}) \
            from None
    return sort, value, row
