"""citizens: e-mail, names, verification and deletion of accounts; verification links; mail
throttle

Revision ID: id0002
Revises: id0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = 'id0002'
down_revision = 'id0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        # A citizen's username is their e-mail address.
        batch_op.alter_column('username', existing_type=sa.String(length=64),
                              type_=sa.String(length=320), existing_nullable=False)
        batch_op.alter_column('username_key', existing_type=sa.String(length=64),
                              type_=sa.String(length=320), existing_nullable=False)
        batch_op.add_column(sa.Column('email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('email_key', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('given_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('family_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('accounts_email_key_key', ['email_key'])

    op.create_table('email_verifications',
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('token_digest')
    )
    with op.batch_alter_table('email_verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_verifications_account_id'), ['account_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_email_verifications_expires_at'), ['expires_at'],
                              unique=False)

    op.create_table('mail_throttles',
    sa.Column('subject_digest', sa.String(length=64), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('subject_digest')
    )


def downgrade():
    op.drop_table('mail_throttles')
    with op.batch_alter_table('email_verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_verifications_expires_at'))
        batch_op.drop_index(batch_op.f('ix_email_verifications_account_id'))

    op.drop_table('email_verifications')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_constraint('accounts_email_key_key', type_='unique')
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('email_verified_at')
        batch_op.drop_column('family_name')
        batch_op.drop_column('given_name')
        batch_op.drop_column('email_key')
        batch_op.drop_column('email')
        batch_op.alter_column('username_key', existing_type=sa.String(length=320),
                              type_=sa.String(length=64), existing_nullable=False)
        batch_op.alter_column('username', existing_type=sa.String(length=320),
                              type_=sa.String(length=64), existing_nullable=False)
