"""E-mail waiting to leave, or sent (servicekit.postbox).

Revision ID: sk0003
Revises: sk0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "sk0003"
down_revision = "sk0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("correlation_id", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("failed_at", sa.DateTime(timezone=True)),
        sa.Column("message_id", sa.String(200)),
        sa.Column("last_error", sa.Text()),
    )
    op.create_index("ix_mail_outbox_next_attempt_at", "mail_outbox", ["next_attempt_at"])
    op.create_index("ix_mail_outbox_sent_at", "mail_outbox", ["sent_at"])


def downgrade():
    op.drop_index("ix_mail_outbox_sent_at", "mail_outbox")
    op.drop_index("ix_mail_outbox_next_attempt_at", "mail_outbox")
    op.drop_table("mail_outbox")
