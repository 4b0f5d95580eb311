"""The common toolkit every service of the suite is built with: configuration, database and
migrations, structured logging with a correlation id, the transactional outbox, idempotent
event handlers and a clock tests can set. Infrastructure only — no rule of the agreement.

Importing the package does nothing: ``communs run`` must monkey-patch eventlet before
kombu or the database drivers are imported."""
