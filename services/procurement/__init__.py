"""Public procurement service of the suite.

Will own: Buyer profiles, consultations and their files, questions and answers, sealed bids, openings and awards (Art. 1, third application).
Its domain arrives with its own issue; today it answers its health RPC and keeps
the toolkit's tables (outbox, inbox) in its own database."""
