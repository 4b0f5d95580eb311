"""accessibility: reception points, links, interpreters, sessions

Revision ID: ac0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = 'ac0001'
down_revision = None
branch_labels = ('accessibility',)
depends_on = None


def upgrade():
    op.create_table('interpreters',
    sa.Column('account_id', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('modes', sa.JSON(), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('account_id')
    )
    op.create_table('reception_points',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('weekly_hours', sa.JSON(), nullable=False),
    sa.Column('closures', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reception_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reception_points_commune'), ['commune'], unique=False)

    op.create_table('relay_links',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('point_id', sa.Uuid(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['point_id'], ['reception_points.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_digest')
    )
    with op.batch_alter_table('relay_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relay_links_commune'), ['commune'], unique=False)

    op.create_table('relay_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('point_id', sa.Uuid(), nullable=False),
    sa.Column('mode', sa.String(length=15), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('interpreter_id', sa.String(length=60), nullable=True),
    sa.Column('transcript', sa.Text(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['point_id'], ['reception_points.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('relay_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relay_sessions_commune'), ['commune'], unique=False)
        batch_op.create_index(batch_op.f('ix_relay_sessions_mode'), ['mode'], unique=False)
        batch_op.create_index(batch_op.f('ix_relay_sessions_requested_at'), ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_relay_sessions_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('relay_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relay_sessions_status'))
        batch_op.drop_index(batch_op.f('ix_relay_sessions_requested_at'))
        batch_op.drop_index(batch_op.f('ix_relay_sessions_mode'))
        batch_op.drop_index(batch_op.f('ix_relay_sessions_commune'))

    op.drop_table('relay_sessions')
    with op.batch_alter_table('relay_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relay_links_commune'))

    op.drop_table('relay_links')
    with op.batch_alter_table('reception_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reception_points_commune'))

    op.drop_table('reception_points')
    op.drop_table('interpreters')
