"""Field types that carry a rule of the domain, so every schema spells it the same way."""

import re

from marshmallow import ValidationError, fields, validate

from contracts.catalogue import APPLICATION_CODES
from contracts.communes import INSEE_CODE_PATTERN, is_member


def validate_member_commune(code):
    if not re.fullmatch(INSEE_CODE_PATTERN, code):
        raise ValidationError("Not an INSEE code (five characters, such as 34134).")
    if not is_member(code):
        raise ValidationError("Not one of the 31 member communes of the Metropole.")


class InseeCode(fields.String):
    """The INSEE code of one of the 31 member communes (``34134`` is Lavérune)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            {"description": "INSEE code of a member commune", "example": "34134"}
        )
        super().__init__(validate=validate_member_commune, **kwargs)


class Money(fields.Decimal):
    """An amount in euros: a decimal string with two places (``"150.11"``), never a float."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            {"type": "string", "format": "decimal", "pattern": r"^-?\d+\.\d{2}$", "example": "150.11"}
        )
        super().__init__(places=2, as_string=True, **kwargs)


class ApplicationCode(fields.String):
    """The stable code of one of the seven applications of Article 1 (``eadmin``…)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            {"enum": list(APPLICATION_CODES), "example": "eadmin"}
        )
        super().__init__(
            validate=validate.OneOf(
                APPLICATION_CODES, error="Not an application of Article 1: {input}."
            ),
            **kwargs,
        )
