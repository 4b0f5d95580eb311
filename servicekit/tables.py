"""Tables the toolkit keeps in every service's database, beside the service's own."""

from sqlalchemy import JSON, Column, Date, Integer, MetaData, String, Table, Text, Uuid

from servicekit.sqltypes import UtcDateTime

metadata = MetaData()


outbox = Table(
    "outbox",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("event_type", String(80), nullable=False),
    Column("envelope", JSON, nullable=False),
    Column("correlation_id", String(200)),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("published_at", UtcDateTime, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("consumer", String(160), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consumer", String(160), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("body", JSON, nullable=False),
    Column("error", Text, nullable=False),
)

# What an application service knows of subscriptions, from subscriptions' events only
# (``servicekit.subscribed``): each ``subscription.changed`` fact, and each termination.
subscription_changes = Table(
    "subscription_changes_seen",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("commune", String(5), nullable=False, index=True),
    Column("application", String(20), nullable=False),
    Column("change", String(10), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
)

terminations = Table(
    "terminations_seen",
    metadata,
    Column("commune", String(5), primary_key=True),
    Column("effective_on", Date, nullable=False),
)

# E-mail waiting to leave, or sent (``servicekit.postbox``).
mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("correlation_id", String(200)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False, index=True),
    Column("sent_at", UtcDateTime, index=True),
    Column("failed_at", UtcDateTime),
    Column("message_id", String(200)),
    Column("last_error", Text),
)
