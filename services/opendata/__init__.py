"""Open data service of the suite.

Will own: Publishers, datasets, resources and licences of the shared open data portal, never billed to communes (Art. 1 and 4).
Its domain arrives with its own issue; today it answers its health RPC and keeps
the toolkit's tables (outbox, inbox) in its own database."""
