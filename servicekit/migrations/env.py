"""Alembic environment shared by every service: the connection and the metadata to compare
against come from ``servicekit.database.alembic_config``, never from an ini file."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=context.config.attributes.get("target_metadata"),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
