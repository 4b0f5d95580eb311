import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
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


class Buyer(Base):
    """A buyer profile: each commune, its CCAS, the Metropole (one "organisme" each, as on the
    Metropole's Atexo platform)."""

    __tablename__ = "buyers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    insee: Mapped[str | None] = mapped_column(String(5), index=True)
    siret: Mapped[str | None] = mapped_column(String(14))
    welcome: Mapped[str | None] = mapped_column(Text)
    logo_url: Mapped[str | None] = mapped_column(String(500))


class Consultation(Base):
    __tablename__ = "consultations"
    __table_args__ = (UniqueConstraint("buyer_id", "reference"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    reference: Mapped[str] = mapped_column(String(40))
    object: Mapped[str] = mapped_column(Text)
    procedure: Mapped[str] = mapped_column(String(30))
    cpv_codes: Mapped[list] = mapped_column(JSON)
    lots: Mapped[list] = mapped_column(JSON)
    estimated_value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    questions_deadline = mapped_column(UtcDateTime, nullable=False)
    bid_deadline = mapped_column(UtcDateTime, nullable=False, index=True)
    notice: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), index=True)
    created_at = mapped_column(UtcDateTime, nullable=False)
    published_at = mapped_column(UtcDateTime, nullable=True, index=True)
    opened_at = mapped_column(UtcDateTime, nullable=True)
    opened_by: Mapped[str | None] = mapped_column(String(60))
    # The seal: bids are encrypted to the public key; the private key is kept wrapped under
    # the service's master key and unwrapped only by the opening, after the deadline.
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_private_key: Mapped[bytes] = mapped_column(LargeBinary)


class Document(Base):
    """One version of a file of the consultation's DCE."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("consultation_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consultation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consultations.id"),
                                                       index=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at = mapped_column(UtcDateTime, nullable=False)


class Withdrawal(Base):
    """An identified download of the DCE (the *registre des retraits*)."""

    __tablename__ = "withdrawals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consultation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consultations.id"),
                                                       index=True)
    account_id: Mapped[str] = mapped_column(String(60))
    siret: Mapped[str] = mapped_column(String(14))
    company_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    at = mapped_column(UtcDateTime, nullable=False)
    documents_version: Mapped[dict] = mapped_column(JSON)


class Question(Base):
    __tablename__ = "questions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    consultation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consultations.id"),
                                                       index=True)
    account_id: Mapped[str] = mapped_column(String(60))
    siret: Mapped[str] = mapped_column(String(14))
    text: Mapped[str] = mapped_column(Text)
    asked_at = mapped_column(UtcDateTime, nullable=False)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at = mapped_column(UtcDateTime, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(60))


class Bid(Base):
    __tablename__ = "bids"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    consultation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consultations.id"),
                                                       index=True)
    lot: Mapped[int] = mapped_column(Integer)
    # The order of deposits in the consultation: two bids of the same second still have one.
    sequence: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[str] = mapped_column(String(60))
    siret: Mapped[str] = mapped_column(String(14), index=True)
    company_name: Mapped[str] = mapped_column(String(200))
    deposited_at = mapped_column(UtcDateTime, nullable=False)
    late: Mapped[bool] = mapped_column(Boolean)


class BidFile(Base):
    """A file of a bid: its name, size and fingerprint in clear (the receipt's), its content
    sealed in the file store."""

    __tablename__ = "bid_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bids.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    sealed_sha256: Mapped[str | None] = mapped_column(String(64))


class Award(Base):
    __tablename__ = "awards"

    consultation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consultations.id"),
                                                       primary_key=True)
    lot: Mapped[int] = mapped_column(Integer, primary_key=True)
    bid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bids.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    notified_on: Mapped[date] = mapped_column(Date)
    contract_id: Mapped[str] = mapped_column(String(16))
    terms: Mapped[dict] = mapped_column(JSON)
    awarded_at = mapped_column(UtcDateTime, nullable=False)
    awarded_by: Mapped[str | None] = mapped_column(String(60))
    retention_until: Mapped[date] = mapped_column(Date)


class HistoryEntry(Base):
    """The consultation's event history (arrêté du 22 mars 2019, I 8°): written once, never
    changed — the migration makes the database refuse updates and deletes."""

    __tablename__ = "history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consultation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consultations.id"),
                                                       index=True)
    at = mapped_column(UtcDateTime, nullable=False)
    kind: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict] = mapped_column(JSON)
