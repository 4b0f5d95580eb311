"""The identity service through the real broker: each test starts it on a vhost and a data
folder of its own and calls it as the gateway does, over RPC."""

import contextlib
import json
import logging
import sqlite3
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from eventlet.queue import Queue
from nameko.events import event_handler
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook
from sqlalchemy.exc import IntegrityError

from contracts.envelope import EventEnvelopeSchema
from contracts.errors import Conflict, Invalid, NotFound, TooManyRequests, Unauthorized
from contracts.events import AccountCreatedSchema
from contracts.health import ServiceHealthSchema
from contracts.identity import (
    TOKEN_AUDIENCE,
    AccountSchema,
    IssuedApiClientSchema,
    JwksSchema,
    LoginEventSchema,
    PrincipalSchema,
    TokenSchema,
    token_issuer,
)
from servicekit.clock import ClockProvider
from servicekit.config import public_url
from services.identity import directory
from services.identity.bootstrap import FirstAdminSettingsError
from services.identity.directory import LOGIN_EVENTS_RETENTION, UNCONFIRMED_SIGN_UP_GRACE
from services.identity.rules import VERIFICATION_LIFETIME
from services.identity.service import IdentityService

pytestmark = pytest.mark.broker

AGENT_PASSWORD = "Lavérune agent password"
AGENT = {
    "username": "agent.laverune",
    "password": AGENT_PASSWORD,
    "role": "commune_agent",
    "commune": "34134",
}
LAVERUNE, MONTPELLIER = "34134", "34172"
ADMIN_ID = "bootstrap"  # what the tests pass as created_by; the gateway passes the admin's id
# The first admin the suite_config fixture asks for.
ADMIN_USERNAME, ADMIN_PASSWORD = "metropole.admin", "correct horse battery staple"


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def start_identity(container_factory, suite_config):
    """Starts an identity container; overrides change its config (``ADMIN_PASSWORD=None``)."""
    assert (suite_config["ADMIN_USERNAME"], suite_config["ADMIN_PASSWORD"]) == (
        ADMIN_USERNAME,
        ADMIN_PASSWORD,
    )

    def start(**overrides):
        container = container_factory(IdentityService, {**suite_config, **overrides})
        container.start()
        return container

    return start


@pytest.fixture
def identity(start_identity):
    return start_identity()


@contextlib.contextmanager
def rpc(config, correlation_id=None):
    """A caller of identity, as the gateway is; the correlation id travels like its own."""
    context = {"correlation_id": correlation_id} if correlation_id else None
    with ServiceRpcProxy("identity", config, context_data=context, timeout=10) as proxy:
        yield proxy


@pytest.fixture
def identity_rpc(suite_config, identity):
    with rpc(suite_config) as proxy:
        yield proxy


def clock_of(container):
    return next(d for d in container.dependencies if isinstance(d, ClockProvider)).clock


def database_of(config):
    return Path(config["DATA_DIR"]) / "db" / "identity.sqlite3"


def query(config, sql, *parameters):
    with contextlib.closing(sqlite3.connect(database_of(config))) as connection:
        return connection.execute(sql, parameters).fetchall()


def conforms(schema, answer):
    """The answer, after checking that it loads with its contract schema (unknown fields
    included: the contract schemas raise on them)."""
    schema.load(answer)
    return answer


def claims_of(token, jwks, config):
    """The claims of ``token``, verified with the key its header names in ``jwks``, from the
    issuer ``config`` names: the suite's public URL."""
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [key for key in jwks["keys"] if key["kid"] == kid]
    return jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["ES256"],
        audience=TOKEN_AUDIENCE,
        issuer=token_issuer(public_url(config)),
    )


def token_for(proxy, username, password):
    return proxy.issue_token({"username": username, "password": password})["access_token"]


def admin_token_kid(proxy):
    """The key id a token of the first admin is signed with now."""
    return jwt.get_unverified_header(token_for(proxy, ADMIN_USERNAME, ADMIN_PASSWORD))["kid"]


def published_kids(proxy):
    return [key["kid"] for key in proxy.public_keys()["keys"]]


def metropole_admins(config):
    (count,) = query(config, "SELECT count(*) FROM accounts WHERE role = 'metropole_admin'")
    return count[0]


# -- the first Metropole admin ----------------------------------------------------------------


def test_the_first_admin_comes_from_the_settings_once_across_restarts(start_identity, suite_config):
    first_run = start_identity()
    with rpc(suite_config) as identity:
        token = token_for(identity, ADMIN_USERNAME, ADMIN_PASSWORD)
        claims = claims_of(token, identity.public_keys(), suite_config)
    assert (claims["role"], claims["commune"]) == ("metropole_admin", None)
    first_run.stop()

    # A restart with other settings changes nothing: the admin exists already.
    start_identity(ADMIN_PASSWORD="a different admin password")
    with rpc(suite_config) as identity:
        token = token_for(identity, ADMIN_USERNAME, ADMIN_PASSWORD)
        assert claims_of(token, identity.public_keys(), suite_config)["sub"] == claims["sub"]
        with pytest.raises(Unauthorized):
            token_for(identity, ADMIN_USERNAME, "a different admin password")
    assert metropole_admins(suite_config) == 1
    assert not (Path(suite_config["DATA_DIR"]) / "secrets").exists()


@pytest.mark.parametrize(
    "username_setting, username", [(None, "admin"), ("ops.metropole", "ops.metropole")]
)
def test_without_a_password_setting_the_first_admin_password_is_written_for_its_owner_only(
    start_identity, suite_config, caplog, username_setting, username
):
    settings = {"ADMIN_USERNAME": username_setting, "ADMIN_PASSWORD": None}
    first_run = start_identity(**settings)
    password_file = Path(suite_config["DATA_DIR"]) / "secrets" / "initial-admin-password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(password_file.parent.stat().st_mode) == 0o700
    password = password_file.read_text().strip()
    assert len(password) >= 20
    # The log says where the password is, never what it is.
    assert str(password_file) in caplog.text and password not in caplog.text
    first_run.stop()

    # The restart neither makes a second admin nor replaces the password it wrote.
    start_identity(**settings)
    assert password_file.read_text().strip() == password
    with rpc(suite_config) as identity:
        claims = claims_of(token_for(identity, username, password), identity.public_keys(),
                           suite_config)
    assert claims["role"] == "metropole_admin"
    assert metropole_admins(suite_config) == 1


def test_a_weak_admin_password_in_the_settings_stops_the_first_start(start_identity, suite_config):
    with pytest.raises(FirstAdminSettingsError, match="COMMUNS_ADMIN_PASSWORD") as refusal:
        start_identity(ADMIN_PASSWORD="hunter2")
    assert "hunter2" not in str(refusal.value)
    assert query(suite_config, "SELECT count(*) FROM accounts") == [(0,)]


# -- accounts ---------------------------------------------------------------------------------

INVALID_ACCOUNTS = [
    ({"password": "eleven char"}, {"password"}),
    ({"username": "ab"}, {"username"}),
    ({"username": "agent laverune"}, {"username"}),
    ({"username": "-agent"}, {"username"}),
    ({"role": "commune_agent", "commune": None}, {"commune"}),
    ({"role": "citizen", "commune": LAVERUNE}, {"commune"}),
    ({"commune": "34999"}, {"commune"}),  # an INSEE code of Hérault, not a member commune
    ({"commune": "75056"}, {"commune"}),
    ({"role": "mayor"}, {"role"}),
    ({"is_admin": True}, {"is_admin"}),
]


def test_create_account_names_each_invalid_field_and_writes_nothing(identity_rpc, suite_config):
    for change, wrong_fields in INVALID_ACCOUNTS:
        with pytest.raises(Invalid) as refusal:
            identity_rpc.create_account({**AGENT, **change}, created_by=ADMIN_ID)
        assert set(refusal.value.errors) == wrong_fields, change
    with pytest.raises(Invalid):
        identity_rpc.create_account(["not", "an", "object"], created_by=ADMIN_ID)
    with pytest.raises(Invalid) as refusal:
        identity_rpc.create_api_client(
            {"name": "Finances", "commune": "34999"}, created_by=ADMIN_ID
        )
    assert set(refusal.value.errors) == {"commune"}
    assert query(suite_config, "SELECT count(*) FROM accounts") == [(1,)]  # the first admin
    assert query(suite_config, "SELECT count(*) FROM api_clients") == [(0,)]


def test_usernames_are_unique_whatever_their_case(identity_rpc):
    identity_rpc.create_account(AGENT, created_by=ADMIN_ID)
    for taken in ("agent.laverune", "Agent.Laverune", ADMIN_USERNAME.upper()):
        with pytest.raises(Conflict):
            identity_rpc.create_account({**AGENT, "username": taken}, created_by=ADMIN_ID)


def test_accounts_of_commune_lists_only_that_communes_accounts(identity_rpc):
    created = [
        identity_rpc.create_account(account, created_by=ADMIN_ID)
        for account in (
            AGENT,
            {**AGENT, "username": "secretariat.laverune"},
            {**AGENT, "username": "agent.montpellier", "commune": MONTPELLIER},
            {**AGENT, "username": "citoyenne", "role": "citizen", "commune": None},
        )
    ]
    laverune = conforms(AccountSchema(many=True), identity_rpc.accounts_of_commune(LAVERUNE))
    assert [account["id"] for account in laverune] == [created[0]["id"], created[1]["id"]]
    assert {account["commune"] for account in laverune} == {LAVERUNE}
    assert [a["username"] for a in identity_rpc.accounts_of_commune(MONTPELLIER)] == [
        "agent.montpellier"
    ]
    assert identity_rpc.accounts_of_commune("34022") == []


# -- tokens -----------------------------------------------------------------------------------


def test_an_account_gets_a_token_the_published_keys_verify(identity_rpc, suite_config):
    account = identity_rpc.create_account(AGENT, created_by=ADMIN_ID)
    # The username is found whatever its case, like its uniqueness.
    token = token_for(identity_rpc, "Agent.Laverune", AGENT_PASSWORD)
    claims = claims_of(token, identity_rpc.public_keys(), suite_config)
    assert (claims["sub"], claims["kind"], claims["role"], claims["commune"]) == (
        account["id"],
        "account",
        "commune_agent",
        LAVERUNE,
    )
    assert identity_rpc.get_principal("account", claims["sub"]) == {
        "kind": "account",
        "id": account["id"],
        "name": "agent.laverune",
        "role": "commune_agent",
        "commune": LAVERUNE,
    }


def test_an_api_client_gets_a_token_with_its_id_and_secret(identity_rpc, suite_config):
    client = identity_rpc.create_api_client(
        {"name": "Logiciel de finances", "commune": LAVERUNE}, created_by=ADMIN_ID
    )
    answer = identity_rpc.issue_token(
        {"client_id": client["client_id"], "client_secret": client["client_secret"]}
    )
    claims = claims_of(answer["access_token"], identity_rpc.public_keys(), suite_config)
    assert (claims["sub"], claims["kind"], claims["role"], claims["commune"]) == (
        client["client_id"],
        "api_client",
        "commune_agent",
        LAVERUNE,
    )
    assert identity_rpc.get_principal("api_client", client["client_id"]) == {
        "kind": "api_client",
        "id": client["client_id"],
        "name": "Logiciel de finances",
        "role": "commune_agent",
        "commune": LAVERUNE,
    }
    with pytest.raises(Unauthorized):
        identity_rpc.issue_token({"client_id": client["client_id"], "client_secret": "guessed"})


def test_an_unknown_principal_is_not_found(identity_rpc):
    for kind, principal_id in [
        ("account", str(uuid.uuid4())),
        ("account", "not-a-uuid"),
        ("api_client", "cli_nobody"),
        ("robot", "anything"),
    ]:
        with pytest.raises(NotFound):
            identity_rpc.get_principal(kind, principal_id)


def test_an_unknown_name_and_a_wrong_password_are_refused_alike(identity_rpc):
    identity_rpc.create_account(AGENT, created_by=ADMIN_ID)
    refusals = []
    for credentials in (
        {"username": "agent.laverune", "password": "not the password"},
        {"username": "nobody.here", "password": AGENT_PASSWORD},
    ):
        with pytest.raises(Unauthorized) as refusal:
            identity_rpc.issue_token(credentials)
        refusals.append(str(refusal.value))
    assert refusals[0] == refusals[1]

    client_refusals = []
    client = identity_rpc.create_api_client(
        {"name": "Site web", "commune": LAVERUNE}, created_by=ADMIN_ID
    )
    for client_id in (client["client_id"], "cli_nobody"):
        with pytest.raises(Unauthorized) as refusal:
            identity_rpc.issue_token({"client_id": client_id, "client_secret": "not the secret"})
        client_refusals.append(str(refusal.value))
    assert client_refusals[0] == client_refusals[1]


def test_five_failed_logins_lock_the_name_for_fifteen_minutes(identity, identity_rpc):
    identity_rpc.create_account(AGENT, created_by=ADMIN_ID)
    clock = clock_of(identity)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    wrong = {"username": "agent.laverune", "password": "not the password"}
    right = {"username": "agent.laverune", "password": AGENT_PASSWORD}

    for _ in range(5):
        with pytest.raises(Unauthorized):
            identity_rpc.issue_token(wrong)
        clock.advance(seconds=10)
    # The right password does not get through the lock, whatever the case of the name.
    for locked_out in (right, {**right, "username": "AGENT.LAVERUNE"}):
        with pytest.raises(TooManyRequests) as refusal:
            identity_rpc.issue_token(locked_out)
        assert refusal.value.retry_after == 15 * 60 - 10
    # Only the name tried is locked.
    token_for(identity_rpc, ADMIN_USERNAME, ADMIN_PASSWORD)

    clock.advance(minutes=15, seconds=-11)
    with pytest.raises(TooManyRequests) as refusal:
        identity_rpc.issue_token(right)
    assert refusal.value.retry_after == 1
    clock.advance(seconds=1)
    assert conforms(TokenSchema(), identity_rpc.issue_token(right))["token_type"] == "Bearer"


def test_a_successful_login_clears_the_failures_before_it(identity_rpc):
    identity_rpc.create_account(AGENT, created_by=ADMIN_ID)
    wrong = {"username": "agent.laverune", "password": "not the password"}
    right = {"username": "agent.laverune", "password": AGENT_PASSWORD}
    for credentials in (wrong, wrong, wrong, wrong, right, wrong):
        with contextlib.suppress(Unauthorized):
            identity_rpc.issue_token(credentials)
    # Five failures, but not in a row: the agent who remembered their password is not locked.
    assert identity_rpc.issue_token(right)["token_type"] == "Bearer"


def test_failures_on_many_names_from_one_address_lock_that_address_only(
    identity, identity_rpc, suite_config, caplog
):
    caplog.set_level(logging.INFO)
    stuffer, neighbour = "203.0.113.66", "198.51.100.7"
    identity_rpc.create_account(AGENT, created_by=ADMIN_ID)
    clock = clock_of(identity)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    right = {"username": "agent.laverune", "password": AGENT_PASSWORD}

    # A leaked list of pairs, one attempt per name: no name's count ever reaches five.
    for number in range(20):
        with pytest.raises(Unauthorized):
            identity_rpc.issue_token({"username": f"leaked.{number}", "password": "leaked"},
                                     client_address=stuffer)
        clock.advance(seconds=10)
    # The twenty-first finds the address locked, whatever the pair it tries.
    for locked_out in ({"username": "leaked.20", "password": "leaked"}, right):
        with pytest.raises(TooManyRequests) as refusal:
            identity_rpc.issue_token(locked_out, client_address=stuffer)
        assert refusal.value.retry_after == 15 * 60 - 10
    # From elsewhere, the agent logs in: the address was locked, not the name.
    assert identity_rpc.issue_token(right, client_address=neighbour)["token_type"] == "Bearer"

    clock.advance(seconds=15 * 60 - 10)
    assert identity_rpc.issue_token(right, client_address=stuffer)["token_type"] == "Bearer"
    # The address is personal data: a digest on disk, nothing in the logs.
    stored = b"".join(path.read_bytes() for path in database_of(suite_config).parent.iterdir())
    assert stuffer.encode() not in stored
    assert stuffer not in caplog.text
    assert "login.refused" in caplog.text  # the logs were captured


def test_a_failure_that_loses_the_race_to_create_its_throttle_row_is_counted_not_a_500(
    identity, identity_rpc, monkeypatch
):
    record_login, raced = directory.record_login, []

    def created_first_by_another_attempt(session, *args):
        if not raced:
            # What PostgreSQL answers when a concurrent first failure inserted the row.
            raced.append(True)
            raise IntegrityError("INSERT INTO login_throttles", {}, Exception("duplicate key"))
        return record_login(session, *args)

    monkeypatch.setattr(directory, "record_login", created_first_by_another_attempt)
    wrong = {"username": "raced.name", "password": "guess"}
    with pytest.raises(Unauthorized):
        identity_rpc.issue_token(wrong, client_address="203.0.113.9")
    for _ in range(4):
        with pytest.raises(Unauthorized):
            identity_rpc.issue_token(wrong)
    # The raced failure was counted once: the fifth locks the name.
    with pytest.raises(TooManyRequests):
        identity_rpc.issue_token(wrong)


def test_the_hourly_pruning_forgets_names_whose_failures_have_aged_out(identity, identity_rpc):
    clock = clock_of(identity)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    for name in ("sprayed.name.1", "sprayed.name.2"):
        with pytest.raises(Unauthorized):
            identity_rpc.issue_token({"username": name, "password": "guess"})
    clock.advance(minutes=15, seconds=1)
    with pytest.raises(Unauthorized):
        identity_rpc.issue_token({"username": "sprayed.name.3", "password": "guess"})

    with entrypoint_hook(identity, "prune_login_throttles") as prune:
        prune()
    assert query(identity.config, "SELECT failures FROM login_throttles") == [(1,)]


def test_the_login_audit_keeps_outcomes_and_correlation_ids_never_what_was_typed(
    identity, suite_config, caplog
):
    caplog.set_level(logging.INFO)
    typed_name = "nobody.typed.this"
    password_in_the_name_field = "my password in the wrong box"
    wrong_password = "a wrong password for the agent"

    def attempt(correlation_id, username, password):
        with rpc(suite_config, correlation_id) as identity_rpc:
            with contextlib.suppress(Unauthorized, TooManyRequests):
                return identity_rpc.issue_token({"username": username, "password": password})

    with rpc(suite_config) as identity_rpc:
        agent_id = identity_rpc.create_account(AGENT, created_by=ADMIN_ID)["id"]
    assert attempt("req-success", "agent.laverune", AGENT_PASSWORD)
    attempt("req-unknown", typed_name, AGENT_PASSWORD)
    attempt("req-misplaced", password_in_the_name_field, "x")
    for attempt_number in range(5):
        attempt(f"req-wrong-{attempt_number}", "agent.laverune", wrong_password)
    attempt("req-throttled", "agent.laverune", AGENT_PASSWORD)

    with rpc(suite_config) as identity_rpc:
        events = conforms(LoginEventSchema(many=True), identity_rpc.login_events(20))
    newest_first = [(e["outcome"], e["principal_id"], e["correlation_id"]) for e in events]
    assert newest_first == [
        ("throttled", agent_id, "req-throttled"),
        *[("rejected", agent_id, f"req-wrong-{n}") for n in (4, 3, 2, 1, 0)],
        ("rejected", None, "req-misplaced"),
        ("rejected", None, "req-unknown"),
        ("success", agent_id, "req-success"),
    ]
    assert {event["principal_kind"] for event in events} == {"account"}

    # Nothing typed at a login lands anywhere on disk — database, its WAL — nor in the logs.
    stored = b"".join(path.read_bytes() for path in database_of(suite_config).parent.iterdir())
    for secret in (typed_name, password_in_the_name_field, wrong_password, AGENT_PASSWORD):
        assert secret.encode() not in stored, secret
        assert secret not in caplog.text, secret
    assert "req-throttled" in caplog.text  # the logs were captured, with correlation ids


# -- events -----------------------------------------------------------------------------------


def account_created_listener(received):
    class AccountCreatedListener:
        """What a service subscribing to account.created sees."""

        name = "account_created_listener"

        @event_handler("identity", "account.created")
        def receive(self, envelope):
            received.put(envelope)

    return AccountCreatedListener


def test_account_created_is_published_with_the_commune_and_no_personal_data(
    container_factory, suite_config
):
    received = Queue()
    # The listener's queue must exist before identity publishes: the first admin is announced
    # as soon as identity starts.
    container_factory(account_created_listener(received), suite_config).start()
    identity = container_factory(IdentityService, suite_config)
    identity.start()

    first_admin = received.get(timeout=10)
    with rpc(suite_config, "req-create-agent") as identity_rpc:
        agent = identity_rpc.create_account(AGENT, created_by=ADMIN_ID)
    agent_created = received.get(timeout=10)

    for envelope in (first_admin, agent_created):
        EventEnvelopeSchema().load(envelope)
        AccountCreatedSchema().load(envelope["data"])
        assert (envelope["type"], envelope["producer"], envelope["version"]) == (
            "account.created",
            "identity",
            1,
        )
        published = json.dumps(envelope)
        for personal in (ADMIN_USERNAME, "agent.laverune", ADMIN_PASSWORD, AGENT_PASSWORD):
            assert personal not in published
    assert first_admin["data"]["role"] == "metropole_admin"
    assert first_admin["commune"] is None and first_admin["data"]["commune"] is None
    assert agent_created["data"] == {
        "account_id": agent["id"],
        "role": "commune_agent",
        "commune": LAVERUNE,
    }
    assert agent_created["commune"] == LAVERUNE
    assert agent_created["correlation_id"] == "req-create-agent"


def test_a_failed_creation_announces_nothing(identity_rpc, suite_config):
    identity_rpc.create_account(AGENT, created_by=ADMIN_ID)
    with pytest.raises(Conflict):
        identity_rpc.create_account({**AGENT, "username": "AGENT.LAVERUNE"}, created_by=ADMIN_ID)
    assert query(
        suite_config, "SELECT count(*) FROM outbox WHERE event_type = 'account.created'"
    ) == [(2,)]


# -- signing keys -----------------------------------------------------------------------------


def test_the_signing_key_rotates_after_30_days_and_the_old_one_stays_published_15_minutes(
    identity, identity_rpc
):
    clock = clock_of(identity)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    first_kid = admin_token_kid(identity_rpc)
    assert published_kids(identity_rpc) == [first_kid]

    clock.advance(days=30, seconds=-1)
    assert admin_token_kid(identity_rpc) == first_kid

    clock.advance(seconds=1)
    second_kid = admin_token_kid(identity_rpc)
    assert second_kid != first_kid
    # Tokens the first key signed a second ago are valid for 15 minutes more.
    assert published_kids(identity_rpc) == [second_kid, first_kid]

    clock.advance(minutes=15)
    assert published_kids(identity_rpc) == [second_kid]


# -- the contract -----------------------------------------------------------------------------


def test_every_answer_loads_with_its_contract_schema(identity_rpc):
    conforms(ServiceHealthSchema(), identity_rpc.health())
    account = conforms(AccountSchema(), identity_rpc.create_account(AGENT, created_by=ADMIN_ID))
    client = conforms(
        IssuedApiClientSchema(),
        identity_rpc.create_api_client(
            {"name": "Site web", "commune": LAVERUNE}, created_by=ADMIN_ID
        ),
    )
    conforms(
        TokenSchema(),
        identity_rpc.issue_token({"username": AGENT["username"], "password": AGENT_PASSWORD}),
    )
    conforms(
        TokenSchema(),
        identity_rpc.issue_token(
            {"client_id": client["client_id"], "client_secret": client["client_secret"]}
        ),
    )
    jwks = conforms(JwksSchema(), identity_rpc.public_keys())
    # Public halves only: an EC private key would carry "d".
    assert [(key["kty"], "d" in key) for key in jwks["keys"]] == [("EC", False)]
    conforms(PrincipalSchema(), identity_rpc.get_principal("account", account["id"]))
    conforms(PrincipalSchema(), identity_rpc.get_principal("api_client", client["client_id"]))
    assert len(conforms(AccountSchema(many=True), identity_rpc.accounts_of_commune(LAVERUNE))) == 1
    assert len(conforms(LoginEventSchema(many=True), identity_rpc.login_events())) == 2


def test_the_hourly_retention_deletes_what_is_past_its_time_by_the_clock(
    identity, identity_rpc, suite_config
):
    clock = clock_of(identity)
    signed_up_at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock.set(signed_up_at)
    identity_rpc.sign_up_citizen({"email": "Ada.Lovelace@example.org", "given_name": "Ada",
                                  "family_name": "Lovelace",
                                  "password": "analytical engine 1843"})
    with pytest.raises(Unauthorized):
        identity_rpc.issue_token({"username": "nobody.at.all", "password": "a guess"})

    def keep_retention_at(moment):
        clock.set(moment)
        with entrypoint_hook(identity, "keep_retention") as keep:
            keep()
        return (query(suite_config, "SELECT count(*) FROM accounts WHERE role = 'citizen'"),
                query(suite_config, "SELECT count(*) FROM mail_outbox"),
                query(suite_config, "SELECT count(*) FROM login_events"))

    link_expired = signed_up_at + VERIFICATION_LIFETIME
    second = timedelta(seconds=1)
    assert keep_retention_at(link_expired + UNCONFIRMED_SIGN_UP_GRACE - second) == (
        [(1,)], [(1,)], [(1,)])
    assert keep_retention_at(link_expired + UNCONFIRMED_SIGN_UP_GRACE + second) == (
        [(0,)], [(0,)], [(1,)])
    assert keep_retention_at(signed_up_at + LOGIN_EVENTS_RETENTION - second)[2] == [(1,)]
    assert keep_retention_at(signed_up_at + LOGIN_EVENTS_RETENTION + second)[2] == [(0,)]
