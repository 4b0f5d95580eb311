"""Rules of TéléAlerte, free of Nameko and of the database: how many alert accounts a commune
may open, phone numbers as E.164, what an SMS costs in segments, personalised templates, who
may be alerted on which channel, the recipients' CSV import and what a campaign costs.

A contact, here, is a mapping with (at least) ``id``, ``kind`` ("resident", "staff" or
"service"), ``consent`` (True, False or None when nothing was recorded), ``consent_method``,
``consent_withdrawn_at`` (None unless the contact unsubscribed), ``phone`` (E.164) and
``email``.
"""

import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import phonenumbers

MAX_ALERT_ACCOUNTS = 15

CONTACT_KINDS = ("resident", "staff", "service")
# The commune's own staff and services are alerted as part of their duties, without consent.
KINDS_ALERTED_WITHOUT_CONSENT = ("staff", "service")
# Which of a contact's addresses each channel uses.
CHANNEL_ADDRESSES = {"sms": "phone", "voice": "phone", "email": "email"}
DEFAULT_LANGUAGE = "fr"

# GSM 03.38 (3GPP TS 23.038) default alphabet, without the escape character, and the
# characters of its extension table, each sent as escape + character: two septets.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7, UCS2 = "GSM-7", "UCS-2"
# Septets (GSM-7) or UTF-16 code units (UCS-2) in a single SMS, and in each part of a
# concatenated one (the user data header takes the rest).
SINGLE_SEGMENT = {GSM7: 160, UCS2: 70}
CONCATENATED_SEGMENT = {GSM7: 153, UCS2: 67}

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Enough to refuse what is plainly not an address (no @, spaces, no dot in the domain); the
# mail server is the judge of the rest.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_CONSENT_VALUES = {"yes": True, "oui": True, "no": False, "non": False, "": None}
CENT = Decimal("0.01")


def account_refusal(existing_count):
    """None if the commune may open one more alert account, else the reason: Art. 2 gives
    each commune at most 15 alert accounts, so the 16th is refused. ``existing_count`` is the
    number of accounts it already has."""
    if existing_count < 0:
        raise ValueError("a commune cannot have a negative number of alert accounts")
    if existing_count < MAX_ALERT_ACCOUNTS:
        return None
    return (f"A commune has at most {MAX_ALERT_ACCOUNTS} alert accounts (Art. 2); this one "
            f"already has {existing_count}.")


def e164(raw, region="FR"):
    """The phone number ``raw`` as E.164 ("+33612345678"), read as a number of ``region``
    unless it starts with + or an international prefix ("06 12 34 56 78", "+33 6 12 34 56 78"
    and "0033 6 12 34 56 78" are one). ``ValueError`` says why a number is refused: not a
    phone number at all, not possible (a wrong number of digits) or not valid (no such
    numbering range)."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"{text!r} is not a phone number") from error
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"{text!r} is not a possible phone number: wrong number of digits")
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{text!r} is not a valid phone number: no such numbering range")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# -- SMS ----------------------------------------------------------------------------------------


def sms_encoding(text):
    """"GSM-7" when every character of ``text`` is in the GSM default alphabet or its
    extension table, else "UCS-2" (the whole message then). Nothing is transliterated: é è
    à ù (and Ç, É) are GSM-7, but one ê â î ô û or lowercase ç turns the SMS into UCS-2 and
    cuts a segment from 160 to 70 characters; the preview says so."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        return GSM7
    return UCS2


def _units(text, encoding):
    """The size of each character in the encoding: septets (two for an extension character,
    escape included) or UTF-16 code units (two for a character outside the BMP, an emoji)."""
    if encoding == GSM7:
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [len(c.encode("utf-16-le")) // 2 for c in text]


def sms_length(text):
    """The length of the SMS as the network counts it: septets in GSM-7 (an extension
    character ^ { } \\ [ ~ ] | € counts 2), UTF-16 code units in UCS-2."""
    return sum(_units(text, sms_encoding(text)))


def sms_segments(text):
    """How many SMS ``text`` is sent (and billed) as: one up to 160 septets in GSM-7 or 70
    code units in UCS-2, else parts of 153 or 67 each (ceil(n/153), ceil(n/67)). A part never
    splits an escape pair nor a surrogate pair: such a character moves whole to the next part,
    which may take one part more than the division. An empty text is no SMS: 0."""
    encoding = sms_encoding(text)
    units = _units(text, encoding)
    if not units:
        return 0
    if sum(units) <= SINGLE_SEGMENT[encoding]:
        return 1
    size, segments, used = CONCATENATED_SEGMENT[encoding], 1, 0
    for unit in units:
        if used + unit > size:
            segments, used = segments + 1, 0
        used += unit
    return segments


def sms_preview(text):
    """What the author sees before sending: {"encoding", "length", "segments"}."""
    return {"encoding": sms_encoding(text), "length": sms_length(text),
            "segments": sms_segments(text)}


# -- templates ----------------------------------------------------------------------------------


def placeholders(template):
    """The variable names a template uses as ``{{ name }}``. ``ValueError`` for a placeholder
    that is not a plain name (``{{ user.name }}``, ``{{ 1 }}``): only names are substituted,
    nothing is ever evaluated."""
    names, malformed = set(), []
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1).strip()
        if _NAME.fullmatch(name):
            names.add(name)
        else:
            malformed.append(match.group(0))
    if malformed:
        raise ValueError(f"placeholders must be a plain name, as {{{{ name }}}}: "
                         f"{', '.join(malformed)}")
    return names


def render(template, variables):
    """``template`` with each ``{{ name }}`` replaced by ``variables[name]`` (None gives an
    empty text); ``ValueError`` naming every placeholder ``variables`` does not provide. One
    pass of a regular expression, no template engine: a value containing ``{{ x }}`` is
    written as it is, never expanded."""
    missing = sorted(placeholders(template) - set(variables))
    if missing:
        raise ValueError(f"unknown placeholders: {', '.join(missing)}")

    def value(match):
        found = variables[match.group(1).strip()]
        return "" if found is None else str(found)

    return _PLACEHOLDER.sub(value, template)


# -- recipients ---------------------------------------------------------------------------------


def may_alert(contact):
    """Whether a contact may be alerted. Registration is voluntary (CASF L121-6-1, R121-2;
    CSI L731-3, R8.2): a resident is alerted only with a recorded consent (given, with how it
    was given) that was not withdrawn, and unsubscribing takes effect at once. The commune's
    own staff and services (kind "staff", "service") are alerted as part of their duties."""
    if contact.get("kind") in KINDS_ALERTED_WITHOUT_CONSENT:
        return True
    return (contact.get("consent") is True and bool(contact.get("consent_method"))
            and contact.get("consent_withdrawn_at") is None)


def channels_for(contact, channels):
    """The channels among ``channels`` ("sms", "voice", "email") a contact gets a campaign
    on: none when they may not be alerted (``may_alert``), else those they have the address
    of (a phone for SMS and voice, an e-mail)."""
    unknown = [channel for channel in channels if channel not in CHANNEL_ADDRESSES]
    if unknown:
        raise ValueError(f"no channel {', '.join(map(repr, unknown))}")
    if not may_alert(contact):
        return []
    return [channel for channel in channels if contact.get(CHANNEL_ADDRESSES[channel])]


# -- deliveries ---------------------------------------------------------------------------------

QUEUED, SENT, DELIVERED, FAILED, ACKNOWLEDGED = (
    "queued", "sent", "delivered", "failed", "acknowledged")
DELIVERY_STATUSES = (QUEUED, SENT, DELIVERED, FAILED, ACKNOWLEDGED)
# How far along a delivery is. A failure ranks below a delivery: an operator may report a
# message failed, then delivered after all (a phone back in reach), never the other way.
_RANK = {QUEUED: 0, SENT: 1, FAILED: 2, DELIVERED: 3, ACKNOWLEDGED: 4}
# The tries a delivery gets when its failures are temporary (out of reach, busy, no answer):
# alerting services call again up to three times, five minutes apart.
MAX_ATTEMPTS = 3


def receipt_applies(current, reported):
    """Whether a receipt saying ``reported`` changes a delivery that is ``current``. Receipts
    arrive late, twice, or out of order (a "dispatched" after a "delivered"): a status never
    moves back, and the same one again changes nothing."""
    return _RANK[reported] > _RANK[current]


def retries_after(failure_permanent, attempts, max_attempts=MAX_ATTEMPTS):
    """Whether a failed delivery is queued again: a temporary failure, while it had fewer than
    ``max_attempts`` tries."""
    return not failure_permanent and attempts < max_attempts


def personalised(template, commune_name, recipient_name, variables):
    """A template of a campaign for one recipient: ``{{ commune }}`` and ``{{ name }}``, then
    the campaign's own ``variables``."""
    return render(template, {**variables, "commune": commune_name, "name": recipient_name})


def missing_variables(templates, variables):
    """The placeholders of ``templates`` that neither a recipient (commune, name) nor
    ``variables`` fill in, sorted."""
    used = set().union(*(placeholders(template) for template in templates if template))
    return sorted(used - set(variables) - {"commune", "name"})


# -- CSV import ---------------------------------------------------------------------------------


@dataclass
class ImportPlan:
    """What one CSV import does: contacts to insert and to update (normalised mappings),
    external ids to delete, and the rows refused, each {"row", "reason", "column"} (one entry
    per problem: a row may appear more than once)."""

    inserts: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    deletes: list = field(default_factory=list)
    rejected: list = field(default_factory=list)


def plan_import(rows, existing_external_ids, erased_external_ids=()):
    """Plan the import of a commune's recipients from a CSV file, kept in sync by external id.

    ``rows`` are the mappings ``csv.DictReader`` gives (the header is row 1, data start at row
    2) with the columns external_id, name, phone, email, address, language, groups ("a;b"),
    consent ("yes", "no" or empty: not recorded; "oui"/"non" too), consent_method, kind
    ("resident" when empty, "staff", "service") and action ("delete" removes the contact,
    anything else inserts or updates it). ``existing_external_ids`` are those already known;
    ``erased_external_ids`` those of people whose data was erased at their request (GDPR art.
    17), which a register still holding them must not bring back: only their deletion is
    taken.

    A row is taken whole or not at all: one with a missing external_id or name, an invalid
    phone or e-mail, no phone nor e-mail, an unknown kind or consent, a consent without how it
    was given, an external_id found on another row of the file, or a delete of an unknown
    contact is rejected with its reasons, and the other rows proceed.
    """
    existing = set(existing_external_ids)
    rows = [(number, _cleaned(row)) for number, row in enumerate(rows, start=2)]
    seen = {}
    for number, row in rows:
        if row["external_id"]:
            seen.setdefault(row["external_id"], []).append(number)
    plan = ImportPlan()
    for number, row in rows:
        problems = _row_problems(row, seen, existing, set(erased_external_ids))
        if problems:
            plan.rejected.extend({"row": number, "reason": reason, "column": column}
                                 for column, reason in problems)
        elif row["action"] == "delete":
            plan.deletes.append(row["external_id"])
        elif row["external_id"] in existing:
            plan.updates.append(_contact(row))
        else:
            plan.inserts.append(_contact(row))
    return plan


def _cleaned(row):
    # DictReader gives None for a short row's missing cells and puts extra cells under None.
    cleaned = {key.strip().lower(): (value or "").strip() for key, value in row.items()
               if isinstance(key, str)}
    defaults = ("external_id", "name", "phone", "email", "address", "language", "groups",
                "consent", "consent_method", "kind", "action")
    row = {column: cleaned.get(column, "") for column in defaults}
    row["action"] = row["action"].lower()
    row["kind"] = row["kind"].lower() or "resident"
    row["consent"] = row["consent"].lower()
    return row


def _row_problems(row, seen, existing, erased):
    """(column, reason) for each thing wrong with a row."""
    external_id = row["external_id"]
    if not external_id:
        return [("external_id", "external_id is missing")]
    if len(seen[external_id]) > 1:
        rows = ", ".join(map(str, seen[external_id]))
        return [("external_id", f"external_id {external_id!r} is on several rows ({rows}): "
                                "none of them is imported")]
    if row["action"] == "delete":
        if external_id not in existing:
            return [("external_id", f"no contact has external_id {external_id!r} to delete")]
        return []
    if external_id in erased:
        return [("external_id", f"the person of external_id {external_id!r} had their data "
                                "erased at their request: take them out of the register")]
    problems = []
    if not row["name"]:
        problems.append(("name", "name is missing"))
    if row["phone"]:
        try:
            e164(row["phone"])
        except ValueError as error:
            problems.append(("phone", str(error)))
    if row["email"] and not _EMAIL.fullmatch(row["email"]):
        problems.append(("email", f"{row['email']!r} is not an e-mail address"))
    if not row["phone"] and not row["email"]:
        problems.append(("phone", "neither phone nor e-mail: the contact could not be alerted"))
    if row["kind"] not in CONTACT_KINDS:
        problems.append(("kind", f"kind {row['kind']!r} is none of {', '.join(CONTACT_KINDS)}"))
    if row["consent"] not in _CONSENT_VALUES:
        problems.append(("consent", f"consent {row['consent']!r} is neither yes, no nor empty"))
    elif _CONSENT_VALUES[row["consent"]] and not row["consent_method"]:
        problems.append(("consent_method", "a consent is recorded with how it was given"))
    return problems


def _contact(row):
    return {
        "external_id": row["external_id"],
        "name": row["name"],
        "phone": e164(row["phone"]) if row["phone"] else None,
        "email": row["email"] or None,
        "address": row["address"] or None,
        "language": row["language"].lower() or DEFAULT_LANGUAGE,
        "groups": [group.strip() for group in row["groups"].split(";") if group.strip()],
        "consent": _CONSENT_VALUES[row["consent"]],
        "consent_method": row["consent_method"] or None,
        "kind": row["kind"],
    }


# -- costs --------------------------------------------------------------------------------------


def voice_minutes(call_seconds):
    """Minutes billed for voice calls of these durations: each call per started minute (61 s
    is 2 minutes), an unanswered call (0 s) nothing."""
    call_seconds = list(call_seconds)
    if any(seconds < 0 for seconds in call_seconds):
        raise ValueError("a call cannot last less than 0 seconds")
    return sum(math.ceil(seconds / 60) for seconds in call_seconds)


def communication_cost(sms_segments_total, voice_minutes_total, segment_price, minute_price):
    """The communication cost a commune bears for a campaign (Art. 2): SMS segments and
    minutes of answered calls at the operator's prices, to the cent, half up."""
    segment_price, minute_price = _price(segment_price), _price(minute_price)
    if sms_segments_total < 0 or voice_minutes_total < 0:
        raise ValueError("a campaign cannot send fewer than 0 SMS segments or minutes")
    total = sms_segments_total * segment_price + voice_minutes_total * minute_price
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


def _price(price):
    if isinstance(price, float):
        raise TypeError("prices are Decimal, not float")
    return Decimal(price)
