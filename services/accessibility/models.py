import uuid

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.sqltypes import UtcDateTime


class Base(DeclarativeBase):
    pass


class ReceptionPoint(Base):
    """A place where a commune receives the public (its town hall, its CCAS, its technical
    services), with its telephone reception hours: the relay is offered during them."""

    __tablename__ = "reception_points"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    weekly_hours: Mapped[dict] = mapped_column(JSON)
    closures: Mapped[list] = mapped_column(JSON)
    created_at = mapped_column(UtcDateTime, nullable=False)


class RelayLink(Base):
    """The dedicated link of a reception point (Art. 2). Only the token's digest is kept; a
    rotated or revoked link stays, so that it can say where the new one is."""

    __tablename__ = "relay_links"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reception_points.id"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    created_at = mapped_column(UtcDateTime, nullable=False)
    retired_at = mapped_column(UtcDateTime, nullable=True)


class Interpreter(Base):
    """An interpreter of the relay provider: the modes they work in, and whether they take
    sessions now."""

    __tablename__ = "interpreters"

    account_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    modes: Mapped[list] = mapped_column(JSON)
    available: Mapped[bool] = mapped_column(Boolean)


class RelaySession(Base):
    """One relayed conversation: waiting in its mode's queue, taken by an interpreter,
    connected to the commune's service, ended (or abandoned by the person who asked). Only the
    digest of the person's secret is kept, as for links."""

    __tablename__ = "relay_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reception_points.id"))
    mode: Mapped[str] = mapped_column(String(15), index=True)
    channel: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(10), index=True)
    interpreter_id: Mapped[str | None] = mapped_column(String(60))
    secret_digest: Mapped[str | None] = mapped_column(String(64))
    transcript_lines: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    requested_at = mapped_column(UtcDateTime, nullable=False, index=True)
    taken_at = mapped_column(UtcDateTime, nullable=True)
    connected_at = mapped_column(UtcDateTime, nullable=True)
    ended_at = mapped_column(UtcDateTime, nullable=True)


class TranscriptLine(Base):
    """A line written in a real-time transcription, by the person or by the interpreter. It
    lives only while its session does: deleted when the session ends, its count kept."""

    __tablename__ = "transcript_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("relay_sessions.id"), index=True)
    speaker: Mapped[str] = mapped_column(String(11))
    text: Mapped[str] = mapped_column(Text)
    said_at = mapped_column(UtcDateTime, nullable=False)
