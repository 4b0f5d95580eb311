import uuid
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
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


class Process(Base):
    __tablename__ = "processes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    publisher_kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    eligibility: Mapped[str] = mapped_column(String(20))
    # {phase: [starts_at ISO, ends_at ISO or None]}
    phases: Mapped[dict] = mapped_column(JSON)
    voting_ends_at = mapped_column(UtcDateTime, nullable=False, index=True)
    budget: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    min_projects: Mapped[int] = mapped_column(Integer)
    max_projects: Mapped[int | None] = mapped_column(Integer)
    threshold: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UtcDateTime, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(60))
    closed_at = mapped_column(UtcDateTime, nullable=True, index=True)
    results: Mapped[list | None] = mapped_column(JSON)


class Proposal(Base):
    __tablename__ = "proposals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("processes.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    budget_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    # Its author: erased when they delete their account; the proposal stays.
    author_account_id: Mapped[str | None] = mapped_column(String(60), index=True)
    author_name: Mapped[str | None] = mapped_column(String(200))
    submitted_at = mapped_column(UtcDateTime, nullable=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_reason: Mapped[str | None] = mapped_column(String(500))


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    proposal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("proposals.id"), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("comments.id"))
    body: Mapped[str] = mapped_column(Text)
    author_account_id: Mapped[str | None] = mapped_column(String(60), index=True)
    author_name: Mapped[str | None] = mapped_column(String(200))
    at = mapped_column(UtcDateTime, nullable=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_reason: Mapped[str | None] = mapped_column(String(500))


class Report(Base):
    """A citizen's report of a contribution; kept with the moderation it led to (audit)."""

    __tablename__ = "reports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("processes.id"), index=True)
    target: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    reason: Mapped[str] = mapped_column(String(20))
    details: Mapped[str | None] = mapped_column(String(1000))
    reporter_key: Mapped[str] = mapped_column(String(64))
    at = mapped_column(UtcDateTime, nullable=False)


class Moderation(Base):
    """Each hiding or showing of a contribution, by whom and why (kept for audit)."""

    __tablename__ = "moderations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("processes.id"), index=True)
    target: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    hidden: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(500))
    moderator: Mapped[str] = mapped_column(String(60))
    at = mapped_column(UtcDateTime, nullable=False)


# Votes, ballots and signatures are kept under a digest of the account (``voter_key``), never
# its id: one per account, still counted once its account is deleted, and tied to no one.


class Vote(Base):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("proposal_id", "voter_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("processes.id"), index=True)
    proposal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("proposals.id"), index=True)
    voter_key: Mapped[str] = mapped_column(String(64))
    at = mapped_column(UtcDateTime, nullable=False)


class Ballot(Base):
    """A participatory budget's ballot: one per account, replaced until voting closes."""

    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("process_id", "voter_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("processes.id"), index=True)
    voter_key: Mapped[str] = mapped_column(String(64))
    proposals: Mapped[list] = mapped_column(JSON)
    cast_at = mapped_column(UtcDateTime, nullable=False)


class Signature(Base):
    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("process_id", "voter_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("processes.id"), index=True)
    voter_key: Mapped[str] = mapped_column(String(64))
    at = mapped_column(UtcDateTime, nullable=False)


class Residence(Base):
    """The commune a citizen declares living in."""

    __tablename__ = "residences"

    account_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    commune: Mapped[str] = mapped_column(String(5))
    declared_at = mapped_column(UtcDateTime, nullable=False)
