"""A campaign as a CAP 1.2 alert (OASIS Common Alerting Protocol, ITU-T X.1303), the message
every alerting system and integration reads: ``alert`` (identifier, sender, sent, status,
msgType, scope) → ``info`` (category, event, urgency, severity, certainty, headline…) →
``area`` (description, INSEE geocodes).

Written with lxml in the schema's order and validated, before it leaves, against the official
XSD kept in ``schemas/CAP-v1.2.xsd`` (its source in ``schemas/README.md``; it imports nothing,
so it loads offline). The XSD checks structure, enumerations and the time format; the rules of
the specification it cannot express (no space, comma, < or & in identifier and sender, UTC as
"-00:00", the references of an Update or Cancel, the restriction of a Restricted alert) and
the INSEE codes are checked here first.
"""

import functools
import importlib.resources
import re
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from lxml.builder import ElementMaker

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
CAP = ElementMaker(namespace=NAMESPACE, nsmap={None: NAMESPACE})
SCHEMA_FILE = "schemas/CAP-v1.2.xsd"
LANGUAGE = "fr-FR"
# The geocode's valueName for a French commune's code officiel géographique (5 characters:
# the département, 2A/2B in Corsica, 3 digits more; 971 to 976 overseas).
GEOCODE_INSEE = "INSEE"
# What TéléAlerte sends of CAP's values (System, Draft, Ack, Error and Private are not its).
STATUSES = ("Actual", "Exercise", "Test")
MSG_TYPES = ("Alert", "Update", "Cancel")
SCOPES = ("Public", "Restricted")
_INSEE = re.compile(r"(?:\d\d|2[AB])\d{3}")
# CAP 1.2, 3.3.2 and 3.2.1: identifiers and sender contain no space, comma or restricted
# character (< and &).
_FORBIDDEN = re.compile(r"[\s,<&]")


class InvalidAlert(Exception):
    """The campaign cannot make a valid CAP 1.2 alert; ``errors`` says why, one line each
    (the schema's own messages when the XSD refuses it)."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


@dataclass(frozen=True)
class CapCampaign:
    """What ``cap_alert`` needs of a campaign, in CAP's terms.

    ``sent`` is an aware datetime (CAP wants its offset); ``status`` one of Actual, Exercise,
    Test (a drill is never Actual, R8.3); ``msg_type`` Alert, Update or Cancel, the last two
    with ``references``, each (sender, identifier, sent) of an earlier alert; ``scope``
    Public or Restricted (with ``restriction``, who may see it). ``categories`` among Geo,
    Met, Safety, Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE, Other;
    ``urgency`` Immediate, Expected, Future, Past, Unknown; ``severity`` Extreme, Severe,
    Moderate, Minor, Unknown; ``certainty`` Observed, Likely, Possible, Unlikely, Unknown
    (the XSD is the judge of these). ``insee_codes`` are the communes the alert covers,
    described together by ``area_desc``.
    """

    identifier: str
    sender: str
    sent: datetime
    status: str
    categories: tuple
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str
    area_desc: str
    insee_codes: tuple
    msg_type: str = "Alert"
    scope: str = "Public"
    restriction: str | None = None
    references: tuple = ()
    sender_name: str | None = None
    description: str | None = None
    instruction: str | None = None
    expires: datetime | None = None
    language: str = LANGUAGE
    note: str | None = None


def cap_time(moment):
    """A date and time as CAP 1.2 writes it (3.3.2): "2026-05-12T14:30:00+02:00", to the
    second, with its offset, UTC as "-00:00" and never "Z"."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a CAP time has an offset: give an aware datetime")
    text = moment.replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def cap_alert(campaign):
    """The campaign (a ``CapCampaign`` or a mapping of its fields) as a CAP 1.2 alert: UTF-8
    XML bytes, valid against the official XSD; ``InvalidAlert`` with every reason otherwise."""
    if not isinstance(campaign, CapCampaign):
        campaign = CapCampaign(**campaign)  # a key it does not know is a TypeError
    errors = _check(campaign)
    if errors:
        raise InvalidAlert(errors)
    root = CAP.alert(
        CAP.identifier(campaign.identifier),
        CAP.sender(campaign.sender),
        CAP.sent(cap_time(campaign.sent)),
        CAP.status(campaign.status),
        CAP.msgType(campaign.msg_type),
        CAP.scope(campaign.scope),
        *_optional(CAP.restriction, campaign.restriction),
        *_optional(CAP.note, campaign.note),
        *_optional(CAP.references, " ".join(
            f"{sender},{identifier},{cap_time(sent)}"
            for sender, identifier, sent in campaign.references
        )),
        _info(campaign),
    )
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    validate_cap(xml)
    return xml


def validate_cap(xml):
    """Raise ``InvalidAlert`` with every error unless ``xml`` (bytes) is a CAP 1.2 alert valid
    against the XSD."""
    try:
        tree = etree.fromstring(xml)
    except etree.XMLSyntaxError as error:
        raise InvalidAlert([f"not XML: {error}"]) from error
    schema = _schema()
    if not schema.validate(tree):
        raise InvalidAlert([f"line {error.line}: {error.message}" for error in schema.error_log])


@functools.cache
def _schema():
    xsd = importlib.resources.files("services.alerting").joinpath(SCHEMA_FILE)
    with importlib.resources.as_file(xsd) as path:
        return etree.XMLSchema(file=str(path))


def _check(campaign):
    """What the XSD cannot see."""
    errors = []
    for name in ("identifier", "sender"):
        value = getattr(campaign, name)
        if not value or _FORBIDDEN.search(value):
            errors.append(f"{name} {value!r} must be non-empty, without spaces, commas, < or &")
    for name in ("sent", "expires"):
        moment = getattr(campaign, name)
        if moment is not None and (not isinstance(moment, datetime) or moment.utcoffset() is None):
            errors.append(f"{name} must be an aware datetime (CAP states the offset)")
    for name, value, allowed in (("status", campaign.status, STATUSES),
                                 ("msgType", campaign.msg_type, MSG_TYPES),
                                 ("scope", campaign.scope, SCOPES)):
        if value not in allowed:
            errors.append(f"{name} {value!r}: TéléAlerte sends {', '.join(allowed)}")
    if campaign.msg_type in ("Update", "Cancel") and not campaign.references:
        errors.append(f"an {campaign.msg_type} names the alerts it follows (references)")
    for sender, identifier, sent in campaign.references:
        if _FORBIDDEN.search(f"{sender}{identifier}") or not isinstance(sent, datetime) \
                or sent.utcoffset() is None:
            errors.append(f"reference ({sender!r}, {identifier!r}, {sent!r}) is not "
                          "(sender, identifier, aware sent)")
    if campaign.scope == "Restricted" and not campaign.restriction:
        errors.append("a Restricted alert says who may see it (restriction)")
    if not campaign.categories:
        errors.append("an alert has at least one category")
    if not campaign.insee_codes:
        errors.append("an alert covers at least one commune (INSEE code)")
    errors.extend(f"{code!r} is not a commune's INSEE code" for code in campaign.insee_codes
                  if not _INSEE.fullmatch(str(code)))
    return errors


def _info(campaign):
    return CAP.info(
        CAP.language(campaign.language),
        *(CAP.category(category) for category in campaign.categories),
        CAP.event(campaign.event),
        CAP.urgency(campaign.urgency),
        CAP.severity(campaign.severity),
        CAP.certainty(campaign.certainty),
        *_optional(CAP.expires, campaign.expires and cap_time(campaign.expires)),
        *_optional(CAP.senderName, campaign.sender_name),
        CAP.headline(campaign.headline),
        *_optional(CAP.description, campaign.description),
        *_optional(CAP.instruction, campaign.instruction),
        CAP.area(
            CAP.areaDesc(campaign.area_desc),
            *(CAP.geocode(CAP.valueName(GEOCODE_INSEE), CAP.value(code))
              for code in campaign.insee_codes),
        ),
    )


def _optional(make, value):
    return [make(value)] if value else []
