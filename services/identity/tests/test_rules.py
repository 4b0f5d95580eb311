"""The rules of identity, without Nameko or a database: the login throttle, secret hashing,
signing keys and tokens, e-mail verification links, the throttle of sign-up mails, and what
OpenID Connect publishes."""

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from contracts.identity import TOKEN_AUDIENCE, token_issuer
from services.identity import rules

MONDAY_9AM = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# The suite's public URL (COMMUNS_PUBLIC_URL) is the tokens' issuer.
ISSUER = token_issuer("https://services.montpellier3m.fr/")
SECOND = timedelta(seconds=1)
MICROSECOND = timedelta(microseconds=1)


# -- the login throttle -----------------------------------------------------------------------


def state_after_failures_at(*offsets):
    """The throttle of one name after failed logins at MONDAY_9AM + each offset."""
    state = None
    for offset in offsets:
        state = rules.after_failure(state, MONDAY_9AM + offset)
    return state


def minutes(*values):
    return [timedelta(minutes=value) for value in values]


@pytest.mark.parametrize(
    "failure_offsets, failures, locked_for_seconds",
    [
        (minutes(0), 1, 0),
        (minutes(0, 1, 2, 3), 4, 0),
        # The fifth failure locks for fifteen minutes from that failure.
        (minutes(0, 1, 2, 3, 4), 5, 900),
        # Just inside the window: the fifth comes 14:59 after the first.
        ([*minutes(0, 1, 2, 3), timedelta(minutes=14, seconds=59)], 5, 900),
        # "Within fifteen minutes" includes the fifteenth minute itself.
        ([*minutes(0, 1, 2, 3), timedelta(minutes=15)], 5, 900),
        # Just outside: the first four have aged out, this one starts a new count.
        ([*minutes(0, 1, 2, 3), timedelta(minutes=15, seconds=1)], 1, 0),
        ([*minutes(0, 1, 2, 3), timedelta(minutes=15) + MICROSECOND], 1, 0),
        # A count restarted at minute 16 locks at its own fifth failure, not before.
        (minutes(0, 1, 2, 3, 16, 17, 18, 19), 4, 0),
        (minutes(0, 1, 2, 3, 16, 17, 18, 19, 20), 5, 900),
    ],
)
def test_five_failures_within_fifteen_minutes_lock_the_name(
    failure_offsets, failures, locked_for_seconds
):
    state = state_after_failures_at(*failure_offsets)
    last_failure = MONDAY_9AM + failure_offsets[-1]
    assert state.failures == failures
    assert rules.seconds_locked(state, last_failure) == locked_for_seconds
    if locked_for_seconds:
        assert state.locked_until == last_failure + timedelta(minutes=15)
    else:
        assert state.locked_until is None


def locked_until(moment):
    return rules.ThrottleState(failures=5, window_started_at=MONDAY_9AM, locked_until=moment)


LOCK_END = MONDAY_9AM + timedelta(minutes=15)


@pytest.mark.parametrize(
    "now, seconds",
    [
        (MONDAY_9AM, 900),
        (LOCK_END - SECOND, 1),
        # Retry-After is a whole number of seconds, rounded up: a client that waits that long
        # must find the lock over, never one second short.
        (LOCK_END - timedelta(seconds=1.5), 2),
        (LOCK_END - SECOND - MICROSECOND, 2),
        (LOCK_END - timedelta(seconds=899.9), 900),
        (LOCK_END - MICROSECOND, 1),
        # The lock ends exactly at its boundary.
        (LOCK_END, 0),
        (LOCK_END + SECOND, 0),
    ],
)
def test_seconds_locked_counts_whole_seconds_rounded_up(now, seconds):
    assert rules.seconds_locked(locked_until(LOCK_END), now) == seconds


@pytest.mark.parametrize(
    "state",
    [None, rules.ThrottleState(failures=4, window_started_at=MONDAY_9AM, locked_until=None)],
)
def test_a_name_without_a_lock_is_not_locked(state):
    assert rules.seconds_locked(state, MONDAY_9AM) == 0


def test_a_failure_after_the_lock_ends_starts_a_new_count():
    locked = state_after_failures_at(*minutes(0, 1, 2, 3, 4))
    after = rules.after_failure(locked, locked.locked_until)
    assert (after.failures, after.locked_until) == (1, None)
    assert after.window_started_at == locked.locked_until


@pytest.mark.parametrize(
    "tried, same_name",
    [
        ("Agent.Laverune", True),
        ("  agent.laverune ", True),
        ("AGENT.LAVERUNE", True),
        ("agent.laverune2", False),
    ],
)
def test_the_throttle_counts_a_name_whatever_its_case(tried, same_name):
    assert (
        rules.subject_digest("account", tried) == rules.subject_digest("account", "agent.laverune")
    ) is same_name


def test_the_throttle_keeps_a_digest_not_the_name():
    digest = rules.subject_digest("account", "agent.laverune")
    assert len(digest) == 64 and "laverune" not in digest
    # An account and an API client that happen to share a name are throttled apart.
    assert digest != rules.subject_digest("api_client", "agent.laverune")
    # So are an address and a username typed as one.
    address = rules.subject_digest("address", "192.0.2.7")
    assert "192.0.2.7" not in address
    assert address != rules.subject_digest("account", "192.0.2.7")


SECONDS = [timedelta(seconds=value) for value in range(20)]


@pytest.mark.parametrize(
    "failure_offsets, max_failures, failures, locked_for_seconds",
    [
        # A name is locked at its fifth failure, an address at its twentieth.
        (SECONDS[:5], rules.MAX_FAILED_LOGINS, 5, 900),
        (SECONDS[:5], rules.MAX_FAILED_LOGINS_PER_ADDRESS, 5, 0),
        (SECONDS[:19], rules.MAX_FAILED_LOGINS_PER_ADDRESS, 19, 0),
        (SECONDS[:20], rules.MAX_FAILED_LOGINS_PER_ADDRESS, 20, 900),
        # Within the same fifteen minutes as a name's…
        ([*SECONDS[:19], timedelta(minutes=15)], rules.MAX_FAILED_LOGINS_PER_ADDRESS, 20, 900),
        # …after which the count starts again.
        ([*SECONDS[:19], timedelta(minutes=15, seconds=1)],
         rules.MAX_FAILED_LOGINS_PER_ADDRESS, 1, 0),
    ],
)
def test_twenty_failures_within_fifteen_minutes_lock_the_address_they_came_from(
    failure_offsets, max_failures, failures, locked_for_seconds
):
    state = None
    for offset in failure_offsets:
        state = rules.after_failure(state, MONDAY_9AM + offset, max_failures)
    assert state.failures == failures
    assert rules.seconds_locked(state, MONDAY_9AM + failure_offsets[-1]) == locked_for_seconds


# -- secrets ----------------------------------------------------------------------------------

PASSWORD = "Lavérune, été 2026!"  # non-ASCII on purpose
HASHED_PASSWORD = rules.hash_secret(PASSWORD)


def test_secrets_are_hashed_with_argon2id_and_a_salt_of_their_own():
    assert HASHED_PASSWORD.startswith("$argon2id$")
    assert PASSWORD not in HASHED_PASSWORD
    assert rules.hash_secret(PASSWORD) != HASHED_PASSWORD


@pytest.mark.parametrize(
    "secret_hash, secret, matches",
    [
        (HASHED_PASSWORD, PASSWORD, True),
        (HASHED_PASSWORD, PASSWORD.upper(), False),
        (HASHED_PASSWORD, PASSWORD + " ", False),
        (HASHED_PASSWORD, "", False),
        # Whatever sits in the hash column, a bad one refuses the login rather than failing it.
        ("", PASSWORD, False),
        ("not a hash", PASSWORD, False),
        (HASHED_PASSWORD[:-8], PASSWORD, False),
        (HASHED_PASSWORD.replace("$argon2id$", "$argon2i$"), PASSWORD, False),
        ("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", PASSWORD, False),
        (rules.DECOY_HASH, PASSWORD, False),
    ],
    ids=[
        "right",
        "other case",
        "trailing space",
        "empty",
        "empty hash",
        "not a hash",
        "truncated hash",
        "argon2i label",
        "bcrypt hash",
        "decoy",
    ],
)
def test_a_secret_matches_only_its_own_hash(secret_hash, secret, matches):
    assert rules.secret_matches(secret_hash, secret) is matches


def test_api_client_credentials_are_random_and_long():
    (first_id, first_secret), (second_id, second_secret) = (
        rules.new_client_credentials(),
        rules.new_client_credentials(),
    )
    assert first_id.startswith("cli_") and first_id != second_id
    assert first_secret != second_secret
    assert len(first_secret) >= 43  # 32 random bytes, base64url


# -- signing keys -----------------------------------------------------------------------------


def rfc7638_thumbprint(crv, x, y):
    """RFC 7638 section 3, spelt out by hand for an EC key: the required members in
    lexicographic order, no whitespace, SHA-256, base64url without padding."""
    canonical = f'{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}'
    return (
        base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    )


# A published P-256 key whose SHA-256 thumbprint is known (hex
# 1235335bd15b2c75f3e84f4c681d85cbc059c00d7910d1bad0690a2af566aaf8), with the members a
# thumbprint must ignore.
KNOWN_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "alg": "ES256",
    "kid": "whatever",
    "use": "sig",
    "x": "V8ctRWc2deLSjfOjqQm7-m33SinduQbKJVgSHFj7ZxQ",
    "y": "svjg0e-iAe5zElQhfqqagr4-S8k3WWgzz6JDPmRE_bk",
}
KNOWN_THUMBPRINT = "EjUzW9FbLHXz6E9MaB2Fy8BZwA15ENG60GkKKvVmqvg"


def test_the_thumbprint_of_a_known_key():
    assert rfc7638_thumbprint("P-256", KNOWN_JWK["x"], KNOWN_JWK["y"]) == KNOWN_THUMBPRINT
    assert rules.jwk_thumbprint(KNOWN_JWK) == KNOWN_THUMBPRINT


KEY_PAIR = rules.new_key_pair()


def test_a_key_is_named_by_its_rfc_7638_thumbprint():
    jwk = KEY_PAIR.public_jwk
    assert KEY_PAIR.kid == jwk["kid"] == rfc7638_thumbprint(jwk["crv"], jwk["x"], jwk["y"])
    assert rules.new_key_pair().kid != KEY_PAIR.kid


def test_the_published_key_is_the_public_half_of_the_signing_key():
    jwk = KEY_PAIR.public_jwk
    assert {key: jwk[key] for key in ("kty", "crv", "use", "alg")} == {
        "kty": "EC",
        "crv": "P-256",
        "use": "sig",
        "alg": "ES256",
    }
    assert "d" not in jwk
    private_key = serialization.load_pem_private_key(KEY_PAIR.private_pem.encode(), None)
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)
    published = jwt.PyJWK(jwk).key.public_numbers()
    assert published == private_key.public_key().public_numbers()


KEY_CREATED = MONDAY_9AM


@pytest.mark.parametrize(
    "age, rotates",
    [
        (timedelta(0), False),
        (timedelta(days=30) - SECOND, False),
        (timedelta(days=30), True),
        (timedelta(days=45), True),
    ],
)
def test_the_signing_key_is_replaced_after_30_days(age, rotates):
    assert rules.key_needs_rotation(KEY_CREATED, KEY_CREATED + age) is rotates


@pytest.mark.parametrize(
    "age, published",
    [
        (timedelta(0), True),
        (timedelta(days=30), True),
        (timedelta(days=30, minutes=15) - SECOND, True),
        (timedelta(days=30, minutes=15), False),
    ],
)
def test_a_retired_key_is_published_fifteen_minutes_more(age, published):
    assert rules.key_still_published(KEY_CREATED, KEY_CREATED + age) is published


def test_a_retired_key_is_published_until_the_last_token_it_signed_expires():
    # The last moment a key signs is just before it is due for rotation.
    last_signature_at = KEY_CREATED + timedelta(days=30) - MICROSECOND
    assert not rules.key_needs_rotation(KEY_CREATED, last_signature_at)
    token = rules.issue_token(KEY_PAIR, AGENT, last_signature_at, ISSUER)["access_token"]
    expires = datetime.fromtimestamp(
        jwt.decode(token, options={"verify_signature": False})["exp"], UTC
    )
    # PyJWT accepts a token strictly before its exp; until then its key must be findable.
    assert rules.key_still_published(KEY_CREATED, expires - MICROSECOND)


# -- tokens -----------------------------------------------------------------------------------

AGENT = {
    "kind": "account",
    "id": "5f0c7c52-8a59-4a3e-9d0b-2f1d7f0b6a11",
    "name": "agent.laverune",
    "role": "commune_agent",
    "commune": "34134",
}
API_CLIENT = {
    "kind": "api_client",
    "id": "cli_finance34134",
    "name": "Logiciel de finances",
    "role": "commune_agent",
    "commune": "34134",
}


def verify(token, jwk):
    return jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["ES256"],
        audience=TOKEN_AUDIENCE,
        issuer=ISSUER,
    )


@pytest.mark.parametrize("principal", [AGENT, API_CLIENT], ids=["account", "api_client"])
def test_a_token_says_who_for_which_commune_for_fifteen_minutes(principal):
    now = datetime.now(UTC)
    issued = rules.issue_token(KEY_PAIR, principal, now, ISSUER)
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 900

    token = issued["access_token"]
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "typ": "JWT", "kid": KEY_PAIR.kid}
    claims = verify(token, KEY_PAIR.public_jwk)
    assert {name: claims[name] for name in ("iss", "aud", "sub", "kind", "role", "commune")} == {
        "iss": ISSUER,
        "aud": TOKEN_AUDIENCE,
        "sub": principal["id"],
        "kind": principal["kind"],
        "role": "commune_agent",
        "commune": "34134",
    }
    assert claims["iat"] == int(now.timestamp())
    assert claims["exp"] == claims["iat"] + 15 * 60
    # Anyone holding the token reads it: it names the holder by id, never by name.
    assert principal["name"] not in json.dumps(claims)


def test_two_tokens_of_one_moment_are_told_apart():
    first, second = (rules.issue_token(KEY_PAIR, AGENT, MONDAY_9AM, ISSUER)["access_token"]
                     for _ in "12")
    unverified = {"verify_signature": False}
    assert (
        jwt.decode(first, options=unverified)["jti"]
        != jwt.decode(second, options=unverified)["jti"]
    )


def test_a_metropole_admin_token_has_no_commune():
    admin = {**AGENT, "role": "metropole_admin", "commune": None}
    token = rules.issue_token(KEY_PAIR, admin, datetime.now(UTC), ISSUER)["access_token"]
    assert verify(token, KEY_PAIR.public_jwk)["commune"] is None


def test_a_token_does_not_verify_with_another_key():
    token = rules.issue_token(KEY_PAIR, AGENT, datetime.now(UTC), ISSUER)["access_token"]
    with pytest.raises(jwt.InvalidSignatureError):
        verify(token, rules.new_key_pair().public_jwk)


@pytest.mark.parametrize(
    "issued_ago, valid",
    [(timedelta(minutes=14, seconds=50), True), (timedelta(minutes=15, seconds=1), False)],
)
def test_a_token_expires_fifteen_minutes_after_it_is_issued(issued_ago, valid):
    token = rules.issue_token(
        KEY_PAIR, AGENT, datetime.now(UTC) - issued_ago, ISSUER)["access_token"]
    if valid:
        assert verify(token, KEY_PAIR.public_jwk)["sub"] == AGENT["id"]
    else:
        with pytest.raises(jwt.ExpiredSignatureError):
            verify(token, KEY_PAIR.public_jwk)


@pytest.mark.parametrize(
    "audience, issuer, error",
    [
        ("another-api", ISSUER, jwt.InvalidAudienceError),
        (TOKEN_AUDIENCE, "someone-else", jwt.InvalidIssuerError),
    ],
)
def test_a_token_is_for_the_communs_api_from_the_suites_public_url_only(audience, issuer, error):
    token = rules.issue_token(KEY_PAIR, AGENT, datetime.now(UTC), ISSUER)["access_token"]
    with pytest.raises(error):
        jwt.decode(
            token,
            jwt.PyJWK(KEY_PAIR.public_jwk).key,
            algorithms=["ES256"],
            audience=audience,
            issuer=issuer,
        )


def test_the_issuer_is_the_public_url_without_a_trailing_slash():
    assert ISSUER == "https://services.montpellier3m.fr"
    assert token_issuer("http://127.0.0.1:8000") == "http://127.0.0.1:8000"


# -- e-mail verification links ----------------------------------------------------------------


def test_a_link_keeps_only_the_sha256_of_its_secret():
    link = rules.new_verification_token(MONDAY_9AM)
    assert len(link.token) >= 43  # 32 random bytes, base64url
    assert link.digest == hashlib.sha256(link.token.encode()).hexdigest()
    assert link.digest == rules.token_digest(link.token)
    assert link.token not in link.digest
    assert rules.new_verification_token(MONDAY_9AM).token != link.token


@pytest.mark.parametrize(
    "age, expired",
    [
        (timedelta(0), False),
        (timedelta(hours=47, minutes=59, seconds=59), False),
        (timedelta(hours=48) - MICROSECOND, False),
        # 48 hours after it was sent the link has stopped working.
        (timedelta(hours=48), True),
        (timedelta(hours=48, seconds=1), True),
    ],
)
def test_a_link_works_for_48_hours(age, expired):
    link = rules.new_verification_token(MONDAY_9AM)
    assert link.expires_at == MONDAY_9AM + timedelta(hours=48)
    assert rules.verification_expired(link.expires_at, MONDAY_9AM + age) is expired


# -- sign-up mails ----------------------------------------------------------------------------


def mails_at(*offsets):
    """The count of one address after a mail at MONDAY_9AM + each offset, or None if one
    was refused."""
    count = None
    for offset in offsets:
        now = MONDAY_9AM + offset
        if not rules.may_send_sign_up_mail(count, now):
            return None
        count = rules.after_sign_up_mail(count, now)
    return count


@pytest.mark.parametrize(
    "offsets, sent",
    [
        (minutes(0), 1),
        (minutes(0, 1, 2), 3),
        # A fourth within the hour is refused.
        (minutes(0, 1, 2, 59), None),
        # The hour over, a new count starts.
        (minutes(0, 1, 2, 60), 1),
        (minutes(0, 1, 2, 60, 61, 62), 3),
        (minutes(0, 1, 2, 60, 61, 62, 63), None),
    ],
)
def test_at_most_three_sign_up_mails_an_hour_reach_an_address(offsets, sent):
    count = mails_at(*offsets)
    assert (count.sent if count else None) == sent


# -- OpenID Connect ---------------------------------------------------------------------------


def test_the_discovery_document_lives_under_the_issuer():
    document = rules.openid_configuration(ISSUER)
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == ISSUER + "/.well-known/jwks.json"
    assert document["token_endpoint"] == ISSUER + "/api/v1/auth/token"
    assert document["userinfo_endpoint"] == ISSUER + "/api/v1/me/userinfo"
    assert document["id_token_signing_alg_values_supported"] == ["ES256"]
    assert document["subject_types_supported"] == ["public"]
    assert {"sub", "email", "email_verified", "name", "given_name", "family_name"} <= set(
        document["claims_supported"])


def test_userinfo_gives_a_citizen_their_address_and_names_anyone_else_a_username():
    citizen = rules.userinfo_claims("id-1", "ada@example.org", email="ada@example.org",
                                    email_verified=True, given_name="Ada",
                                    family_name="Lovelace")
    assert citizen == {"sub": "id-1", "email": "ada@example.org", "email_verified": True,
                       "given_name": "Ada", "family_name": "Lovelace"}
    company = rules.userinfo_claims("id-3", "appels@example.fr", email="appels@example.fr",
                                    email_verified=True, name="Travaux du Lez")
    assert company == {"sub": "id-3", "email": "appels@example.fr", "email_verified": True,
                       "name": "Travaux du Lez"}
    assert rules.userinfo_claims("id-2", "agent.laverune") == {
        "sub": "id-2", "preferred_username": "agent.laverune"}
