"""accessibility: transcription lines, the person's secret

A session keeps the digest of the secret given to the person who asked and the count of its
transcription lines; the lines themselves live in their own table until the session ends.

Revision ID: ac0002
Revises: ac0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = 'ac0002'
down_revision = 'ac0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('transcript_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('speaker', sa.String(length=11), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('said_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['relay_sessions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transcript_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transcript_lines_session_id'), ['session_id'],
                              unique=False)

    with op.batch_alter_table('relay_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('transcript_lines', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.drop_column('transcript')


def downgrade():
    with op.batch_alter_table('relay_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transcript', sa.Text(), nullable=True))
        batch_op.drop_column('transcript_lines')
        batch_op.drop_column('secret_digest')

    with op.batch_alter_table('transcript_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transcript_lines_session_id'))

    op.drop_table('transcript_lines')
