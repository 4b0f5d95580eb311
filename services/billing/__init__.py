"""Billing service of the suite.

Will own: Per-capita shares of each application (Art. 4), the annual titles (*titres de recette*) and credit notes, their Chorus Pro transmission, contestation and payment (Art. 5), extra work with VAT (Art. 6).
Its domain arrives with its own issue; today it answers its health RPC and keeps
the toolkit's tables (outbox, inbox) in its own database."""
