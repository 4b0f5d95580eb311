"""TéléAlerte service of the suite.

Will own: Alert accounts (15 per commune), recipient databases and groups, scenarios, crisis cells, campaigns and deliveries (Art. 1 and 2).
Its domain arrives with its own issue; today it answers its health RPC and keeps
the toolkit's tables (outbox, inbox) in its own database."""
