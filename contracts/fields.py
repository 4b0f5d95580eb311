"""Field types that carry a rule of the domain, so every schema spells it the same way."""

import base64
import binascii
import re
from decimal import Decimal

from marshmallow import ValidationError, fields, validate
from stdnum.fr import siret as stdnum_siret

from contracts.catalogue import APPLICATION_CODES
from contracts.communes import INSEE_CODE_PATTERN, MEMBER_COMMUNES, is_member


class MemberCommune(validate.Validator):
    """One of the 31 member communes' INSEE codes. Its ``choices`` are what the OpenAPI
    document lists as the field's ``enum``: a client reading it knows which codes are
    accepted, where a pattern would promise any five digits."""

    choices = tuple(sorted(MEMBER_COMMUNES))

    def __call__(self, code):
        if not re.fullmatch(INSEE_CODE_PATTERN, code):
            raise ValidationError("Not an INSEE code (five characters, such as 34134).")
        if not is_member(code):
            raise ValidationError("Not one of the 31 member communes of the Metropole.")
        return code


class InseeCode(fields.String):
    """The INSEE code of one of the 31 member communes (``34134`` is Lavérune)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            {"description": "INSEE code of a member commune", "example": "34134"}
        )
        super().__init__(validate=MemberCommune(), **kwargs)


SIRET_PATTERN = r"^[0-9]{14}$"


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
        # ``format: siret``, the description says what it is: no pattern can spell the check
        # digit, and one beside the format would be what clients generate values from.
        kwargs.setdefault("metadata", {}).update(
            {"description": "SIRET: 14 digits, the last being the Luhn key",
             "format": "siret", "example": "73282932000074"}
        )
        super().__init__(validate=validate_siret, **kwargs)


def decimal_pattern(places=None, digits=None):
    """At most ``digits`` digits, then a point and at most ``places`` digits: no sign but a
    minus, no exponent, no digits of other scripts (which Python's ``Decimal`` would read)."""
    units = "[0-9]+" if digits is None else f"[0-9]{{1,{digits}}}"
    decimals = "[0-9]+" if places is None else f"[0-9]{{1,{places}}}"
    return rf"^-?{units}(\.{decimals})?$"


class DecimalString(fields.Decimal):
    """A decimal number sent as a string (``"2.5"``), never a JSON number, whose binary float
    would already be rounded: what its pattern admits is what is accepted, and a value with
    more than ``places`` decimals is refused rather than rounded."""

    default_error_messages = {
        "not_a_decimal": 'A number is a string of digits with an optional point, such as "2.5".',
    }
    error_key = "not_a_decimal"

    def __init__(self, places=None, digits=None, **kwargs):
        self.pattern = decimal_pattern(places, digits)
        kwargs["metadata"] = {"type": "string", "format": "decimal", "pattern": self.pattern,
                              **kwargs.get("metadata", {})}
        super().__init__(places=places, as_string=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        # Decimals come from the services' own code; what crosses HTTP is a string.
        if not isinstance(value, Decimal) and not (
            isinstance(value, str) and re.fullmatch(self.pattern, value)
        ):
            raise self.make_error(self.error_key)
        return super()._deserialize(value, attr, data, **kwargs)


# Amounts are stored as NUMERIC(12, 2) at the narrowest: ten digits before the point.
MONEY_DIGITS = 10
MONEY_PATTERN = decimal_pattern(2, MONEY_DIGITS)


class Money(DecimalString):
    """An amount in euros: a decimal string of at most two places (``"150.11"``), under ten
    billion euros, as the services' columns hold them."""

    default_error_messages = {
        "not_an_amount": 'An amount in euros is a string with at most two decimal places, '
                         'such as "150.11".',
    }
    error_key = "not_an_amount"

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("example", "150.11")
        super().__init__(places=2, digits=MONEY_DIGITS, **kwargs)


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
    """Bytes sent as standard base64 in JSON (OpenAPI's ``format: byte``)."""

    default_error_messages = {"not_base64": "Not base64 content."}

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"format": "byte", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise self.make_error("not_base64") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else base64.b64encode(value).decode("ascii")
