"""Contract errors cross RPC as themselves, fields included."""

import pytest
from nameko.exceptions import deserialize, serialize

import servicekit.errors  # noqa: F401
from contracts.errors import (
    ALL_ERRORS,
    CommunsError,
    Invalid,
    InvalidRows,
    NotFound,
    TooManyRequests,
)


def over_the_wire(error):
    return deserialize(serialize(error))


@pytest.mark.parametrize("error_class", [e for e in ALL_ERRORS
                                         if e not in (Invalid, InvalidRows, TooManyRequests)])
def test_each_error_keeps_its_class_and_detail(error_class):
    received = over_the_wire(error_class("Nothing here."))
    assert type(received) is error_class
    assert received.detail == "Nothing here."
    assert isinstance(received, CommunsError)


def test_an_error_without_detail_says_its_title():
    assert over_the_wire(NotFound()).detail == "Not found"


def test_invalid_keeps_each_field_and_its_messages():
    received = over_the_wire(Invalid({"commune": ["Not a member."], "role": ["Bad."]}))
    assert received.errors == {"commune": ["Not a member."], "role": ["Bad."]}
    assert received.detail == "Some fields are invalid: commune, role"
    assert received.status == 422


def test_too_many_requests_keeps_its_delay_as_a_number():
    received = over_the_wire(TooManyRequests("Slow down.", retry_after=900))
    assert received.retry_after == 900
    assert received.detail == "Slow down."


def test_statuses_are_distinct_and_http():
    # InvalidRows is an Invalid with more to say: the same problem, the same status.
    statuses = [e.status for e in ALL_ERRORS if e is not InvalidRows]
    assert len(set(statuses)) == len(statuses)
    assert all(400 <= s < 600 for s in statuses)


def test_invalid_rows_keep_their_numbers_and_columns():
    received = over_the_wire(InvalidRows(
        {"content": ["2 rows do not match the schema."]}, "The file is refused.",
        [(3, "DELIB_DATE", "'2024-13-01' is not a date"), (7, None, "the row has 5 cells")], 2))
    assert type(received) is InvalidRows
    assert received.rows == [
        {"row": 3, "column": "DELIB_DATE", "reason": "'2024-13-01' is not a date"},
        {"row": 7, "column": None, "reason": "the row has 5 cells"},
    ]
    assert (received.error_count, received.errors["content"]) == (
        2, ["2 rows do not match the schema."])
