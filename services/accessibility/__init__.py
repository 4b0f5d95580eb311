"""Accessibility relay service of the suite.

Will own: Per-commune relay links for deaf, hard-of-hearing and aphasic people, service hours, relay sessions and usage (Art. 1 and 2).
Its domain arrives with its own issue; today it answers its health RPC and keeps
the toolkit's tables (outbox, inbox) in its own database."""
