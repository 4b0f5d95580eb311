"""E-administration service of the suite.

Will own: Acts and their signatures, transmissions to the prefecture, accounting pieces for the public accountant, council convocations and the electronic archive (Art. 1, first application).
Its domain arrives with its own issue; today it answers its health RPC and keeps
the toolkit's tables (outbox, inbox) in its own database."""
