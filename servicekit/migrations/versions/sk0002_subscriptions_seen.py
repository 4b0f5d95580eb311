"""What an application service knows of subscriptions: changes and terminations seen.

Revision ID: sk0002
Revises: sk0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "sk0002"
down_revision = "sk0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "subscription_changes_seen",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("commune", sa.String(5), nullable=False),
        sa.Column("application", sa.String(20), nullable=False),
        sa.Column("change", sa.String(10), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_subscription_changes_seen_commune", "subscription_changes_seen",
                    ["commune"])
    op.create_table(
        "terminations_seen",
        sa.Column("commune", sa.String(5), primary_key=True),
        sa.Column("effective_on", sa.Date(), nullable=False),
    )


def downgrade():
    op.drop_table("terminations_seen")
    op.drop_index("ix_subscription_changes_seen_commune", "subscription_changes_seen")
    op.drop_table("subscription_changes_seen")
