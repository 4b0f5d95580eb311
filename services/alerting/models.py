import uuid

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.sqltypes import UtcDateTime


class Base(DeclarativeBase):
    pass


class AlertAccount(Base):
    """One of a commune's access accounts to TéléAlerte (Art. 2: fifteen at most)."""

    __tablename__ = "alert_accounts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    function: Mapped[str | None] = mapped_column(String(200))
    created_at = mapped_column(UtcDateTime, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(60))


class Contact(Base):
    """A recipient of the commune's database, known by the commune's own external id."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("commune", "external_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    address: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))
    groups: Mapped[list] = mapped_column(JSON)
    consent: Mapped[bool | None] = mapped_column(Boolean)
    consent_method: Mapped[str | None] = mapped_column(String(200))
    unsubscribed_at = mapped_column(UtcDateTime, nullable=True)
    updated_at = mapped_column(UtcDateTime, nullable=False)


class ContactGroup(Base):
    """Which groups a contact is in, one row each, so that a group is read by an index."""

    __tablename__ = "contact_groups"

    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"),
                                                  primary_key=True)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)


class Scenario(Base):
    """A commune's own scenario (the shipped library lives in ``library``)."""

    __tablename__ = "scenarios"
    __table_args__ = (UniqueConstraint("commune", "slug"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    definition: Mapped[dict] = mapped_column(JSON)
    created_at = mapped_column(UtcDateTime, nullable=False)


class CrisisCell(Base):
    """A commune's crisis cell, from its activation to its closing."""

    __tablename__ = "crisis_cells"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    title: Mapped[str] = mapped_column(String(200))
    scenario: Mapped[str | None] = mapped_column(String(80))
    members: Mapped[list] = mapped_column(JSON)
    stakeholders_notified: Mapped[int] = mapped_column(Integer)
    activated_at = mapped_column(UtcDateTime, nullable=False)
    closed_at = mapped_column(UtcDateTime, nullable=True)


class CellLogEntry(Base):
    """The cell's log: its activation, who was told, each decision and message, its closing."""

    __tablename__ = "cell_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cell_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crisis_cells.id"), index=True)
    at = mapped_column(UtcDateTime, nullable=False)
    kind: Mapped[str] = mapped_column(String(20))
    author: Mapped[str | None] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text)


class Campaign(Base):
    """A scenario sent to groups over channels: its texts as launched, where it stands, and
    what it has cost (SMS segments sent, answered calls' minutes) and what of it was billed."""

    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("commune", "idempotency_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune: Mapped[str] = mapped_column(String(5), index=True)
    scenario: Mapped[str] = mapped_column(String(80))
    definition: Mapped[dict] = mapped_column(JSON)
    variables: Mapped[dict] = mapped_column(JSON)
    headline: Mapped[str] = mapped_column(String(200))
    area: Mapped[str] = mapped_column(String(300))
    cap_status: Mapped[str] = mapped_column(String(10))
    groups: Mapped[list] = mapped_column(JSON)
    channels: Mapped[list] = mapped_column(JSON)
    cell_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("crisis_cells.id"))
    status: Mapped[str] = mapped_column(String(10), index=True)
    round: Mapped[int] = mapped_column(Integer)
    recipients: Mapped[int] = mapped_column(Integer)
    sms_segments: Mapped[int] = mapped_column(Integer)
    voice_minutes: Mapped[int] = mapped_column(Integer)
    billed_segments: Mapped[int] = mapped_column(Integer)
    billed_minutes: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    launched_at = mapped_column(UtcDateTime, nullable=False)
    launched_by: Mapped[str | None] = mapped_column(String(60))
    completed_at = mapped_column(UtcDateTime, nullable=True)
    stopped_at = mapped_column(UtcDateTime, nullable=True)


class Delivery(Base):
    """One recipient's message on one channel, and what became of it. The name and address are
    those of the launch, so that a contact edited or deleted meanwhile still gets (or got) the
    message they were sent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "recipient_id", "channel"),
        Index("deliveries_due", "status", "channel", "next_attempt_at"),
        Index("deliveries_counts", "campaign_id", "channel", "status"),
        # The messages still waiting for their receipt, oldest first.
        Index("deliveries_unanswered", "status", "channel", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    channel: Mapped[str] = mapped_column(String(5))
    recipient_kind: Mapped[str] = mapped_column(String(7))
    recipient_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    next_attempt_at = mapped_column(UtcDateTime, nullable=False)
    operator_id: Mapped[str | None] = mapped_column(String(100), index=True)
    segments: Mapped[int | None] = mapped_column(Integer)
    seconds: Mapped[int | None] = mapped_column(Integer)
    reply: Mapped[str | None] = mapped_column(String(500))
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at = mapped_column(UtcDateTime, nullable=True)
    settled_at = mapped_column(UtcDateTime, nullable=True)
    checked_at = mapped_column(UtcDateTime, nullable=True)
