"""The rules of identity, free of Nameko: passwords, the login throttle, signing keys and
tokens, e-mail verification links and the throttle of sign-up mails, the OpenID Connect
discovery document and UserInfo claims."""

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from eventlet import tpool
from jwt.algorithms import ECAlgorithm

from contracts.identity import TOKEN_ALGORITHM, TOKEN_AUDIENCE

TOKEN_LIFETIME = timedelta(minutes=15)
KEY_LIFETIME = timedelta(days=30)

MAX_FAILED_LOGINS = 5
# Failures from one address, whatever the names tried: credential stuffing tries a leaked
# list of pairs, one attempt per name, which no name's count ever sees. More lenient than a
# name's, since a town hall's whole staff may log in from behind one address. The same window
# and lockout, so the hourly pruning forgets both kinds of count alike.
MAX_FAILED_LOGINS_PER_ADDRESS = 20
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)

VERIFICATION_LIFETIME = timedelta(hours=48)
MAX_SIGN_UP_MAILS = 3
SIGN_UP_MAIL_WINDOW = timedelta(hours=1)
# What stays in the hash column of a deleted account: no argon2 hash, so no password matches.
UNUSABLE_PASSWORD_HASH = "!deleted"

_hasher = PasswordHasher()


# argon2 spends ~100 ms of CPU by design; in a native thread (it releases the GIL) it leaves
# the service's other greenthreads (its other RPCs, its timers) running meanwhile.
def hash_secret(secret):
    """An argon2id hash of a password or a client secret."""
    return tpool.execute(_hasher.hash, secret)


def secret_matches(secret_hash, secret):
    try:
        return tpool.execute(_hasher.verify, secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


# Verifying against this when the name is unknown takes as long as for a known one, so the
# answer's timing does not tell which usernames exist.
DECOY_HASH = hash_secret(secrets.token_urlsafe(16))


def new_client_credentials():
    return f"cli_{secrets.token_urlsafe(12)}", secrets.token_urlsafe(32)


def subject_digest(kind, name):
    """What the throttle remembers of an attempted username or client id, or of the address
    a login came from (kind ``address``)."""
    return hashlib.sha256(f"{kind}:{name.strip().lower()}".encode()).hexdigest()


@dataclass
class ThrottleState:
    failures: int
    window_started_at: datetime
    locked_until: datetime | None = None


def seconds_locked(state, now):
    """Seconds until ``state`` lets a login through again; 0 if it does now."""
    if state is None or state.locked_until is None or state.locked_until <= now:
        return 0
    # Rounded up exactly (timedelta arithmetic, not floats): a client that waits this long
    # finds the lock over, never a fraction of a second short.
    return -((now - state.locked_until) // timedelta(seconds=1))


def after_failure(state, now, max_failures=MAX_FAILED_LOGINS):
    """Five failures within fifteen minutes lock the name for fifteen minutes; with
    ``MAX_FAILED_LOGINS_PER_ADDRESS``, twenty lock the address they came from."""
    if state is None or now - state.window_started_at > FAILURE_WINDOW or (
        state.locked_until is not None and state.locked_until <= now
    ):
        state = ThrottleState(failures=0, window_started_at=now)
    failures = state.failures + 1
    locked_until = now + LOCKOUT if failures >= max_failures else None
    return ThrottleState(failures, state.window_started_at, locked_until)


@dataclass(frozen=True)
class KeyPair:
    kid: str
    private_pem: str
    public_jwk: dict


def new_key_pair():
    private_key = ec.generate_private_key(ec.SECP256R1())
    public_jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    kid = jwk_thumbprint(public_jwk)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return KeyPair(
        kid, private_pem, {**public_jwk, "kid": kid, "use": "sig", "alg": TOKEN_ALGORITHM}
    )


def jwk_thumbprint(public_jwk):
    """RFC 7638 thumbprint of an EC key: a key id derived from the key itself."""
    canonical = json.dumps(
        {name: public_jwk[name] for name in ("crv", "kty", "x", "y")},
        separators=(",", ":"),
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def key_needs_rotation(created_at, now):
    return now - created_at >= KEY_LIFETIME


def key_still_published(created_at, now):
    """A retired key stays in the JWKS until the last token it signed has expired."""
    return now - created_at < KEY_LIFETIME + TOKEN_LIFETIME


def issue_token(key_pair, principal, now, issuer):
    """A signed access token for ``principal`` (kind, id, role, commune), from ``issuer``
    (``contracts.identity.token_issuer``: the suite's public URL)."""
    claims = {
        "iss": issuer,
        "aud": TOKEN_AUDIENCE,
        "sub": principal["id"],
        "kind": principal["kind"],
        "role": principal["role"],
        "commune": principal["commune"],
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + TOKEN_LIFETIME).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(
        claims, key_pair.private_pem, algorithm=TOKEN_ALGORITHM, headers={"kid": key_pair.kid}
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(TOKEN_LIFETIME.total_seconds()),
    }


# -- e-mail verification ----------------------------------------------------------------------


def token_digest(token):
    """What the database keeps of a link's secret: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class VerificationToken:
    token: str
    digest: str
    expires_at: datetime


def new_verification_token(now):
    """The secret of a verification link (32 random bytes, URL-safe) and what is stored."""
    token = secrets.token_urlsafe(32)
    return VerificationToken(token, token_digest(token), now + VERIFICATION_LIFETIME)


def verification_expired(expires_at, now):
    """A link works strictly before its 48 hours are over."""
    return now >= expires_at


@dataclass
class MailCount:
    sent: int
    window_started_at: datetime


def may_send_sign_up_mail(count, now):
    """At most three sign-up or verification mails to one address within an hour."""
    return count is None or _window_over(count, now) or count.sent < MAX_SIGN_UP_MAILS


def after_sign_up_mail(count, now):
    if count is None or _window_over(count, now):
        return MailCount(1, now)
    return MailCount(count.sent + 1, count.window_started_at)


def _window_over(count, now):
    return now - count.window_started_at >= SIGN_UP_MAIL_WINDOW


# -- OpenID Connect ---------------------------------------------------------------------------

TOKEN_PATH = "/api/v1/auth/token"
JWKS_PATH = "/.well-known/jwks.json"
USERINFO_PATH = "/api/v1/me/userinfo"
DISCOVERY_PATH = "/.well-known/openid-configuration"
CLAIMS = ("iss", "aud", "sub", "exp", "iat", "kind", "role", "commune", "email",
          "email_verified", "name", "given_name", "family_name", "preferred_username")


def openid_configuration(issuer):
    """OpenID Connect Discovery 1.0: the document at ``issuer`` + ``DISCOVERY_PATH``."""
    return {
        "issuer": issuer,
        "jwks_uri": issuer + JWKS_PATH,
        "token_endpoint": issuer + TOKEN_PATH,
        "userinfo_endpoint": issuer + USERINFO_PATH,
        "response_types_supported": ["token"],
        "grant_types_supported": ["password", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [TOKEN_ALGORITHM],
        # Credentials travel in the request's body (JSON), never in a header.
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "claims_supported": list(CLAIMS),
    }


def userinfo_claims(subject, username, email=None, email_verified=False, given_name=None,
                    family_name=None, name=None):
    """UserInfo claims: a citizen's e-mail and names, a company's e-mail and ``name`` (its
    company name), when the account has an address; the username (an API client's name)
    otherwise. Claims without a value are left out."""
    if email is None:
        return {"sub": subject, "preferred_username": username}
    claims = {"sub": subject, "email": email, "email_verified": email_verified, "name": name,
              "given_name": given_name, "family_name": family_name}
    return {name: value for name, value in claims.items() if value is not None}
