"""audit trail: the gateway's entries, append-only, kept a year

Revision ID: id0004
Revises: id0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

# The trail is evidence (GDPR art. 5(2), 32, 33): the database itself refuses to change an
# entry, or to delete one younger than its retention (a year: AUDIT_RETENTION_YEARS of
# services.identity.audit), whatever the code that asks. Times are UTC on both engines.
APPEND_ONLY = {
    "sqlite": [
        "CREATE TRIGGER audit_trail_no_update BEFORE UPDATE ON audit_trail "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
        "CREATE TRIGGER audit_trail_kept_a_year BEFORE DELETE ON audit_trail "
        "WHEN OLD.occurred_at >= datetime('now', '-1 year') "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail keeps an entry a year'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION audit_trail_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP <> 'DELETE' THEN "
        "RAISE EXCEPTION 'the audit trail is append-only'; END IF; "
        "IF OLD.occurred_at >= (now() AT TIME ZONE 'UTC' - interval '1 year') "
        "AT TIME ZONE 'UTC' THEN "
        "RAISE EXCEPTION 'the audit trail keeps an entry a year'; END IF; "
        "RETURN OLD; "
        "END $$",
        "CREATE TRIGGER audit_trail_append_only BEFORE UPDATE OR DELETE ON audit_trail "
        "FOR EACH ROW EXECUTE FUNCTION audit_trail_append_only()",
        # TRUNCATE fires no row trigger: refused as a whole.
        "CREATE TRIGGER audit_trail_no_truncate BEFORE TRUNCATE ON audit_trail "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_append_only()",
    ],
}
DROP_APPEND_ONLY = {
    "sqlite": ["DROP TRIGGER audit_trail_no_update", "DROP TRIGGER audit_trail_kept_a_year"],
    "postgresql": ["DROP TRIGGER audit_trail_no_truncate ON audit_trail",
                   "DROP TRIGGER audit_trail_append_only ON audit_trail",
                   "DROP FUNCTION audit_trail_append_only()"],
}

revision = 'id0004'
down_revision = 'id0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_trail',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.String(length=60), nullable=True),
    sa.Column('actor_kind', sa.String(length=20), nullable=True),
    sa.Column('actor_role', sa.String(length=20), nullable=True),
    sa.Column('commune', sa.String(length=5), nullable=True),
    sa.Column('action', sa.String(length=300), nullable=False),
    sa.Column('object_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('correlation_id', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('sequence'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('audit_trail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_trail_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_trail_commune'), ['commune'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_trail_occurred_at'), ['occurred_at'],
                              unique=False)

    for statement in APPEND_ONLY.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade():
    for statement in DROP_APPEND_ONLY.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    with op.batch_alter_table('audit_trail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_trail_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_trail_commune'))
        batch_op.drop_index(batch_op.f('ix_audit_trail_actor_id'))

    op.drop_table('audit_trail')
