"""The e-administration database: each commune's signing certificates, its acts with their
files, signature circuit and transmission to the prefecture, and the archive. File contents
live in a content-addressed store beside the database (``servicekit.files.FileStore``); rows
keep their SHA-256."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.sqltypes import UtcDateTime


class Base(DeclarativeBase):
    pass


class Certificate(Base):
    """A signing certificate the commune acquired (Art. 2), kept as PKCS#12: the service signs
    with it only when the signatory gives its passphrase, which is never stored."""

    __tablename__ = "certificates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    holder: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    serial: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    not_before: Mapped[date] = mapped_column(Date)
    not_after: Mapped[date] = mapped_column(Date)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    pkcs12: Mapped[str] = mapped_column(Text)  # base64
    registered_at = mapped_column(UtcDateTime, nullable=False)


class Act(Base):
    __tablename__ = "acts"
    __table_args__ = (UniqueConstraint("insee", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    number: Mapped[str] = mapped_column(String(15))
    nature: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str] = mapped_column(String(499))
    classification: Mapped[str] = mapped_column(String(20))
    decided_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20))
    signed_on: Mapped[date | None] = mapped_column(Date)
    identifier: Mapped[str | None] = mapped_column(String(60))
    transaction_id: Mapped[str | None] = mapped_column(String(60))
    transmitted_at = mapped_column(UtcDateTime)
    acknowledged_on: Mapped[date | None] = mapped_column(Date)
    published_on: Mapped[date | None] = mapped_column(Date)
    archived_at = mapped_column(UtcDateTime)
    created_at = mapped_column(UtcDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(60))


class ActFile(Base):
    """The act's PDF (``role`` act, signed in place) and its annexes; ``sha256`` names the
    current content in the file store."""

    __tablename__ = "act_files"

    act_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("acts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)


class SignatureStep(Base):
    """One signatory of the act's circuit, in order; ``delegate`` signs in their stead."""

    __tablename__ = "signature_steps"

    act_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("acts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    signatory: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[str] = mapped_column(String(200))
    delegate: Mapped[str | None] = mapped_column(String(200))
    certificate_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("certificates.id"))
    signed_at = mapped_column(UtcDateTime)


class ActEvent(Base):
    """A step of the act's life, and the prefecture's messages with the commune's answers."""

    __tablename__ = "act_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    act_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("acts.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    at = mapped_column(UtcDateTime, nullable=False)
    detail: Mapped[str | None] = mapped_column(String(2000))
    message: Mapped[dict | None] = mapped_column(JSON)


class ArchiveEntry(Base):
    """An acknowledged act in the electronic archive: what it holds, fingerprinted, how long it
    is kept (``keep_until`` None: permanently), and the approval any destruction needs."""

    __tablename__ = "archive_entries"

    act_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("acts.id"), primary_key=True)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    archived_at = mapped_column(UtcDateTime, nullable=False)
    keep_until: Mapped[date | None] = mapped_column(Date)
    files: Mapped[list] = mapped_column(JSON)
    destruction: Mapped[dict | None] = mapped_column(JSON)


class CouncilSession(Base):
    """A council session and its documents; ``convened_at`` once its convocations left."""

    __tablename__ = "council_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    council: Mapped[str] = mapped_column(String(200))
    starts_at = mapped_column(UtcDateTime, nullable=False)
    place: Mapped[str] = mapped_column(String(300))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    agenda: Mapped[list] = mapped_column(JSON)
    convened_at = mapped_column(UtcDateTime)
    created_at = mapped_column(UtcDateTime, nullable=False)


class SessionDocument(Base):
    """A document of the session; one added after the convocations left is time-stamped by
    ``added_at`` and announced to every councillor."""

    __tablename__ = "session_documents"

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("council_sessions.id"),
                                                  primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    explanatory_note: Mapped[bool] = mapped_column(Boolean, default=False)
    added_at = mapped_column(UtcDateTime, nullable=False)
    after_convocation: Mapped[bool] = mapped_column(Boolean, default=False)


class Convocation(Base):
    """One councillor's convocation: their personal link (``token``), when it left, and when
    they first opened it (the read receipt)."""

    __tablename__ = "convocations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("council_sessions.id"), index=True)
    councillor: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    sent_at = mapped_column(UtcDateTime)
    message_id: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(String(500))
    opened_at = mapped_column(UtcDateTime)
    openings: Mapped[int] = mapped_column(Integer, default=0)


class AccountingBatch(Base):
    """A bordereau of titres or mandats sent to the public accountant as a PES Aller, and the
    accountant's acknowledgement (ACK) or refusal (NACK)."""

    __tablename__ = "accounting_batches"
    __table_args__ = (UniqueConstraint("insee", "kind", "year", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    state: Mapped[str] = mapped_column(String(10))
    transaction_id: Mapped[str | None] = mapped_column(String(60))
    verdict: Mapped[str | None] = mapped_column(String(4))
    errors: Mapped[list] = mapped_column(JSON, default=list)
    posted_at = mapped_column(UtcDateTime)
    answered_at = mapped_column(UtcDateTime)
    created_at = mapped_column(UtcDateTime, nullable=False)
