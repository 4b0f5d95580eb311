import uuid
from datetime import UTC, datetime

import pytest
from marshmallow import ValidationError

from contracts.catalogue import APPLICATION_CODES, SERVICES
from contracts.communes import MEMBER_COMMUNES
from contracts.envelope import EventEnvelopeSchema, ReceivedEventSchema
from contracts.identity import NewAccountSchema, TokenRequestSchema


def test_the_catalogue_has_the_seven_applications_of_article_1():
    assert APPLICATION_CODES == (
        "eadmin", "eservices", "procurement", "opendata", "participation", "alerting",
        "accessibility",
    )
    assert SERVICES[:3] == ("identity", "subscriptions", "billing")
    assert len(SERVICES) == 10


def test_the_31_member_communes_are_known_by_insee_code():
    assert len(MEMBER_COMMUNES) == 31
    assert MEMBER_COMMUNES["34134"].name == "Lavérune"
    assert MEMBER_COMMUNES["34172"].siren == "213401722"


@pytest.mark.parametrize(
    "credentials, wrong_fields",
    [
        ({"username": "agent", "password": "secret"}, None),
        ({"client_id": "cli_x", "client_secret": "s"}, None),
        ({"username": "agent"}, {"password"}),
        ({"client_id": "cli_x"}, {"client_secret"}),
        ({}, {"username", "password"}),
        ({"username": "agent", "password": "s", "client_id": "c"}, {"_schema"}),
        ({"username": "agent", "password": "s", "scope": "all"}, {"scope"}),
        ({"username": "", "password": "s"}, {"username"}),
    ],
)
def test_token_requests_take_one_kind_of_credentials(credentials, wrong_fields):
    if wrong_fields is None:
        assert TokenRequestSchema().load(credentials) == credentials
    else:
        with pytest.raises(ValidationError) as error:
            TokenRequestSchema().load(credentials)
        assert set(error.value.messages) == wrong_fields


GOOD_PASSWORD = "twelve chars!"


@pytest.mark.parametrize(
    "account, wrong_fields",
    [
        ({"role": "commune_agent", "commune": "34134"}, None),
        ({"role": "metropole_admin"}, None),
        ({"role": "citizen", "commune": None}, None),
        ({"role": "company"}, None),
        ({"role": "commune_agent"}, {"commune"}),
        ({"role": "citizen", "commune": "34134"}, {"commune"}),
        ({"role": "commune_agent", "commune": "34999"}, {"commune"}),  # not a member
        ({"role": "commune_agent", "commune": "3413"}, {"commune"}),
        ({"role": "mayor"}, {"role"}),
        ({"role": "citizen", "password": "eleven char"}, {"password"}),
        ({"role": "citizen", "username": "ab"}, {"username"}),
        ({"role": "citizen", "username": ".dot-first"}, {"username"}),
    ],
)
def test_new_accounts(account, wrong_fields):
    payload = {"username": "agent.laverune", "password": GOOD_PASSWORD, **account}
    if wrong_fields is None:
        NewAccountSchema().load(payload)
    else:
        with pytest.raises(ValidationError) as error:
            NewAccountSchema().load(payload)
        assert set(error.value.messages) == wrong_fields


def test_passwords_never_leave_in_a_dump():
    loaded = NewAccountSchema().load(
        {"username": "agent.x", "password": GOOD_PASSWORD, "role": "company"}
    )
    assert "password" not in NewAccountSchema().dump(loaded)


def envelope(**overrides):
    return {
        "event_id": str(uuid.uuid4()),
        "type": "account.created",
        "version": 1,
        "occurred_at": datetime(2026, 9, 30, 22, 0, tzinfo=UTC).isoformat(),
        "producer": "identity",
        "commune": "34134",
        "correlation_id": "req-1",
        "data": {"account_id": str(uuid.uuid4())},
        **overrides,
    }


def test_producers_send_strict_envelopes_and_consumers_read_tolerantly():
    newer = envelope(priority="high")
    with pytest.raises(ValidationError) as error:
        EventEnvelopeSchema().load(newer)
    assert set(error.value.messages) == {"priority"}
    assert "priority" not in ReceivedEventSchema().load(newer)


@pytest.mark.parametrize(
    "overrides, wrong_field",
    [
        ({"type": "AccountCreated"}, "type"),
        ({"version": 0}, "version"),
        ({"occurred_at": "2026-09-30T22:00:00"}, "occurred_at"),  # naive: ambiguous
        ({"commune": "75056"}, "commune"),  # Paris is not a member
        ({"event_id": "not-a-uuid"}, "event_id"),
    ],
)
def test_envelopes_reject(overrides, wrong_field):
    with pytest.raises(ValidationError) as error:
        ReceivedEventSchema().load(envelope(**overrides))
    assert wrong_field in error.value.messages
