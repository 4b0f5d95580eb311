"""alerting: crisis cells and their log

Revision ID: al0002
Revises: al0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = 'al0002'
down_revision = 'al0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crisis_cells',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('scenario', sa.String(length=80), nullable=True),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('stakeholders_notified', sa.Integer(), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('crisis_cells', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crisis_cells_commune'), ['commune'], unique=False)

    op.create_table('cell_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('cell_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('author', sa.String(length=60), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['cell_id'], ['crisis_cells.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cell_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cell_log_cell_id'), ['cell_id'], unique=False)



def downgrade():
    with op.batch_alter_table('cell_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cell_log_cell_id'))

    op.drop_table('cell_log')
    with op.batch_alter_table('crisis_cells', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crisis_cells_commune'))

    op.drop_table('crisis_cells')
