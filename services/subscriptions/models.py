import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.sqltypes import UtcDateTime


class Base(DeclarativeBase):
    pass


class Commune(Base):
    __tablename__ = "communes"

    insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    siren: Mapped[str] = mapped_column(String(9))
    siret: Mapped[str | None] = mapped_column(String(14))


class Population(Base):
    """The INSEE *population municipale* of a commune, by vintage (*millésime*)."""

    __tablename__ = "populations"

    insee: Mapped[str] = mapped_column(ForeignKey("communes.insee"), primary_key=True)
    vintage: Mapped[int] = mapped_column(Integer, primary_key=True)
    population: Mapped[int] = mapped_column(Integer)


class Convention(Base):
    __tablename__ = "conventions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    population_vintage: Mapped[int | None] = mapped_column(Integer)
    registered_at = mapped_column(UtcDateTime, nullable=False)
    registered_by: Mapped[str] = mapped_column(String(60))


class Amendment(Base):
    """An *avenant*: adds an application the convention did not cover (Art. 9)."""

    __tablename__ = "amendments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    convention: Mapped[uuid.UUID] = mapped_column(ForeignKey("conventions.id"), index=True)
    application: Mapped[str] = mapped_column(String(20))
    annual_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    signed_on: Mapped[date] = mapped_column(Date)
    recorded_at = mapped_column(UtcDateTime, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(60))


class ConventionApplication(Base):
    """An application a convention covers, with its annual global cost fixed for the period
    (``None``: never billed, like open data); ``amendment`` names the *avenant* that added it."""

    __tablename__ = "convention_applications"

    convention: Mapped[uuid.UUID] = mapped_column(ForeignKey("conventions.id"), primary_key=True)
    application: Mapped[str] = mapped_column(String(20), primary_key=True)
    annual_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    amendment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("amendments.id"))


class Subscription(Base):
    """A commune uses an application from ``effective_from`` until the day before
    ``effective_until`` (``None``: until further notice)."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    insee: Mapped[str] = mapped_column(ForeignKey("communes.insee"), index=True)
    application: Mapped[str] = mapped_column(String(20))
    convention: Mapped[uuid.UUID] = mapped_column(ForeignKey("conventions.id"))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_until: Mapped[date | None] = mapped_column(Date)
    request_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subscription_requests.id"))


class SubscriptionRequest(Base):
    """A commune's letter asking to add or remove an application (Art. 9), kept whatever the
    answer."""

    __tablename__ = "subscription_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    insee: Mapped[str] = mapped_column(ForeignKey("communes.insee"), index=True)
    application: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(10))
    received_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    effective_from: Mapped[date | None] = mapped_column(Date)
    answer_due: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    filed_at = mapped_column(UtcDateTime, nullable=False)
    filed_by: Mapped[str] = mapped_column(String(60))
    decided_by: Mapped[str | None] = mapped_column(String(60))
    decided_at = mapped_column(UtcDateTime, nullable=True)


class Termination(Base):
    """A commune's notice of termination (*résiliation*, Art. 10), kept whatever the answer."""

    __tablename__ = "terminations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    insee: Mapped[str] = mapped_column(ForeignKey("communes.insee"), index=True)
    convention: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conventions.id"))
    received_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    effective_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    filed_at = mapped_column(UtcDateTime, nullable=False)
    filed_by: Mapped[str] = mapped_column(String(60))
