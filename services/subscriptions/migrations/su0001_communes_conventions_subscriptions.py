"""communes and populations, conventions and amendments, subscriptions, change requests and
terminations

Revision ID: su0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "su0001"
down_revision = None
branch_labels = ("subscriptions",)
depends_on = None


def upgrade():
    op.create_table(
        "communes",
        sa.Column("insee", sa.String(5), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("siren", sa.String(9), nullable=False),
        sa.Column("siret", sa.String(14)),
    )
    op.create_table(
        "populations",
        sa.Column("insee", sa.String(5), sa.ForeignKey("communes.insee"), primary_key=True),
        sa.Column("vintage", sa.Integer(), primary_key=True),
        sa.Column("population", sa.Integer(), nullable=False),
    )
    op.create_table(
        "conventions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("population_vintage", sa.Integer()),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(60), nullable=False),
    )
    op.create_table(
        "amendments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("convention", sa.Uuid(), sa.ForeignKey("conventions.id"), nullable=False),
        sa.Column("application", sa.String(20), nullable=False),
        sa.Column("annual_cost", sa.Numeric(12, 2)),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(60), nullable=False),
    )
    op.create_index("ix_amendments_convention", "amendments", ["convention"])
    op.create_table(
        "convention_applications",
        sa.Column("convention", sa.Uuid(), sa.ForeignKey("conventions.id"), primary_key=True),
        sa.Column("application", sa.String(20), primary_key=True),
        sa.Column("annual_cost", sa.Numeric(12, 2)),
        sa.Column("amendment_id", sa.Uuid(), sa.ForeignKey("amendments.id")),
    )
    op.create_table(
        "subscription_requests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("insee", sa.String(5), sa.ForeignKey("communes.insee"), nullable=False),
        sa.Column("application", sa.String(20), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("effective_from", sa.Date()),
        sa.Column("answer_due", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_by", sa.String(60), nullable=False),
        sa.Column("decided_by", sa.String(60)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_subscription_requests_insee", "subscription_requests", ["insee"])
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("insee", sa.String(5), sa.ForeignKey("communes.insee"), nullable=False),
        sa.Column("application", sa.String(20), nullable=False),
        sa.Column("convention", sa.Uuid(), sa.ForeignKey("conventions.id"), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_until", sa.Date()),
        sa.Column("request_id", sa.Uuid(), sa.ForeignKey("subscription_requests.id")),
    )
    op.create_index("ix_subscriptions_insee", "subscriptions", ["insee"])
    op.create_table(
        "terminations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("insee", sa.String(5), sa.ForeignKey("communes.insee"), nullable=False),
        sa.Column("convention", sa.Uuid(), sa.ForeignKey("conventions.id")),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("effective_on", sa.Date()),
        sa.Column("reason", sa.Text()),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_by", sa.String(60), nullable=False),
    )
    op.create_index("ix_terminations_insee", "terminations", ["insee"])


def downgrade():
    op.drop_index("ix_terminations_insee", "terminations")
    op.drop_table("terminations")
    op.drop_index("ix_subscriptions_insee", "subscriptions")
    op.drop_table("subscriptions")
    op.drop_index("ix_subscription_requests_insee", "subscription_requests")
    op.drop_table("subscription_requests")
    op.drop_table("convention_applications")
    op.drop_index("ix_amendments_convention", "amendments")
    op.drop_table("amendments")
    op.drop_table("conventions")
    op.drop_table("populations")
    op.drop_table("communes")
