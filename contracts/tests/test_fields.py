from decimal import Decimal

import pytest
from marshmallow import Schema, ValidationError

from contracts.fields import Money, Siret


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


class EstablishmentSchema(Schema):
    siret = Siret(required=True)


# 73282932000074: 13 digits and their Luhn key. La Poste's establishments other than its head
# office (35600000000048) have a key of their own: the sum of the digits is a multiple of 5.
@pytest.mark.parametrize("siret", ["73282932000074", "35600000000048", "35600000049837"])
def test_a_siret_is_14_digits_whose_last_is_the_luhn_key(siret):
    assert EstablishmentSchema().load({"siret": siret}) == {"siret": siret}


@pytest.mark.parametrize("siret, message", [
    ("73282932000075", "Not a SIRET: its check digit (Luhn key) is wrong."),
    ("7328293200007", "A SIRET is 14 digits."),
    ("732829320000740", "A SIRET is 14 digits."),
    ("732 829 320 00074", "A SIRET is 14 digits."),
    ("7328293200007A", "A SIRET is 14 digits."),
])
def test_a_wrong_siret_is_refused_saying_why(siret, message):
    with pytest.raises(ValidationError) as refused:
        EstablishmentSchema().load({"siret": siret})
    assert refused.value.messages == {"siret": [message]}
