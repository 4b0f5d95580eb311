"""The records API's queries on a version's table: filters, sort with nulls last, keyset
pagination that neither skips nor repeats a row, field selection, and refusals naming the
parameter."""

from collections import namedtuple
from datetime import date

import pytest
from sqlalchemy import create_engine

from contracts.errors import Invalid
from services.opendata.records import RecordsTable, Sort

Field = namedtuple("Field", "name type")
FIELDS = [Field("objet", "string"), Field("montant", "number"), Field("date", "date"),
          Field("lots", "integer"), Field("attribué", "boolean")]
ROWS = [
    {"objet": "Voirie rue des Écoles", "montant": 15000.5, "date": date(2024, 3, 1), "lots": 2,
     "attribué": True},
    {"objet": "Cantine scolaire", "montant": 82000, "date": date(2024, 1, 15), "lots": 1,
     "attribué": True},
    {"objet": "Éclairage public", "montant": None, "date": date(2023, 12, 31), "lots": 3,
     "attribué": False},
    {"objet": "voirie chemin de la Fontaine", "montant": 4000, "date": None, "lots": 1,
     "attribué": False},
    {"objet": "Entretien espaces verts", "montant": 15000.5, "date": date(2024, 6, 30),
     "lots": None, "attribué": True},
]


@pytest.fixture
def records():
    engine = create_engine("sqlite://")
    table = RecordsTable("records_test", FIELDS)
    with engine.begin() as connection:
        table.create(connection)
        table.insert(connection, [(number, row) for number, row in enumerate(ROWS, start=2)])
        table.create_indexes(connection)
    with engine.connect() as connection:
        yield lambda **query: table.query(connection, **query), table


def objets(page):
    return [record["objet"] for record in page.results]


@pytest.mark.parametrize("filters, expected", [
    (["lots=1"], ["Cantine scolaire", "voirie chemin de la Fontaine"]),
    (["lots!=1"], ["Voirie rue des Écoles", "Éclairage public"]),
    (["montant>=15000.5"], ["Voirie rue des Écoles", "Cantine scolaire",
                            "Entretien espaces verts"]),
    (["montant>15000.5"], ["Cantine scolaire"]),
    (["montant<15000.5"], ["voirie chemin de la Fontaine"]),
    (["montant<=4000"], ["voirie chemin de la Fontaine"]),
    (["date>=2024-01-01", "date<2024-06-30"], ["Voirie rue des Écoles", "Cantine scolaire"]),
    (["objet~VOIRIE"], ["Voirie rue des Écoles", "voirie chemin de la Fontaine"]),
    (["objet~100%"], []),
    (["attribué=false"], ["Éclairage public", "voirie chemin de la Fontaine"]),
    (["objet=Cantine scolaire"], ["Cantine scolaire"]),
])
def test_filters(records, filters, expected):
    query, table = records
    page = query(filters=[table.parse_filter(text) for text in filters])
    assert objets(page) == expected
    assert page.total_count == len(expected)


@pytest.mark.parametrize("sort, expected", [
    (Sort("montant"), ["voirie chemin de la Fontaine", "Voirie rue des Écoles",
                       "Entretien espaces verts", "Cantine scolaire", "Éclairage public"]),
    (Sort("montant", descending=True), ["Cantine scolaire", "Voirie rue des Écoles",
                                        "Entretien espaces verts",
                                        "voirie chemin de la Fontaine", "Éclairage public"]),
    (Sort("date"), ["Éclairage public", "Cantine scolaire", "Voirie rue des Écoles",
                    "Entretien espaces verts", "voirie chemin de la Fontaine"]),
    (Sort(None), [row["objet"] for row in ROWS]),
])
@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_pages_follow_the_sort_without_skipping_or_repeating(records, sort, expected, limit):
    query, _ = records
    seen, cursor = [], None
    while True:
        page = query(sort=sort, limit=limit, cursor=cursor)
        assert len(page.results) <= limit
        seen += objets(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected


def test_only_the_fields_asked_for_come_back_typed_for_json(records):
    query, table = records
    page = query(fields=["date", "objet"], filters=[table.parse_filter("lots=2")])
    assert page.fields == ["date", "objet"]
    assert page.results == [{"date": "2024-03-01", "objet": "Voirie rue des Écoles"}]


@pytest.mark.parametrize("text, parameter", [
    ("nope=1", "filter"),
    ("lots>deux", "filter"),
    ("date>=2024-13-01", "filter"),
    ("objet>abc", "filter"),
    ("montant", "filter"),
])
def test_a_bad_filter_is_refused_naming_the_parameter(records, text, parameter):
    _, table = records
    with pytest.raises(Invalid) as refused:
        table.parse_filter(text)
    assert list(refused.value.errors) == [parameter]


def test_unknown_sort_and_fields_are_refused(records):
    query, _ = records
    with pytest.raises(Invalid) as refused:
        query(sort=Sort("prix"))
    assert list(refused.value.errors) == ["sort"]
    with pytest.raises(Invalid) as refused:
        query(fields=["prix"])
    assert list(refused.value.errors) == ["fields"]


@pytest.mark.parametrize("cursor", ["garbage", "e30", "W1tudWxsLGZhbHNlXSwiYSIsImIiXQ"])
def test_a_forged_cursor_is_refused(records, cursor):
    query, _ = records
    with pytest.raises(Invalid) as refused:
        query(cursor=cursor)
    assert list(refused.value.errors) == ["cursor"]


def test_a_cursor_only_continues_its_own_sort(records):
    query, _ = records
    cursor = query(sort=Sort("montant"), limit=1).next_cursor
    with pytest.raises(Invalid) as refused:
        query(sort=Sort("date"), cursor=cursor)
    assert list(refused.value.errors) == ["cursor"]
