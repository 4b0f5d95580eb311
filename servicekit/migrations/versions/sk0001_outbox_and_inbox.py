"""The toolkit's tables: outbox, processed events (inbox) and dead letters.

Revision ID: sk0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "sk0001"
down_revision = None
branch_labels = ("servicekit",)
depends_on = None


def upgrade():
    op.create_table(
        "outbox",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("envelope", sa.JSON(), nullable=False),
        sa.Column("correlation_id", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text()),
    )
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"])
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("consumer", sa.String(160), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(160), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
    )


def downgrade():
    op.drop_table("dead_letters")
    op.drop_table("processed_events")
    op.drop_index("ix_outbox_published_at", "outbox")
    op.drop_index("ix_outbox_created_at", "outbox")
    op.drop_table("outbox")
