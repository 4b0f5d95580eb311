"""billing: its view of the subscriptions facts, extras, issued documents, numbering

Revision ID: bi0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = 'bi0001'
down_revision = None
branch_labels = ('billing',)
depends_on = None


def upgrade():
    op.create_table('convention_costs',
    sa.Column('convention_id', sa.Uuid(), nullable=False),
    sa.Column('application', sa.String(length=20), nullable=False),
    sa.Column('annual_cost', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('amendment_id', sa.Uuid(), nullable=True),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('convention_id', 'application')
    )
    op.create_table('conventions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('population_vintage', sa.Integer(), nullable=True),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('documents',
    sa.Column('number', sa.String(length=11), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=60), nullable=True),
    sa.Column('corrects', sa.String(length=11), nullable=True),
    sa.Column('total_net', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('total_vat', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['corrects'], ['documents.number'], ),
    sa.PrimaryKeyConstraint('number')
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_insee'), ['insee'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_year'), ['year'], unique=False)

    op.create_table('extras',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('vat_rate', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('extras', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_extras_insee'), ['insee'], unique=False)
        batch_op.create_index(batch_op.f('ix_extras_year'), ['year'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('number_sequences',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('populations',
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.Column('vintage', sa.Integer(), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('insee', 'vintage')
    )
    op.create_table('subscription_changes',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('convention_id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('application', sa.String(length=20), nullable=False),
    sa.Column('change', sa.String(length=10), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('subscription_changes', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_subscription_changes_convention_id'), ['convention_id'], unique=False
        )

    op.create_table('terminations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('convention_id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('terminations', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_terminations_convention_id'), ['convention_id'], unique=False
        )

    op.create_table('document_lines',
    sa.Column('number', sa.String(length=11), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('application', sa.String(length=20), nullable=True),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('vat_rate', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('vat_category', sa.String(length=1), nullable=False),
    sa.ForeignKeyConstraint(['number'], ['documents.number'], ),
    sa.PrimaryKeyConstraint('number', 'position')
    )


def downgrade():
    op.drop_table('document_lines')
    with op.batch_alter_table('terminations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_terminations_convention_id'))

    op.drop_table('terminations')
    with op.batch_alter_table('subscription_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_changes_convention_id'))

    op.drop_table('subscription_changes')
    op.drop_table('populations')
    op.drop_table('number_sequences')
    op.drop_table('idempotency_keys')
    with op.batch_alter_table('extras', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_extras_year'))
        batch_op.drop_index(batch_op.f('ix_extras_insee'))

    op.drop_table('extras')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_year'))
        batch_op.drop_index(batch_op.f('ix_documents_insee'))

    op.drop_table('documents')
    op.drop_table('conventions')
    op.drop_table('convention_costs')
