"""Subscriptions service of the suite.

Will own: Member communes, their legal populations, conventions and amendments, subscriptions with their effective periods, change requests (Art. 9) and terminations (Art. 10).
Its domain arrives with its own issue; today it answers its health RPC and keeps
the toolkit's tables (outbox, inbox) in its own database."""
