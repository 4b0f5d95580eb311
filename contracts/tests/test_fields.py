from decimal import Decimal

import pytest
from marshmallow import Schema, ValidationError

from contracts.fields import Money


class PriceSchema(Schema):
    price = Money(required=True)


@pytest.mark.parametrize(
    "sent, loaded",
    [
        ("150.11", Decimal("150.11")),
        ("150.1", Decimal("150.10")),
        ("150", Decimal("150.00")),
        ("-0.01", Decimal("-0.01")),
        (Decimal("36.28"), Decimal("36.28")),
    ],
)
def test_an_amount_is_a_string_of_at_most_two_places(sent, loaded):
    price = PriceSchema().load({"price": sent})["price"]
    assert price == loaded
    assert price.as_tuple().exponent == -2


@pytest.mark.parametrize("sent", [150.11, 150, "150.111", "1e3", "NaN", "Infinity", " 1.00", ""])
def test_numbers_and_other_spellings_are_refused_naming_the_field(sent):
    with pytest.raises(ValidationError) as refused:
        PriceSchema().load({"price": sent})
    assert "at most two decimal places" in refused.value.messages["price"][0]


def test_an_amount_leaves_as_a_string():
    assert PriceSchema().dump({"price": Decimal("150.11")}) == {"price": "150.11"}
