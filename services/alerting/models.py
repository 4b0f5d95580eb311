import uuid

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
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
