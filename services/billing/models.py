"""Billing's database: its own view of the subscriptions facts, built from events only, the
extras it records, and the documents it issues. Drafts are never stored: they are computed on
read from the view (docs/architecture.md, "Billing")."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.sqltypes import UtcDateTime


class Base(DeclarativeBase):
    pass


# -- the view of subscriptions' facts (one row per fact, keyed so a replay rewrites it) ---------


class Population(Base):
    """``population.updated``: the latest by ``occurred_at`` wins, whatever the arrival order."""

    __tablename__ = "populations"

    insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    vintage: Mapped[int] = mapped_column(Integer, primary_key=True)
    population: Mapped[int] = mapped_column(Integer)
    occurred_at = mapped_column(UtcDateTime, nullable=False)


class Convention(Base):
    __tablename__ = "conventions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    population_vintage: Mapped[int | None] = mapped_column(Integer)
    members: Mapped[list] = mapped_column(JSON)


class ConventionCost(Base):
    """An application of a convention and its annual global cost (``None``: never billed).

    No foreign key to ``conventions``: an amendment travels in another queue and may arrive
    before the convention it amends."""

    __tablename__ = "convention_costs"

    convention_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    application: Mapped[str] = mapped_column(String(20), primary_key=True)
    annual_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    amendment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    signed_on: Mapped[date | None] = mapped_column(Date)


class SubscriptionChange(Base):
    """Each ``subscription.changed`` fact as it was announced, keyed by its event."""

    __tablename__ = "subscription_changes"

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    convention_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    commune: Mapped[str] = mapped_column(String(5))
    application: Mapped[str] = mapped_column(String(20))
    change: Mapped[str] = mapped_column(String(10))
    effective_from: Mapped[date] = mapped_column(Date)
    occurred_at = mapped_column(UtcDateTime, nullable=False)


class Termination(Base):
    __tablename__ = "terminations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    convention_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    commune: Mapped[str] = mapped_column(String(5))
    effective_on: Mapped[date] = mapped_column(Date)


# -- what billing records and issues ------------------------------------------------------------


class Extra(Base):
    """Billable work outside the annual amounts, with VAT (Art. 6)."""

    __tablename__ = "extras"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(4, 2))
    recorded_at = mapped_column(UtcDateTime, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(60))


class Document(Base):
    """An issued title or credit note, never edited but for its status (a title becomes
    ``cancelled`` when a credit note cancels it)."""

    __tablename__ = "documents"

    number: Mapped[str] = mapped_column(String(11), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(10))
    insee: Mapped[str] = mapped_column(String(5), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    issued_at = mapped_column(UtcDateTime, nullable=False)
    issued_by: Mapped[str | None] = mapped_column(String(60))
    corrects: Mapped[str | None] = mapped_column(ForeignKey("documents.number"))
    total_net: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    total_vat: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    # Its life after issuing (Art. 5); ``DocumentEvent`` keeps each step.
    state: Mapped[str] = mapped_column(String(10), default="issued", server_default="issued")
    deposit_requested_at = mapped_column(UtcDateTime)
    # Who is depositing it, since when: a claim older than the delivery timeout is taken over.
    deposit_claimed_at = mapped_column(UtcDateTime)
    deposit_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_deposit_at = mapped_column(UtcDateTime)
    transport: Mapped[str | None] = mapped_column(String(20))
    flow_number: Mapped[str | None] = mapped_column(String(50))
    chorus_invoice_id: Mapped[str | None] = mapped_column(String(50))
    chorus_status: Mapped[str | None] = mapped_column(String(40))
    rejection_reason: Mapped[str | None] = mapped_column(String(2000))
    deposited_at = mapped_column(UtcDateTime)
    received_on: Mapped[date | None] = mapped_column(Date)
    contest_until: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    amount_paid: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"),
                                                 server_default="0")
    # The e-invoice exactly as it was last sent.
    e_invoice: Mapped[str | None] = mapped_column(Text)


class DocumentEvent(Base):
    """A step of a document's life, in order."""

    __tablename__ = "document_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(ForeignKey("documents.number"), index=True)
    state: Mapped[str] = mapped_column(String(10))
    at = mapped_column(UtcDateTime, nullable=False)
    detail: Mapped[str | None] = mapped_column(String(2000))


class ChorusExchange(Base):
    """A call to Chorus Pro made for a document and its answer, as the client recorded it."""

    __tablename__ = "chorus_exchanges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(ForeignKey("documents.number"), index=True)
    operation: Mapped[str] = mapped_column(String(60))
    method: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(String(500))
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(2000))
    started_at = mapped_column(UtcDateTime, nullable=False)
    duration_ms: Mapped[int] = mapped_column(Integer)
    request: Mapped[dict] = mapped_column(JSON)
    response: Mapped[object | None] = mapped_column(JSON)


class Contestation(Base):
    """A commune's contestation of a title by e-mail (Art. 5) and the Metropole's answer."""

    __tablename__ = "contestations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(ForeignKey("documents.number"), index=True)
    emailed_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(2000))
    recorded_at = mapped_column(UtcDateTime, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(60))
    decision: Mapped[str | None] = mapped_column(String(10))
    decided_at = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(60))


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(ForeignKey("documents.number"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    recorded_at = mapped_column(UtcDateTime, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(60))


class Buyer(Base):
    """How a commune is addressed on Chorus Pro: its SIRET, from ``commune.updated``, and the
    service code and commitment number it requires, set in billing."""

    __tablename__ = "buyers"

    insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    siret: Mapped[str | None] = mapped_column(String(14))
    service_code: Mapped[str | None] = mapped_column(String(100))
    commitment_number: Mapped[str | None] = mapped_column(String(50))


class DocumentLine(Base):
    __tablename__ = "document_lines"

    number: Mapped[str] = mapped_column(ForeignKey("documents.number"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    application: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(4, 2))
    vat_category: Mapped[str] = mapped_column(String(1))


class NumberSequence(Base):
    """The last number given in a year's series: titles and credit notes share it, and it
    moves in the transaction that issues, so a rollback leaves no gap."""

    __tablename__ = "number_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class IdempotencyKey(Base):
    """The first answer to ``issue_titles`` under a caller's key, given again on a retry."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    answer: Mapped[dict] = mapped_column(JSON)
    created_at = mapped_column(UtcDateTime, nullable=False)
