"""billing: the life of a title, its Chorus Pro exchanges, contestations, payments, buyers

Revision ID: bi0002
Revises: bi0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = 'bi0002'
down_revision = 'bi0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('buyers',
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=True),
    sa.Column('service_code', sa.String(length=100), nullable=True),
    sa.Column('commitment_number', sa.String(length=50), nullable=True),
    sa.PrimaryKeyConstraint('insee')
    )
    op.create_table('chorus_exchanges',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=11), nullable=False),
    sa.Column('operation', sa.String(length=60), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=2000), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['number'], ['documents.number'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('chorus_exchanges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chorus_exchanges_number'), ['number'], unique=False)

    op.create_table('contestations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=11), nullable=False),
    sa.Column('emailed_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=60), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=60), nullable=True),
    sa.ForeignKeyConstraint(['number'], ['documents.number'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contestations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contestations_number'), ['number'], unique=False)

    op.create_table('document_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=11), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.String(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['number'], ['documents.number'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('document_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_events_number'), ['number'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=11), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['number'], ['documents.number'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_number'), ['number'], unique=False)

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=10), server_default='issued', nullable=False))
        batch_op.add_column(sa.Column('deposit_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deposit_claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deposit_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_deposit_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('transport', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('flow_number', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('chorus_invoice_id', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('chorus_status', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('rejection_reason', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('deposited_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('received_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('contest_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('accepted_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('amount_paid', sa.Numeric(precision=12, scale=2), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('e_invoice', sa.Text(), nullable=True))



def downgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_column('e_invoice')
        batch_op.drop_column('amount_paid')
        batch_op.drop_column('accepted_on')
        batch_op.drop_column('due_on')
        batch_op.drop_column('contest_until')
        batch_op.drop_column('received_on')
        batch_op.drop_column('deposited_at')
        batch_op.drop_column('rejection_reason')
        batch_op.drop_column('chorus_status')
        batch_op.drop_column('chorus_invoice_id')
        batch_op.drop_column('flow_number')
        batch_op.drop_column('transport')
        batch_op.drop_column('next_deposit_at')
        batch_op.drop_column('deposit_attempts')
        batch_op.drop_column('deposit_claimed_at')
        batch_op.drop_column('deposit_requested_at')
        batch_op.drop_column('state')

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_number'))

    op.drop_table('payments')
    with op.batch_alter_table('document_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_events_number'))

    op.drop_table('document_events')
    with op.batch_alter_table('contestations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contestations_number'))

    op.drop_table('contestations')
    with op.batch_alter_table('chorus_exchanges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chorus_exchanges_number'))

    op.drop_table('chorus_exchanges')
    op.drop_table('buyers')
