import pytest
from marshmallow import Schema, fields, validates_schema
from marshmallow.exceptions import ValidationError

from contracts.errors import Invalid
from contracts.fields import InseeCode
from servicekit.validation import json_type_errors, load, load_json


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


class LotSchema(Schema):
    number = fields.Integer(required=True)
    area_m2 = fields.Float()


class PlanSchema(Schema):
    year = fields.Integer(required=True)
    public = fields.Boolean()
    lots = fields.List(fields.Nested(LotSchema))
    main = fields.Nested(LotSchema, allow_none=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Integer())
    note = fields.String()


# A JSON body says the type it means: what a query string's text would be read as is refused.
@pytest.mark.parametrize(("body", "errors"), [
    ({"year": 2026, "public": True, "lots": [{"number": 1, "area_m2": 2.5}],
      "main": None, "scores": {"a": 3}}, {}),
    ({"year": 2026, "lots": [{"number": 1, "area_m2": 3}]}, {}),
    ({"year": "2026"}, {"year": ["Not a valid integer."]}),
    ({"year": 2026.5}, {"year": ["Not a valid integer."]}),
    ({"year": True}, {"year": ["Not a valid integer."]}),
    ({"year": 2026, "public": "true"}, {"public": ["Not a valid boolean."]}),
    ({"year": 2026, "public": 1}, {"public": ["Not a valid boolean."]}),
    ({"year": 2026, "lots": [{"number": 1}, {"number": "2"}]},
     {"lots": {1: {"number": ["Not a valid integer."]}}}),
    ({"year": 2026, "main": {"number": 1, "area_m2": "2.5"}},
     {"main": {"area_m2": ["Not a valid number."]}}),
    ({"year": 2026, "scores": {"a": 1, "b": "2"}},
     {"scores": {"b": {"value": ["Not a valid integer."]}}}),
])
def test_a_json_body_of_another_type_than_its_field_is_refused_unconverted(body, errors):
    assert json_type_errors(PlanSchema(), body) == errors
    if errors:
        with pytest.raises(Invalid) as refusal:
            load_json(PlanSchema(), body)
        assert refusal.value.errors == errors
    else:
        load_json(PlanSchema(), body)
