"""A citizen's submission checked against the form definition it is made with: each field by
its type, the rules of the form's kind that tie fields together, and the attached files,
judged by their bytes and never by their names. Every error of a submission is reported at
once, so the citizen corrects the form in one go."""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from marshmallow import ValidationError, validate

from contracts.errors import Invalid
from contracts.eservices import MAX_ATTACHMENT_BYTES
from services.eservices.rules import years_before

MISSING = "Missing data for required field."
MISSING_FILE = "Missing file for required attachment."
NOT_A_DATE = "Not a valid date (YYYY-MM-DD)."

# A field without a max_length holds no more than the longest any definition may allow.
LONGEST_TEXT = 10000
MAX_PARKING_DAYS = 7
# A permit number reads like "PC 034 134 24 M0012", but older ones and other permits differ.
PERMIT_NUMBER = re.compile(r"[A-Za-z0-9 ]{8,30}")

# What a file is, read from its first bytes: a name or a declared type proves nothing.
_MAGIC_NUMBERS = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


@dataclass(frozen=True)
class CheckedAttachment:
    name: str
    file_name: str
    content_type: str
    content: bytes


def check_submission(definition, data, attachments, today):
    """-> (clean_data, files): the submission's data as it is to be stored, and its
    attachments with the content type their bytes show. Raises ``Invalid`` naming every wrong
    field "data.<field>" and attachment "attachments.<slot>" ("attachments" for a file in no
    slot of the form, or a second one in a slot).

    ``definition`` is a form definition in the wire shape, ``data`` the citizen's fields by
    name, ``attachments`` a list of {"name", "file_name", "content"} with decoded bytes.
    A field left out or empty is absent from the clean data.
    """
    errors = {}
    clean = _checked_data(definition["fields"], data, errors)
    rejected = {key.removeprefix("data.") for key in errors}
    for reads, rule in _KIND_RULES.get(definition["kind"], ()):
        if rejected.isdisjoint(reads):
            errors.update({f"data.{name}": [message]
                           for name, message in rule(clean, today).items()})
    files = _checked_attachments(definition["attachments"], attachments, errors)
    if errors:
        raise Invalid(errors)
    return clean, files


def content_type_of(content):
    """The content type a file's magic number shows, or None for any other kind of file."""
    return next((content_type for magic, content_type in _MAGIC_NUMBERS
                 if content.startswith(magic)), None)


# -- fields


def _checked_data(fields, data, errors):
    known = {field["name"] for field in fields}
    errors.update({f"data.{name}": ["Unknown field."] for name in data if name not in known})
    clean = {}
    for field in fields:
        name, value = field["name"], data.get(field["name"])
        if _is_missing(value):
            if field.get("required"):
                errors[f"data.{name}"] = [MISSING]
            continue
        try:
            clean[name] = _TYPE_CHECKS[field["type"]](value, field)
        except ValidationError as error:
            errors[f"data.{name}"] = error.messages
    return clean


def _is_missing(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _string(value):
    if not isinstance(value, str):
        raise ValidationError("Not a valid string.")
    return value.strip()


def _text(value, field):
    text = _string(value)
    longest = field.get("max_length") or LONGEST_TEXT
    if len(text) > longest:
        raise ValidationError(f"Longer than {longest} characters.")
    return text


def _email(value, field):
    return validate.Email()(_string(value))


def _phone(value, field):
    """A French number (ten digits from 0) or an international one (+ and up to 15 digits,
    ITU-T E.164), written with spaces or dots between digits as people do; stored bare."""
    number = re.sub(r"[ .]", "", _string(value))
    if not re.fullmatch(r"0[1-9][0-9]{8}|\+[1-9][0-9]{7,14}", number):
        raise ValidationError("Not a phone number: ten digits from 0, or + and the "
                              "international number.")
    return number


def _date(value, field):
    text = _string(value)
    # fromisoformat alone would also take "20260512" or a week date.
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ValidationError(NOT_A_DATE)
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValidationError(NOT_A_DATE) from None


def _within_bounds(number, field):
    if field.get("minimum") is not None and number < Decimal(str(field["minimum"])):
        raise ValidationError(f"Must be at least {field['minimum']}.")
    if field.get("maximum") is not None and number > Decimal(str(field["maximum"])):
        raise ValidationError(f"Must be at most {field['maximum']}.")


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value, field):
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError("Not a valid integer.")
    _within_bounds(value, field)
    return value


def _decimal(value, field):
    """A number or its text, with a decimal point or the French comma; stored as text, which
    keeps its digits exact."""
    text = str(value) if _is_number(value) else value
    if not isinstance(text, str) or not re.fullmatch(r"-?[0-9]+([.,][0-9]+)?", text.strip()):
        raise ValidationError("Not a valid number.")
    number = Decimal(text.strip().replace(",", "."))
    _within_bounds(number, field)
    return str(number)


def _choice(value, field):
    if value not in field["choices"]:
        raise ValidationError(f"Must be one of: {', '.join(field['choices'])}.")
    return value


def _boolean(value, field):
    if not isinstance(value, bool):
        raise ValidationError("Not a valid boolean.")
    return value


def _address(value, field):
    address = _string(value)
    if not 5 <= len(address) <= 300:
        raise ValidationError("An address is 5 to 300 characters long.")
    return address


def _geolocation(value, field):
    if not (isinstance(value, dict) and value.keys() == {"lat", "lon"}
            and _is_number(value["lat"]) and _is_number(value["lon"])
            and -90 <= value["lat"] <= 90 and -180 <= value["lon"] <= 180):
        raise ValidationError('A location is {"lat": -90 to 90, "lon": -180 to 180} in '
                              "WGS 84.")
    return {"lat": float(value["lat"]), "lon": float(value["lon"])}


def _reference(value, field):
    reference = _string(value)
    if len(reference) > 100:
        raise ValidationError("A reference is 1 to 100 characters long.")
    return reference


_TYPE_CHECKS = {
    "text": _text,
    "textarea": _text,
    "email": _email,
    "phone": _phone,
    "date": _date,
    "integer": _integer,
    "decimal": _decimal,
    "choice": _choice,
    "boolean": _boolean,
    "address": _address,
    "geolocation": _geolocation,
    "reference": _reference,
}


# -- rules of a kind of form, each {field: message} from the clean data


def _postal_address_for_post(clean, today):
    if clean.get("delivery") == "post" and "postal_address" not in clean:
        return {"postal_address": "A delivery by post needs a postal address."}
    return {}


def _a_place(clean, today):
    if "location" not in clean and "address" not in clean:
        return {"location": "Show the place on the map or give its address."}
    return {}


def _stay(clean):
    return date.fromisoformat(clean["starts_on"]), date.fromisoformat(clean["ends_on"])


def _ends_on_or_after_start(clean, today):
    starts_on, ends_on = _stay(clean)
    if ends_on < starts_on:
        return {"ends_on": "The last day comes on or after the first."}
    return {}


def _at_most_a_week(clean, today):
    starts_on, ends_on = _stay(clean)
    if (ends_on - starts_on).days + 1 > MAX_PARKING_DAYS:
        return {"ends_on": f"A parking for a move lasts {MAX_PARKING_DAYS} days at most."}
    return {}


def _starts_from_today(clean, today):
    if date.fromisoformat(clean["starts_on"]) < today:
        return {"starts_on": "A parking cannot start in the past."}
    return {}


def _opened_within_a_year(clean, today):
    if date.fromisoformat(clean["opening_date"]) < years_before(today, 1):
        return {"opening_date": "A site opened more than a year ago is not declared here."}
    return {}


def _permit_number(clean, today):
    if not PERMIT_NUMBER.fullmatch(clean["permit_number"]):
        return {"permit_number": "A permit number is 8 to 30 letters, digits and spaces, "
                                 "such as PC 034 134 24 M0012."}
    return {}


# Each rule with the fields it reads: it is only judged once those fields are right.
_KIND_RULES = {
    "civil_status_copy": ((("delivery", "postal_address"), _postal_address_for_post),),
    "intervention": ((("location", "address"), _a_place),),
    "move_parking": (
        (("starts_on", "ends_on"), _ends_on_or_after_start),
        (("starts_on", "ends_on"), _at_most_a_week),
        (("starts_on",), _starts_from_today),
    ),
    "building_site": (
        (("opening_date",), _opened_within_a_year),
        (("permit_number",), _permit_number),
    ),
}


# -- attachments


def _checked_attachments(slots, attachments, errors):
    slots_by_name = {slot["name"]: slot for slot in slots}
    files, given = [], set()
    for attachment in attachments:
        name = attachment["name"]
        if name not in slots_by_name:
            errors.setdefault("attachments", []).append(
                f"{name!r} is not an attachment of this form.")
        elif name in given:
            errors.setdefault("attachments", []).append(f"More than one file for {name!r}.")
        else:
            given.add(name)
            checked = _checked_file(slots_by_name[name], attachment, errors)
            if checked:
                files.append(checked)
    errors.update({f"attachments.{slot['name']}": [MISSING_FILE] for slot in slots
                   if slot.get("required") and slot["name"] not in given})
    return files


def _checked_file(slot, attachment, errors):
    content = attachment["content"]
    content_type = content_type_of(content)
    largest = slot.get("max_bytes", MAX_ATTACHMENT_BYTES)
    if len(content) > largest:
        problem = f"Larger than {largest} bytes."
    elif content_type not in slot["content_types"]:
        problem = f"The file's content is not one of: {', '.join(slot['content_types'])}."
    else:
        return CheckedAttachment(slot["name"], attachment["file_name"], content_type, content)
    errors[f"attachments.{slot['name']}"] = [problem]
    return None
