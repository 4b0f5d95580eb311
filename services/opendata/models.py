"""The open data database: publishers, their datasets, each dataset's resources and every
version uploaded of them. A version's file lives in the file store (UTF-8, by SHA-256) and its
rows in a table of their own (``records.RecordsTable``), which is what the records API reads."""

import uuid
from datetime import date

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
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


class Publisher(Base):
    """A partner with a page on the portal: each member commune, its CCAS, the Metropole."""

    __tablename__ = "publishers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # commune-34134
    kind: Mapped[str] = mapped_column(String(20))
    insee: Mapped[str | None] = mapped_column(String(5), index=True)
    name: Mapped[str] = mapped_column(String(200))
    siren: Mapped[str | None] = mapped_column(String(9))


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    publisher_id: Mapped[str] = mapped_column(ForeignKey("publishers.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list] = mapped_column(JSON)
    theme: Mapped[str] = mapped_column(String(20))
    # {"code", "title", "url", "deliberation"}, or None while a draft has none.
    licence: Mapped[dict | None] = mapped_column(JSON)
    frequency: Mapped[str] = mapped_column(String(20))
    temporal_start: Mapped[date | None] = mapped_column(Date)
    temporal_end: Mapped[date | None] = mapped_column(Date)
    spatial: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), index=True)
    # "decp" for the contracts' essential data the platform keeps itself.
    maintained_by: Mapped[str | None] = mapped_column(String(20))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at = mapped_column(UtcDateTime, nullable=False)
    published_at = mapped_column(UtcDateTime)
    updated_at = mapped_column(UtcDateTime)  # its latest upload


class Resource(Base):
    __tablename__ = "resources"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(10))
    # A published schema's name ("scdl/deliberations"), or None for a descriptor of its own.
    schema_name: Mapped[str | None] = mapped_column(String(100))
    schema_descriptor: Mapped[dict | None] = mapped_column(JSON)
    created_at = mapped_column(UtcDateTime, nullable=False)


class Version(Base):
    """An upload that passed its checks. Never changed once written: a new upload is a new
    version, and the previous ones stay readable."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("resource_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    resource_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resources.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    byte_size: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(40))
    delimiter: Mapped[str | None] = mapped_column(String(2))
    # The Table Schema its rows were read with: declared by the resource, or inferred.
    table_schema: Mapped[dict] = mapped_column(JSON)
    records_table: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by: Mapped[str | None] = mapped_column(String(64))
    uploaded_at = mapped_column(UtcDateTime, nullable=False)
