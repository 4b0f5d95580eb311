"""Field types that carry a rule of the domain, so every schema spells it the same way."""

import base64
import binascii
import re
from decimal import Decimal

from marshmallow import ValidationError, fields, validate
from stdnum.fr import siret as stdnum_siret

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


SIRET_PATTERN = r"^\d{14}$"


def validate_siret(siret):
    if not re.fullmatch(SIRET_PATTERN, siret):
        raise ValidationError("A SIRET is 14 digits.")
    if not stdnum_siret.is_valid(siret):
        raise ValidationError("Not a SIRET: its check digit (Luhn key) is wrong.")


class Siret(fields.String):
    """The SIRET of an establishment: 14 digits, the last of which is the Luhn key of the
    other 13 (La Poste's establishments but its head office follow a key of their own, which
    python-stdnum knows)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            {"description": "SIRET: 14 digits, the last being the Luhn key",
             "pattern": SIRET_PATTERN, "example": "73282932000074"}
        )
        super().__init__(validate=validate_siret, **kwargs)


MONEY_PATTERN = r"^-?\d+(\.\d{1,2})?$"


class Money(fields.Decimal):
    """An amount in euros: a decimal string of at most two places (``"150.11"``), never a
    JSON number, whose binary float would already have lost the cents."""

    default_error_messages = {
        "not_an_amount": 'An amount in euros is a string with at most two decimal places, '
                         'such as "150.11".',
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            {"type": "string", "format": "decimal", "pattern": MONEY_PATTERN,
             "example": "150.11"}
        )
        super().__init__(places=2, as_string=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        # Decimals come from the services' own code; what crosses HTTP is a string.
        if not isinstance(value, Decimal) and not (
            isinstance(value, str) and re.fullmatch(MONEY_PATTERN, value)
        ):
            raise self.make_error("not_an_amount")
        return super()._deserialize(value, attr, data, **kwargs)


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


class Base64Bytes(fields.String):
    """Bytes sent as standard base64 in JSON."""

    default_error_messages = {"not_base64": "Not base64 content."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise self.make_error("not_base64") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else base64.b64encode(value).decode("ascii")
