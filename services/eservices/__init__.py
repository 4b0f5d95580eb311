"""Online services service of the suite.

Will own: The tele-service catalogue, each commune's activated services and branding, forms and citizens' requests (Art. 1, second application).
Its domain arrives with its own issue; today it answers its health RPC and keeps
the toolkit's tables (outbox, inbox) in its own database."""
