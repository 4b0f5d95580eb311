"""alerting: alert accounts, contacts and their groups, the communes' own scenarios

Revision ID: al0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = 'al0001'
down_revision = None
branch_labels = ('alerting',)
depends_on = None


def upgrade():
    op.create_table('alert_accounts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('function', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_accounts_commune'), ['commune'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('consent', sa.Boolean(), nullable=True),
    sa.Column('consent_method', sa.String(length=200), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('commune', 'external_id')
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_commune'), ['commune'], unique=False)

    op.create_table('scenarios',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('commune', 'slug')
    )
    with op.batch_alter_table('scenarios', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scenarios_commune'), ['commune'], unique=False)

    op.create_table('contact_groups',
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('commune', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', 'name')
    )
    with op.batch_alter_table('contact_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_groups_commune'), ['commune'], unique=False)



def downgrade():
    with op.batch_alter_table('contact_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_groups_commune'))

    op.drop_table('contact_groups')
    with op.batch_alter_table('scenarios', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scenarios_commune'))

    op.drop_table('scenarios')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_commune'))

    op.drop_table('contacts')
    with op.batch_alter_table('alert_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_accounts_commune'))

    op.drop_table('alert_accounts')
