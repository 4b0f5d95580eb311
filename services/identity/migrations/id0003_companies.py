"""companies: company name, SIRET and contact's name of an account

Revision ID: id0003
Revises: id0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = 'id0003'
down_revision = 'id0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('siret', sa.String(length=14), nullable=True))
        batch_op.add_column(sa.Column('contact_name', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('contact_name')
        batch_op.drop_column('siret')
        batch_op.drop_column('company_name')
