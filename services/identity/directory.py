"""Accounts, API clients, keys and the login audit, in the identity database.

Functions take the session of the caller's transaction and the moment it happens at, so the
service decides what one transaction holds and tests decide what time it is.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict, NotFound, TooManyRequests, Unauthorized
from contracts.events import ACCOUNT_CREATED
from contracts.identity import COMMUNE_AGENT, METROPOLE_ADMIN
from services.identity import rules
from services.identity.models import Account, ApiClient, LoginEvent, LoginThrottle, SigningKey

BAD_CREDENTIALS = "Unknown username or wrong password."
BAD_CLIENT_CREDENTIALS = "Unknown client id or wrong secret."


def account_view(account):
    return {
        "id": account.id,
        "username": account.username,
        "role": account.role,
        "commune": account.commune,
        "created_at": account.created_at,
    }


def client_view(client):
    return {
        "client_id": client.client_id,
        "name": client.name,
        "role": client.role,
        "commune": client.commune,
        "created_at": client.created_at,
    }


def create_account(session, outbox, new_account, created_by, now):
    """A new account, announced by ``account.created`` in the same transaction."""
    username_key = new_account["username"].lower()
    if session.scalar(select(Account.id).where(Account.username_key == username_key)):
        raise Conflict("This username is taken.")
    account = Account(
        id=uuid.uuid4(),
        username=new_account["username"],
        username_key=username_key,
        password_hash=rules.hash_secret(new_account["password"]),
        role=new_account["role"],
        commune=new_account.get("commune"),
        created_at=now,
        created_by=created_by,
    )
    session.add(account)
    try:
        session.flush()
    except IntegrityError:
        # Another transaction took the name between the check above and this insert.
        raise Conflict("This username is taken.") from None
    outbox.add(
        session,
        ACCOUNT_CREATED,
        {"account_id": account.id, "role": account.role, "commune": account.commune},
        occurred_at=now,
        commune=account.commune,
    )
    return account


def has_metropole_admin(session):
    return session.scalar(select(func.count()).where(Account.role == METROPOLE_ADMIN)) > 0


def accounts_of_commune(session, commune):
    return session.scalars(
        select(Account).where(Account.commune == commune).order_by(Account.username_key)
    ).all()


def create_api_client(session, new_client, created_by, now):
    """A client id and secret for a commune's own system; the secret is returned only here."""
    client_id, secret = rules.new_client_credentials()
    client = ApiClient(
        client_id=client_id,
        secret_hash=rules.hash_secret(secret),
        name=new_client["name"],
        role=COMMUNE_AGENT,
        commune=new_client["commune"],
        created_at=now,
        created_by=created_by,
    )
    session.add(client)
    return client, secret


def principal(session, kind, principal_id):
    if kind == "account":
        account = _account(session, principal_id)
        return {
            "kind": kind,
            "id": str(account.id),
            "name": account.username,
            "role": account.role,
            "commune": account.commune,
        }
    client = session.get(ApiClient, principal_id) if kind == "api_client" else None
    if client is None:
        raise NotFound("No such principal.")
    return {
        "kind": kind,
        "id": client.client_id,
        "name": client.name,
        "role": client.role,
        "commune": client.commune,
    }


def _account(session, account_id):
    try:
        account = session.get(Account, uuid.UUID(str(account_id)))
    except ValueError:
        account = None
    if account is None:
        raise NotFound("No such account.")
    return account


@dataclass(frozen=True)
class LoginAttempt:
    """Who a login claims to be, read before its secret is checked."""

    kind: str
    name: str
    holder_id: str | None
    secret_hash: str | None
    rejection: str


def login_attempt(session, credentials):
    if "client_id" in credentials:
        holder = session.get(ApiClient, credentials["client_id"])
        return LoginAttempt(
            "api_client",
            credentials["client_id"],
            holder.client_id if holder else None,
            holder.secret_hash if holder else None,
            BAD_CLIENT_CREDENTIALS,
        )
    name = credentials["username"]
    holder = session.scalar(select(Account).where(Account.username_key == name.lower()))
    return LoginAttempt(
        "account",
        name,
        str(holder.id) if holder else None,
        holder.password_hash if holder else None,
        BAD_CREDENTIALS,
    )


def login_refusal(session, attempt, now, correlation_id):
    """The error that refuses the attempt now — its name is locked out — or ``None``.

    Asked before the secret is checked, and again after, because other attempts on the same
    name may have locked it in between.
    """
    throttle = session.get(LoginThrottle, rules.subject_digest(attempt.kind, attempt.name))
    wait = rules.seconds_locked(_state(throttle), now)
    if not wait:
        return None
    _audit(session, now, "throttled", attempt.kind, attempt.holder_id, correlation_id)
    return TooManyRequests("Too many failed logins; try again later.", retry_after=wait)


def secret_matches(attempt, credentials):
    """Checked outside any transaction: argon2 takes ~100 ms, and on SQLite a transaction holds
    the whole database."""
    secret = credentials["client_secret" if attempt.kind == "api_client" else "password"]
    matches = rules.secret_matches(attempt.secret_hash or rules.DECOY_HASH, secret)
    return matches and attempt.holder_id is not None


def record_login(session, attempt, matched, now, correlation_id):
    """``(principal, None)`` for a matching secret, ``(None, error)`` otherwise.

    The error is returned, not raised, so that the caller commits what the failure leaves
    behind: every attempt lands in the audit trail, and failures count towards the throttle
    of the name that was tried, known or not, so probing names is throttled too.
    """
    refusal = login_refusal(session, attempt, now, correlation_id)
    if refusal:
        return None, refusal
    throttle = session.get(LoginThrottle, rules.subject_digest(attempt.kind, attempt.name))
    if not matched:
        _record_failure(session, throttle, attempt.kind, attempt.name, now)
        _audit(session, now, "rejected", attempt.kind, attempt.holder_id, correlation_id)
        return None, Unauthorized(attempt.rejection)
    if throttle is not None:
        session.delete(throttle)
    _audit(session, now, "success", attempt.kind, attempt.holder_id, correlation_id)
    return principal(session, attempt.kind, attempt.holder_id), None


def _state(throttle):
    if throttle is None:
        return None
    return rules.ThrottleState(throttle.failures, throttle.window_started_at, throttle.locked_until)


def _record_failure(session, throttle, kind, name, now):
    state = rules.after_failure(_state(throttle), now)
    if throttle is None:
        throttle = LoginThrottle(subject_digest=rules.subject_digest(kind, name))
        session.add(throttle)
    throttle.failures = state.failures
    throttle.window_started_at = state.window_started_at
    throttle.locked_until = state.locked_until


def prune_login_throttles(session, now):
    """Forget the names whose failures no longer count — no lock holds and the next failure
    would start a new count — so names tried once by a sprayer do not pile up forever."""
    not_locked = or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now)
    count_over = or_(
        LoginThrottle.window_started_at < now - rules.FAILURE_WINDOW,
        LoginThrottle.locked_until <= now,
    )
    return session.execute(delete(LoginThrottle).where(not_locked, count_over)).rowcount


def _audit(session, now, outcome, kind, principal_id, correlation_id):
    session.add(
        LoginEvent(
            occurred_at=now,
            outcome=outcome,
            principal_kind=kind,
            principal_id=principal_id,
            correlation_id=correlation_id,
        )
    )


def login_events(session, limit):
    return session.scalars(
        select(LoginEvent).order_by(LoginEvent.occurred_at.desc(), LoginEvent.id.desc()).limit(limit)
    ).all()


def signing_key(session, now):
    """The key that signs tokens now, made at first use and replaced every 30 days."""
    newest = session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc()).limit(1)).first()
    if newest is None or rules.key_needs_rotation(newest.created_at, now):
        pair = rules.new_key_pair()
        newest = SigningKey(
            kid=pair.kid, private_pem=pair.private_pem, public_jwk=pair.public_jwk, created_at=now
        )
        session.add(newest)
    return rules.KeyPair(newest.kid, newest.private_pem, newest.public_jwk)


def published_keys(session, now):
    keys = session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc())).all()
    return [key.public_jwk for key in keys if rules.key_still_published(key.created_at, now)]
