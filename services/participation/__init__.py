"""Citizen participation service of the suite.

Will own: Participatory processes, proposals, comments and votes (Art. 1, fifth application).
Its domain arrives with its own issue; today it answers its health RPC and keeps
the toolkit's tables (outbox, inbox) in its own database."""
