"""procurement: buyers, consultations and their files, withdrawals, questions, sealed bids,
awards, and the append-only history

Revision ID: pr0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

# The history is written once (arrêté du 22 mars 2019, I 8°): the database itself refuses to
# change or delete a line, whatever the code that asks.
APPEND_ONLY = {
    "sqlite": [
        "CREATE TRIGGER history_no_update BEFORE UPDATE ON history "
        "BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END",
        "CREATE TRIGGER history_no_delete BEFORE DELETE ON history "
        "BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the history is append-only'; END $$",
        "CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON history "
        "FOR EACH ROW EXECUTE FUNCTION history_append_only()",
    ],
}
DROP_APPEND_ONLY = {
    "sqlite": ["DROP TRIGGER history_no_update", "DROP TRIGGER history_no_delete"],
    "postgresql": ["DROP TRIGGER history_append_only ON history",
                   "DROP FUNCTION history_append_only()"],
}


revision = 'pr0001'
down_revision = None
branch_labels = ('procurement',)
depends_on = None


def upgrade():
    op.create_table('buyers',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('insee', sa.String(length=5), nullable=True),
    sa.Column('siret', sa.String(length=14), nullable=True),
    sa.Column('welcome', sa.Text(), nullable=True),
    sa.Column('logo_url', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('buyers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_buyers_insee'), ['insee'], unique=False)

    op.create_table('consultations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('buyer_id', sa.String(length=40), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('object', sa.Text(), nullable=False),
    sa.Column('procedure', sa.String(length=30), nullable=False),
    sa.Column('cpv_codes', sa.JSON(), nullable=False),
    sa.Column('lots', sa.JSON(), nullable=False),
    sa.Column('estimated_value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('questions_deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('bid_deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notice', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_by', sa.String(length=60), nullable=True),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('wrapped_private_key', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['buyer_id'], ['buyers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('buyer_id', 'reference')
    )
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultations_bid_deadline'), ['bid_deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_buyer_id'), ['buyer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_commune'), ['commune'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_published_at'), ['published_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_state'), ['state'], unique=False)

    op.create_table('bids',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('consultation_id', sa.Uuid(), nullable=False),
    sa.Column('lot', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=60), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('company_name', sa.String(length=200), nullable=False),
    sa.Column('deposited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bids_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bids_siret'), ['siret'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('consultation_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('consultation_id', 'name', 'version')
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('consultation_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_history_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('questions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('consultation_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.String(length=60), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.String(length=60), nullable=True),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questions_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('withdrawals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('consultation_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.String(length=60), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('company_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('documents_version', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('withdrawals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_withdrawals_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('awards',
    sa.Column('consultation_id', sa.Uuid(), nullable=False),
    sa.Column('lot', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('notified_on', sa.Date(), nullable=False),
    sa.Column('contract_id', sa.String(length=16), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('awarded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('awarded_by', sa.String(length=60), nullable=True),
    sa.Column('retention_until', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], ),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], ),
    sa.PrimaryKeyConstraint('consultation_id', 'lot')
    )
    op.create_table('bid_files',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bid_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('sealed_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bid_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bid_files_bid_id'), ['bid_id'], unique=False)

    for statement in APPEND_ONLY.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade():
    for statement in DROP_APPEND_ONLY.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    with op.batch_alter_table('bid_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bid_files_bid_id'))

    op.drop_table('bid_files')
    op.drop_table('awards')
    with op.batch_alter_table('withdrawals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_withdrawals_consultation_id'))

    op.drop_table('withdrawals')
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questions_consultation_id'))

    op.drop_table('questions')
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_history_consultation_id'))

    op.drop_table('history')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_consultation_id'))

    op.drop_table('documents')
    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bids_siret'))
        batch_op.drop_index(batch_op.f('ix_bids_consultation_id'))

    op.drop_table('bids')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultations_state'))
        batch_op.drop_index(batch_op.f('ix_consultations_published_at'))
        batch_op.drop_index(batch_op.f('ix_consultations_commune'))
        batch_op.drop_index(batch_op.f('ix_consultations_buyer_id'))
        batch_op.drop_index(batch_op.f('ix_consultations_bid_deadline'))

    op.drop_table('consultations')
    with op.batch_alter_table('buyers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_buyers_insee'))

    op.drop_table('buyers')
