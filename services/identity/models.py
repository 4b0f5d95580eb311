import uuid

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.sqltypes import UtcDateTime


class Base(DeclarativeBase):
    pass


class Account(Base):
    """An account; a citizen's has an e-mail address (its username too) and names, erased
    when the citizen deletes it — the row stays, so that the login audit keeps its id. A
    company's has an e-mail address too, its company name, SIRET and contact's name."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(320))
    # Usernames are unique whatever their case: "Agent.Laverune" cannot shadow "agent.laverune".
    username_key: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    commune: Mapped[str | None] = mapped_column(String(5), index=True)
    created_at = mapped_column(UtcDateTime, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(320))
    # One account per address, whatever its case.
    email_key: Mapped[str | None] = mapped_column(String(320), unique=True)
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    company_name: Mapped[str | None] = mapped_column(String(200))
    # Not unique: several people of one establishment may each hold an account.
    siret: Mapped[str | None] = mapped_column(String(14))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    email_verified_at = mapped_column(UtcDateTime, nullable=True)
    deleted_at = mapped_column(UtcDateTime, nullable=True)


class EmailVerification(Base):
    """A link sent to confirm a citizen's address: only the SHA-256 of its secret is kept, so
    that a copy of the database opens no account. Valid 48 hours, once."""

    __tablename__ = "email_verifications"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("accounts.id"), index=True)
    created_at = mapped_column(UtcDateTime, nullable=False)
    expires_at = mapped_column(UtcDateTime, nullable=False, index=True)


class MailThrottle(Base):
    """Sign-up and verification mails sent to one address within the hour, the address kept
    as a digest only."""

    __tablename__ = "mail_throttles"

    subject_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    sent: Mapped[int] = mapped_column(Integer)
    window_started_at = mapped_column(UtcDateTime, nullable=False)


class ApiClient(Base):
    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    commune: Mapped[str] = mapped_column(String(5), index=True)
    created_at = mapped_column(UtcDateTime, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(60))


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict] = mapped_column(JSON)
    created_at = mapped_column(UtcDateTime, nullable=False)


class LoginEvent(Base):
    """The audit trail: who tried to log in, when, and how it ended — never the secret."""

    __tablename__ = "login_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    occurred_at = mapped_column(UtcDateTime, nullable=False, index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    principal_kind: Mapped[str] = mapped_column(String(20))
    principal_id: Mapped[str | None] = mapped_column(String(60))
    correlation_id: Mapped[str | None] = mapped_column(String(200))


class LoginThrottle(Base):
    """Failed logins per attempted name, and per address they came from. Both are kept only
    as digests: people type passwords into the username field, and an address is personal
    data."""

    __tablename__ = "login_throttles"

    subject_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at = mapped_column(UtcDateTime, nullable=False)
    locked_until = mapped_column(UtcDateTime, nullable=True)


class AuditEntry(Base):
    """One entry of the gateway's audit trail (``services.identity.audit``). Append-only: the
    database refuses to change one, or to delete one younger than its retention (id0004)."""

    __tablename__ = "audit_trail"

    # The order entries were recorded in: the trail's pages follow it.
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    occurred_at = mapped_column(UtcDateTime, nullable=False, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(60), index=True)
    actor_kind: Mapped[str | None] = mapped_column(String(20))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    commune: Mapped[str | None] = mapped_column(String(5), index=True)
    action: Mapped[str] = mapped_column(String(300))
    object_ids: Mapped[dict] = mapped_column(JSON)
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(10))
    correlation_id: Mapped[str | None] = mapped_column(String(200))
