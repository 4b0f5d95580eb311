"""alerting: campaigns and their deliveries

Revision ID: al0003
Revises: al0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = 'al0003'
down_revision = 'al0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaigns',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('scenario', sa.String(length=80), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('headline', sa.String(length=200), nullable=False),
    sa.Column('area', sa.String(length=300), nullable=False),
    sa.Column('cap_status', sa.String(length=10), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('cell_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('sms_segments', sa.Integer(), nullable=False),
    sa.Column('voice_minutes', sa.Integer(), nullable=False),
    sa.Column('billed_segments', sa.Integer(), nullable=False),
    sa.Column('billed_minutes', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=True),
    sa.Column('launched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('launched_by', sa.String(length=60), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['cell_id'], ['crisis_cells.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('commune', 'idempotency_key')
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_commune'), ['commune'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaigns_status'), ['status'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sa.String(length=5), nullable=False),
    sa.Column('recipient_kind', sa.String(length=7), nullable=False),
    sa.Column('recipient_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('operator_id', sa.String(length=100), nullable=True),
    sa.Column('segments', sa.Integer(), nullable=True),
    sa.Column('seconds', sa.Integer(), nullable=True),
    sa.Column('reply', sa.String(length=500), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'recipient_id', 'channel')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('deliveries_counts', ['campaign_id', 'channel', 'status'], unique=False)
        batch_op.create_index('deliveries_due', ['status', 'channel', 'next_attempt_at'], unique=False)
        batch_op.create_index('deliveries_unanswered', ['status', 'channel', 'sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_operator_id'), ['operator_id'], unique=False)



def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_operator_id'))
        batch_op.drop_index('deliveries_unanswered')
        batch_op.drop_index('deliveries_due')
        batch_op.drop_index('deliveries_counts')

    op.drop_table('deliveries')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_status'))
        batch_op.drop_index(batch_op.f('ix_campaigns_commune'))

    op.drop_table('campaigns')
