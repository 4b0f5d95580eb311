"""eadmin: certificates, acts and signatures, sessions and convocations, accounting batches, archive

Revision ID: ea0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = 'ea0001'
down_revision = None
branch_labels = ('eadmin',)
depends_on = None


def upgrade():
    op.create_table('accounting_batches',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('transaction_id', sa.String(length=60), nullable=True),
    sa.Column('verdict', sa.String(length=4), nullable=True),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('insee', 'kind', 'year', 'number')
    )
    with op.batch_alter_table('accounting_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounting_batches_insee'), ['insee'], unique=False)

    op.create_table('acts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.Column('number', sa.String(length=15), nullable=False),
    sa.Column('nature', sa.String(length=2), nullable=False),
    sa.Column('subject', sa.String(length=499), nullable=False),
    sa.Column('classification', sa.String(length=20), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('identifier', sa.String(length=60), nullable=True),
    sa.Column('transaction_id', sa.String(length=60), nullable=True),
    sa.Column('transmitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_on', sa.Date(), nullable=True),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('insee', 'number')
    )
    with op.batch_alter_table('acts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acts_insee'), ['insee'], unique=False)

    op.create_table('certificates',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('serial', sa.String(length=100), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('not_before', sa.Date(), nullable=False),
    sa.Column('not_after', sa.Date(), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.Column('pkcs12', sa.Text(), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fingerprint')
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_insee'), ['insee'], unique=False)

    op.create_table('council_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.Column('council', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('agenda', sa.JSON(), nullable=False),
    sa.Column('convened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('council_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_council_sessions_insee'), ['insee'], unique=False)

    op.create_table('act_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('act_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.String(length=2000), nullable=True),
    sa.Column('message', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['act_id'], ['acts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('act_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_act_events_act_id'), ['act_id'], unique=False)

    op.create_table('act_files',
    sa.Column('act_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['act_id'], ['acts.id'], ),
    sa.PrimaryKeyConstraint('act_id', 'position')
    )
    op.create_table('archive_entries',
    sa.Column('act_id', sa.Uuid(), nullable=False),
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('keep_until', sa.Date(), nullable=True),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('destruction', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['act_id'], ['acts.id'], ),
    sa.PrimaryKeyConstraint('act_id')
    )
    with op.batch_alter_table('archive_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_entries_insee'), ['insee'], unique=False)

    op.create_table('convocations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('councillor', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.String(length=300), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('openings', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['council_sessions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('convocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_convocations_session_id'), ['session_id'], unique=False)

    op.create_table('session_documents',
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('explanatory_note', sa.Boolean(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('after_convocation', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['council_sessions.id'], ),
    sa.PrimaryKeyConstraint('session_id', 'position')
    )
    op.create_table('signature_steps',
    sa.Column('act_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('signatory', sa.String(length=200), nullable=False),
    sa.Column('capacity', sa.String(length=200), nullable=False),
    sa.Column('delegate', sa.String(length=200), nullable=True),
    sa.Column('certificate_id', sa.Uuid(), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['act_id'], ['acts.id'], ),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], ),
    sa.PrimaryKeyConstraint('act_id', 'position')
    )


def downgrade():
    op.drop_table('signature_steps')
    op.drop_table('session_documents')
    with op.batch_alter_table('convocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_convocations_session_id'))

    op.drop_table('convocations')
    with op.batch_alter_table('archive_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_entries_insee'))

    op.drop_table('archive_entries')
    op.drop_table('act_files')
    with op.batch_alter_table('act_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_act_events_act_id'))

    op.drop_table('act_events')
    with op.batch_alter_table('council_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_council_sessions_insee'))

    op.drop_table('council_sessions')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_insee'))

    op.drop_table('certificates')
    with op.batch_alter_table('acts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acts_insee'))

    op.drop_table('acts')
    with op.batch_alter_table('accounting_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounting_batches_insee'))

    op.drop_table('accounting_batches')
