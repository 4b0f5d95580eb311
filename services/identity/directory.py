"""Accounts, API clients, keys and the login audit, in the identity database.

Functions take the session of the caller's transaction and the moment it happens at, so the
service decides what one transaction holds and tests decide what time it is.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from contracts.events import ACCOUNT_CREATED, ACCOUNT_DELETED
from contracts.identity import CITIZEN, COMMUNE_AGENT, COMPANY, METROPOLE_ADMIN
from contracts.personal_data import email_digest
from servicekit.postbox import forget_mails_to, kept_mails_to
from services.identity import mails, rules
from services.identity.models import (
    Account,
    ApiClient,
    EmailVerification,
    LoginEvent,
    LoginThrottle,
    MailThrottle,
    SigningKey,
)

BAD_CREDENTIALS = "Unknown username or wrong password."
BAD_CLIENT_CREDENTIALS = "Unknown client id or wrong secret."
UNVERIFIED = (
    "Confirm your e-mail address first: open the link of the e-mail sent when you signed up, "
    "or ask for a new one (POST /api/v1/citizens/email-verification)."
)
BAD_VERIFICATION_TOKEN = (
    "token: this link is unknown, already used or expired; ask for a new one "
    "(POST /api/v1/citizens/email-verification)."
)
SIGNED_UP_BY = "sign-up"


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
    """Who a token speaks for. A citizen is named "Given Family" and has an ``email``; a
    company is named by its company name and has an ``email`` and a ``siret``. A principal
    without an address or a SIRET has no such key (the contract loads it as None)."""
    if kind == "account":
        account = _account(session, principal_id)
        found = {
            "kind": kind,
            "id": str(account.id),
            "name": account.company_name or _full_name(account) or account.username,
            "role": account.role,
            "commune": account.commune,
        }
        known = {"email": account.email, "siret": account.siret}
        return {**found, **{key: value for key, value in known.items() if value}}
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


def _full_name(account):
    return " ".join(name for name in (account.given_name, account.family_name) if name)


def _account(session, account_id, deleted_too=False):
    """The account; a deleted one is no account any more, unless ``deleted_too``."""
    try:
        account = session.get(Account, uuid.UUID(str(account_id)))
    except ValueError:
        account = None
    if account is None or (account.deleted_at is not None and not deleted_too):
        raise NotFound("No such account.")
    return account


def userinfo(session, kind, principal_id):
    """OpenID Connect UserInfo claims of the principal (``rules.userinfo_claims``)."""
    if kind != "account":
        found = principal(session, kind, principal_id)
        return rules.userinfo_claims(found["id"], found["name"])
    account = _account(session, principal_id)
    return rules.userinfo_claims(
        str(account.id), account.username, email=account.email,
        email_verified=account.email_verified_at is not None,
        given_name=account.given_name, family_name=account.family_name,
        name=account.company_name,
    )


# -- sign-up of citizens and companies --------------------------------------------------------

# What each role that signs up by itself says of itself, besides its address and password:
# the fields of its contract (NewCitizenSchema, NewCompanySchema), each an Account column.
SIGN_UP_PROFILES = {
    CITIZEN: ("given_name", "family_name"),
    COMPANY: ("company_name", "siret", "contact_name"),
}


class AddressTaken(Exception):
    """Another transaction gave the address an account between this one's check and its
    insert: the caller rolls back and answers as it always does, sending nothing more."""


def citizen_view(account):
    return {
        "id": account.id,
        "email": account.email,
        "given_name": account.given_name,
        "family_name": account.family_name,
        "email_verified": account.email_verified_at is not None,
        "created_at": account.created_at,
    }


def exported_account_view(account):
    return {
        **citizen_view(account),
        "username": account.username,
        "role": account.role,
        "commune": account.commune,
        "email_verified_at": account.email_verified_at,
    }


def sign_up(session, outbox, postbox, role, new_holder, password_hash, link_of, now):
    """The account of a citizen or a company (``role``, a key of ``SIGN_UP_PROFILES``) and the
    e-mail that confirms its address, or — the address has an account already, whatever its
    role — an e-mail saying so: one account per address. Returns ``(account, created)``.

    Whatever happens, the caller answers the same: the answer must not tell which addresses
    have accounts. Mails go through the postbox, so none leaves unless this transaction
    commits, and at most three an hour reach one address (``rules.may_send_sign_up_mail``).
    ``password_hash`` is computed by the caller for every sign-up, outside the transaction, so
    that a known address costs the same time as a new one.
    """
    email = new_holder["email"]
    key = email.lower()
    existing = session.scalar(
        select(Account).where(or_(Account.email_key == key, Account.username_key == key))
    )
    if existing is not None:
        if _may_mail(session, key, now):
            unconfirmed = existing.email_key is not None and existing.email_verified_at is None
            link = _new_link(session, existing, link_of, now) if unconfirmed else None
            mail = mails.already_registered(existing.role, link)
            postbox.add(session, existing.email or email, mail.subject, mail.text)
        return existing, False
    account = Account(
        id=uuid.uuid4(),
        username=email,
        username_key=key,
        password_hash=password_hash,
        role=role,
        commune=None,
        created_at=now,
        created_by=SIGNED_UP_BY,
        email=email,
        email_key=key,
        **{field: new_holder[field] for field in SIGN_UP_PROFILES[role]},
    )
    session.add(account)
    try:
        session.flush()
    except IntegrityError:
        raise AddressTaken() from None
    outbox.add(
        session,
        ACCOUNT_CREATED,
        {"account_id": account.id, "role": role, "commune": None},
        occurred_at=now,
    )
    if _may_mail(session, key, now):
        mail = mails.verification(_new_link(session, account, link_of, now), role)
        postbox.add(session, email, mail.subject, mail.text)
    return account, True


def resend_verification(session, postbox, email, link_of, now):
    """A new link to an account whose address is not confirmed yet; nothing otherwise (an
    unknown address, a confirmed one, three mails within the hour). Returns the account a
    link was sent to, or None."""
    key = email.lower()
    account = session.scalar(select(Account).where(Account.email_key == key))
    if account is None or account.email_verified_at is not None:
        return None
    if not _may_mail(session, key, now):
        return None
    mail = mails.verification(_new_link(session, account, link_of, now), account.role)
    postbox.add(session, account.email, mail.subject, mail.text)
    return account


def verify_email(session, token, now):
    """Confirms the address of the link's account; the link, and any other of the account,
    then stops working. An unknown, used or expired link is ``NotFound`` naming ``token``."""
    verification = session.get(EmailVerification, rules.token_digest(token))
    if verification is None or rules.verification_expired(verification.expires_at, now):
        raise NotFound(BAD_VERIFICATION_TOKEN)
    account = _account(session, verification.account_id)
    if account.email_verified_at is None:
        account.email_verified_at = now
    session.execute(delete(EmailVerification).where(EmailVerification.account_id == account.id))
    return account


def delete_citizen(session, outbox, account_id, now):
    """Erases a citizen's personal data and announces ``account.deleted`` in the same
    transaction, so that every service anonymises what it holds of them. The row stays, with
    no name, no address and no usable password, so that the login audit keeps naming the
    account by its id. Returns ``(account, deleted_now)``: deleting twice changes nothing."""
    account = _account(session, account_id, deleted_too=True)
    if account.role != CITIZEN:
        raise Forbidden("Only a citizen's account is deleted by its holder.")
    if account.deleted_at is not None:
        return account, False
    address_key = account.email_key
    _forget_traces_of(session, account)
    account.username = account.username_key = f"deleted-{account.id}"
    account.password_hash = rules.UNUSABLE_PASSWORD_HASH
    account.email = account.email_key = None
    account.given_name = account.family_name = None
    account.deleted_at = now
    outbox.add(
        session,
        ACCOUNT_DELETED,
        {"account_id": account.id, "role": account.role,
         "email_digest": None if address_key is None else email_digest(address_key)},
        occurred_at=now,
    )
    return account, True


def _forget_traces_of(session, account):
    """Deletes what identity keeps beside an account's row: its links, the mail and login
    counts kept under its address and name, and the messages sent to the address (kept a
    while by the postbox)."""
    session.execute(delete(EmailVerification).where(EmailVerification.account_id == account.id))
    if account.email_key is not None:
        session.execute(delete(MailThrottle).where(
            MailThrottle.subject_digest == rules.subject_digest("mail", account.email_key)))
        forget_mails_to(session, [account.email_key])
    session.execute(delete(LoginThrottle).where(
        LoginThrottle.subject_digest == rules.subject_digest("account", account.username)))


def export_account(session, account_id):
    """What identity holds of an account (GDPR art. 15): its own data, every login attempt
    on it and the mails still kept to its address."""
    account = _account(session, account_id)
    logins = session.scalars(
        select(LoginEvent)
        .where(LoginEvent.principal_kind == "account", LoginEvent.principal_id == str(account.id))
        .order_by(LoginEvent.occurred_at.desc(), LoginEvent.id.desc())
    ).all()
    return {"account": exported_account_view(account), "logins": logins,
            "mails": kept_mails_to(session, [account.email_key])}


def _new_link(session, account, link_of, now):
    verification = rules.new_verification_token(now)
    session.add(
        EmailVerification(
            token_digest=verification.digest,
            account_id=account.id,
            created_at=now,
            expires_at=verification.expires_at,
        )
    )
    return link_of(verification.token)


def _may_mail(session, address_key, now):
    """Counts a sign-up mail to the address, if it may be sent now."""
    digest = rules.subject_digest("mail", address_key)
    throttle = session.get(MailThrottle, digest)
    count = None if throttle is None else rules.MailCount(throttle.sent, throttle.window_started_at)
    if not rules.may_send_sign_up_mail(count, now):
        return False
    count = rules.after_sign_up_mail(count, now)
    if throttle is None:
        throttle = MailThrottle(subject_digest=digest)
        session.add(throttle)
    throttle.sent = count.sent
    throttle.window_started_at = count.window_started_at
    return True


def prune_sign_up_leftovers(session, now):
    """Forget the mail counts of past hours, and links past the week their expiry leaves to
    ask for another (an unconfirmed sign-up's last one dates it: ``delete_unconfirmed_sign_ups``).
    Returns how many rows went."""
    links = session.execute(
        delete(EmailVerification).where(
            EmailVerification.expires_at < now - UNCONFIRMED_SIGN_UP_GRACE)
    ).rowcount
    counts = session.execute(
        delete(MailThrottle).where(
            MailThrottle.window_started_at <= now - rules.SIGN_UP_MAIL_WINDOW)
    ).rowcount
    return links + counts


# A sign-up whose address was never confirmed holds a name (a SIRET) and an address for nothing:
# its holder has a week after their last link expired to ask for another, then it goes
# (GDPR art. 5(1)(e), storage limitation).
UNCONFIRMED_SIGN_UP_GRACE = timedelta(days=7)
# Login attempts are access traces: the CNIL recommends keeping them six months to a year
# (recommandation relative aux mesures de journalisation, 2021; GDPR art. 5(1)(e), 32).
LOGIN_EVENTS_RETENTION = timedelta(days=365)


def delete_unconfirmed_sign_ups(session, now):
    """Deletes whole — links, throttles, the mails kept to its address — each citizen's or
    company's sign-up never confirmed whose last link expired more than
    ``UNCONFIRMED_SIGN_UP_GRACE`` before ``now`` (a sign-up sent no link counts the 48 hours
    its link would have had). Nothing else holds them: an unconfirmed account cannot log in.
    Returns how many accounts went."""
    waiting = session.scalars(select(Account).where(
        Account.created_by == SIGNED_UP_BY, Account.email_verified_at.is_(None),
        Account.deleted_at.is_(None),
        Account.created_at < now - rules.VERIFICATION_LIFETIME - UNCONFIRMED_SIGN_UP_GRACE,
    )).all()
    last_links = dict(session.execute(
        select(EmailVerification.account_id, func.max(EmailVerification.expires_at))
        .where(EmailVerification.account_id.in_([account.id for account in waiting]))
        .group_by(EmailVerification.account_id)).all())
    deleted = 0
    for account in waiting:
        expired_at = max(account.created_at + rules.VERIFICATION_LIFETIME,
                         last_links.get(account.id, account.created_at))
        if expired_at >= now - UNCONFIRMED_SIGN_UP_GRACE:
            continue
        _forget_traces_of(session, account)
        session.delete(account)
        deleted += 1
    session.flush()
    return deleted


def forget_old_login_events(session, now):
    """Deletes the login attempts older than ``LOGIN_EVENTS_RETENTION``; returns how many."""
    return session.execute(delete(LoginEvent).where(
        LoginEvent.occurred_at < now - LOGIN_EVENTS_RETENTION)).rowcount


@dataclass(frozen=True)
class LoginAttempt:
    """Who a login claims to be, read before its secret is checked, and where it comes from
    when the caller says (the gateway does: the client's address)."""

    kind: str
    name: str
    holder_id: str | None
    secret_hash: str | None
    rejection: str
    address: str | None = None

    @property
    def name_digest(self):
        return rules.subject_digest(self.kind, self.name)

    @property
    def throttles(self):
        """What a failure of this attempt counts towards — its name, and its address when
        known — each as ``(subject digest, failures that lock it)``."""
        throttles = [(self.name_digest, rules.MAX_FAILED_LOGINS)]
        if self.address is not None:
            throttles.append((rules.subject_digest("address", self.address),
                              rules.MAX_FAILED_LOGINS_PER_ADDRESS))
        return throttles


def login_attempt(session, credentials, address=None):
    if "client_id" in credentials:
        holder = session.get(ApiClient, credentials["client_id"])
        return LoginAttempt(
            "api_client",
            credentials["client_id"],
            holder.client_id if holder else None,
            holder.secret_hash if holder else None,
            BAD_CLIENT_CREDENTIALS,
            address,
        )
    name = credentials["username"]
    holder = session.scalar(
        select(Account).where(Account.username_key == name.lower(), Account.deleted_at.is_(None))
    )
    return LoginAttempt(
        "account",
        name,
        str(holder.id) if holder else None,
        holder.password_hash if holder else None,
        BAD_CREDENTIALS,
        address,
    )


def login_refusal(session, attempt, now, correlation_id):
    """The error that refuses the attempt now — its name, or the address it comes from, is
    locked out — or ``None``; it says to retry when every lock on the attempt is over.

    Asked before the secret is checked, and again after, because other attempts on the same
    name or from the same address may have locked it in between.
    """
    wait = max(rules.seconds_locked(_state(session.get(LoginThrottle, digest)), now)
               for digest, _ in attempt.throttles)
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
    of the name that was tried, known or not, so probing names is throttled too, and towards
    the throttle of the address it came from, so trying many names is too.
    """
    refusal = login_refusal(session, attempt, now, correlation_id)
    if refusal:
        return None, refusal
    if not matched:
        for digest, max_failures in attempt.throttles:
            _record_failure(session, digest, max_failures, now)
        _audit(session, now, "rejected", attempt.kind, attempt.holder_id, correlation_id)
        return None, Unauthorized(attempt.rejection)
    # The name's failures are forgiven, not the address's: a stuffing run that finds one
    # right pair in its list must not start its count again.
    name_throttle = session.get(LoginThrottle, attempt.name_digest)
    if name_throttle is not None:
        session.delete(name_throttle)
    if attempt.kind == "account":
        account = session.get(Account, uuid.UUID(attempt.holder_id))
        if account.deleted_at is not None:
            # Deleted while the password was checked: no account any more.
            _audit(session, now, "rejected", attempt.kind, attempt.holder_id, correlation_id)
            return None, Unauthorized(attempt.rejection)
        if account.email_key is not None and account.email_verified_at is None:
            # Told only to whoever knows the password: it says the account exists.
            _audit(session, now, "unverified", attempt.kind, attempt.holder_id, correlation_id)
            return None, Forbidden(UNVERIFIED)
    _audit(session, now, "success", attempt.kind, attempt.holder_id, correlation_id)
    return principal(session, attempt.kind, attempt.holder_id), None


def _state(throttle):
    if throttle is None:
        return None
    return rules.ThrottleState(throttle.failures, throttle.window_started_at, throttle.locked_until)


def _record_failure(session, digest, max_failures, now):
    throttle = session.get(LoginThrottle, digest)
    state = rules.after_failure(_state(throttle), now, max_failures)
    if throttle is None:
        throttle = LoginThrottle(subject_digest=digest)
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
        select(LoginEvent)
        .order_by(LoginEvent.occurred_at.desc(), LoginEvent.id.desc())
        .limit(limit)
    ).all()


def signing_key(session, now):
    """The key that signs tokens now, made at first use and replaced every 30 days."""
    newest = session.scalars(
        select(SigningKey).order_by(SigningKey.created_at.desc()).limit(1)
    ).first()
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
