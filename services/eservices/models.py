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

CATALOGUE_SCOPE = "catalogue"


class Base(DeclarativeBase):
    pass


class FormDefinition(Base):
    """One version of a form: the catalogue's (``scope`` "catalogue") or a commune's custom one
    (``scope`` its INSEE code). Requests point at the version they were made with."""

    __tablename__ = "form_definitions"
    __table_args__ = (UniqueConstraint("scope", "slug", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    scope: Mapped[str] = mapped_column(String(9), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict] = mapped_column(JSON)
    created_at = mapped_column(UtcDateTime, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(60))
    integration_number: Mapped[int | None] = mapped_column(Integer)
    integration_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    billable: Mapped[bool] = mapped_column(Boolean, default=False)


class Activation(Base):
    """A catalogue form a commune offers its citizens (its custom forms are always active)."""

    __tablename__ = "activations"

    commune: Mapped[str] = mapped_column(String(5), primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean)
    changed_at = mapped_column(UtcDateTime, nullable=False)
    changed_by: Mapped[str | None] = mapped_column(String(60))


class Branding(Base):
    """A commune's graphic charter and contact details, set up by the Metropole (Art. 2)."""

    __tablename__ = "brandings"

    commune: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    logo_url: Mapped[str | None] = mapped_column(String(500))
    primary_colour: Mapped[str] = mapped_column(String(7))
    secondary_colour: Mapped[str] = mapped_column(String(7))
    contact: Mapped[dict] = mapped_column(JSON)
    updated_at = mapped_column(UtcDateTime, nullable=False)
    updated_by: Mapped[str | None] = mapped_column(String(60))


class ReferenceCounter(Base):
    """The last reference number given in a commune and year: references have no gaps."""

    __tablename__ = "reference_counters"

    commune: Mapped[str] = mapped_column(String(5), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Request(Base):
    __tablename__ = "requests"
    __table_args__ = (UniqueConstraint("requester_account_id", "idempotency_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    form_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("form_definitions.id"))
    form_slug: Mapped[str] = mapped_column(String(80), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    submitted_at = mapped_column(UtcDateTime, nullable=False, index=True)
    closed_at = mapped_column(UtcDateTime, nullable=True)
    data: Mapped[dict] = mapped_column(JSON)
    # Who asked: erased when the citizen deletes their account (the request stays).
    requester_account_id: Mapped[str | None] = mapped_column(String(60), index=True)
    requester_name: Mapped[str | None] = mapped_column(String(200))
    requester_email: Mapped[str | None] = mapped_column(String(320))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    flags: Mapped[list] = mapped_column(JSON, default=list)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    acknowledge_by: Mapped[date] = mapped_column(Date, index=True)
    registration_mail_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    registration_acknowledged_at = mapped_column(UtcDateTime, nullable=True)
    receipt_mail_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    receipt_acknowledged_at = mapped_column(UtcDateTime, nullable=True)
    anonymised_at = mapped_column(UtcDateTime, nullable=True)
    # What the specific rules look at, out of ``data`` so they can be queried.
    camp_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("camps.id"), index=True)
    waiting_list_position: Mapped[int | None] = mapped_column(Integer)
    slot_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    parking_spot: Mapped[str | None] = mapped_column(String(300), index=True)
    parking_starts_on: Mapped[date | None] = mapped_column(Date)
    parking_ends_on: Mapped[date | None] = mapped_column(Date)


class StatusChange(Base):
    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("requests.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at = mapped_column(UtcDateTime, nullable=False)
    by: Mapped[str] = mapped_column(String(10))
    agent_id: Mapped[str | None] = mapped_column(String(60))


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("requests.id"), index=True)
    author: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    at = mapped_column(UtcDateTime, nullable=False)
    agent_id: Mapped[str | None] = mapped_column(String(60))
    mail_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("requests.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)


class Agenda(Base):
    """An elected official's or a municipal service's appointment book (Publik's chrono)."""

    __tablename__ = "agendas"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    created_at = mapped_column(UtcDateTime, nullable=False)


class Slot(Base):
    """A bookable time; ``request_id`` is the booking, set only if still empty: no double
    booking, whatever the concurrency."""

    __tablename__ = "slots"
    __table_args__ = (UniqueConstraint("agenda_id", "starts_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    agenda_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agendas.id"), index=True)
    starts_at = mapped_column(UtcDateTime, nullable=False, index=True)
    ends_at = mapped_column(UtcDateTime, nullable=False)
    request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)


class Camp(Base):
    """A holiday camp stay with its places; registrations beyond them wait in line."""

    __tablename__ = "camps"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    places: Mapped[int] = mapped_column(Integer)
    created_at = mapped_column(UtcDateTime, nullable=False)


class UnneededFile(Base):
    """A stored file no request holds any more, deleted after the transaction that let it go
    has committed."""

    __tablename__ = "unneeded_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
