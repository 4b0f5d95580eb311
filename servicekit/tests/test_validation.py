import pytest
from marshmallow import Schema, fields, validates_schema
from marshmallow.exceptions import ValidationError

from contracts.errors import Invalid
from contracts.fields import InseeCode
from servicekit.validation import load


class ParcelSchema(Schema):
    area_m2 = fields.Integer(required=True)
    commune = InseeCode(required=True)


class SplitSchema(ParcelSchema):
    @validates_schema
    def parts_fit(self, data, **kwargs):
        raise ValidationError("The parts exceed the parcel.")


def test_a_valid_payload_comes_back_loaded():
    assert load(ParcelSchema(), {"area_m2": "120", "commune": "34134"}) == {
        "area_m2": 120,
        "commune": "34134",
    }


def test_each_wrong_unknown_or_missing_field_is_named():
    with pytest.raises(Invalid) as refusal:
        load(ParcelSchema(), {"area_m2": "large", "owner": "Jeanne"})
    assert set(refusal.value.errors) == {"area_m2", "commune", "owner"}
    assert refusal.value.errors["owner"] == ["Unknown field."]


@pytest.mark.parametrize("payload", [["area_m2", 120], "area_m2=120", None, 120])
def test_a_payload_that_is_not_an_object_is_refused_as_a_whole(payload):
    with pytest.raises(Invalid) as refusal:
        load(ParcelSchema(), payload)
    assert refusal.value.errors == {"_schema": ["Expected a JSON object."]}


def test_a_rule_across_fields_is_reported_under_schema():
    with pytest.raises(Invalid) as refusal:
        load(SplitSchema(), {"area_m2": 120, "commune": "34134"})
    assert refusal.value.errors == {"_schema": ["The parts exceed the parcel."]}
