import uuid

from sqlalchemy import JSON, Integer, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.sqltypes import UtcDateTime


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(64))
    # Usernames are unique whatever their case: "Agent.Laverune" cannot shadow "agent.laverune".
    username_key: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    commune: Mapped[str | None] = mapped_column(String(5), index=True)
    created_at = mapped_column(UtcDateTime, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(60))


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
    """Failed logins per attempted name. The name is kept only as a digest, because people
    type passwords into the username field."""

    __tablename__ = "login_throttles"

    subject_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at = mapped_column(UtcDateTime, nullable=False)
    locked_until = mapped_column(UtcDateTime, nullable=True)
