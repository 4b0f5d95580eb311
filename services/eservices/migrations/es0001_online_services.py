"""eservices: form definitions, activations, brandings, requests and their history, messages
and attachments, agendas and slots, camps

Revision ID: es0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = 'es0001'
down_revision = None
branch_labels = ('eservices',)
depends_on = None


def upgrade():
    op.create_table('activations',
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=60), nullable=True),
    sa.PrimaryKeyConstraint('commune', 'slug')
    )
    op.create_table('agendas',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agendas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agendas_commune'), ['commune'], unique=False)

    op.create_table('brandings',
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('logo_url', sa.String(length=500), nullable=True),
    sa.Column('primary_colour', sa.String(length=7), nullable=False),
    sa.Column('secondary_colour', sa.String(length=7), nullable=False),
    sa.Column('contact', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=True),
    sa.PrimaryKeyConstraint('commune')
    )
    op.create_table('camps',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('camps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_camps_commune'), ['commune'], unique=False)

    op.create_table('form_definitions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('scope', sa.String(length=9), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=True),
    sa.Column('integration_number', sa.Integer(), nullable=True),
    sa.Column('integration_price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('billable', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scope', 'slug', 'version')
    )
    with op.batch_alter_table('form_definitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_definitions_scope'), ['scope'], unique=False)

    op.create_table('reference_counters',
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('commune', 'year')
    )
    op.create_table('unneeded_files',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('form_id', sa.Uuid(), nullable=False),
    sa.Column('form_slug', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('requester_account_id', sa.String(length=60), nullable=True),
    sa.Column('requester_name', sa.String(length=200), nullable=True),
    sa.Column('requester_email', sa.String(length=320), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('acknowledge_by', sa.Date(), nullable=False),
    sa.Column('registration_mail_id', sa.Uuid(), nullable=True),
    sa.Column('registration_acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('receipt_mail_id', sa.Uuid(), nullable=True),
    sa.Column('receipt_acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('camp_id', sa.Uuid(), nullable=True),
    sa.Column('waiting_list_position', sa.Integer(), nullable=True),
    sa.Column('slot_id', sa.Uuid(), nullable=True),
    sa.Column('parking_spot', sa.String(length=300), nullable=True),
    sa.Column('parking_starts_on', sa.Date(), nullable=True),
    sa.Column('parking_ends_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['camp_id'], ['camps.id'], ),
    sa.ForeignKeyConstraint(['form_id'], ['form_definitions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference'),
    sa.UniqueConstraint('requester_account_id', 'idempotency_key')
    )
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_requests_acknowledge_by'), ['acknowledge_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_camp_id'), ['camp_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_commune'), ['commune'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_flagged'), ['flagged'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_form_slug'), ['form_slug'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_parking_spot'), ['parking_spot'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_requester_account_id'), ['requester_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_submitted_at'), ['submitted_at'], unique=False)

    op.create_table('slots',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('agenda_id', sa.Uuid(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['agenda_id'], ['agendas.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agenda_id', 'starts_at'),
    sa.UniqueConstraint('request_id')
    )
    with op.batch_alter_table('slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slots_agenda_id'), ['agenda_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_slots_starts_at'), ['starts_at'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_sha256'), ['sha256'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('author', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('agent_id', sa.String(length=60), nullable=True),
    sa.Column('mail_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_request_id'), ['request_id'], unique=False)

    op.create_table('status_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=10), nullable=False),
    sa.Column('agent_id', sa.String(length=60), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_changes_request_id'), ['request_id'], unique=False)



def downgrade():
    with op.batch_alter_table('status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_changes_request_id'))

    op.drop_table('status_changes')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_request_id'))

    op.drop_table('messages')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_sha256'))
        batch_op.drop_index(batch_op.f('ix_attachments_request_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slots_starts_at'))
        batch_op.drop_index(batch_op.f('ix_slots_agenda_id'))

    op.drop_table('slots')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requests_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_requests_status'))
        batch_op.drop_index(batch_op.f('ix_requests_requester_account_id'))
        batch_op.drop_index(batch_op.f('ix_requests_parking_spot'))
        batch_op.drop_index(batch_op.f('ix_requests_form_slug'))
        batch_op.drop_index(batch_op.f('ix_requests_flagged'))
        batch_op.drop_index(batch_op.f('ix_requests_commune'))
        batch_op.drop_index(batch_op.f('ix_requests_camp_id'))
        batch_op.drop_index(batch_op.f('ix_requests_acknowledge_by'))

    op.drop_table('requests')
    op.drop_table('unneeded_files')
    op.drop_table('reference_counters')
    with op.batch_alter_table('form_definitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_definitions_scope'))

    op.drop_table('form_definitions')
    with op.batch_alter_table('camps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_camps_commune'))

    op.drop_table('camps')
    op.drop_table('brandings')
    with op.batch_alter_table('agendas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agendas_commune'))

    op.drop_table('agendas')
    op.drop_table('activations')
