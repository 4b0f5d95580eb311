"""TéléAlerte (Art. 1, sixth application): alert accounts, recipients kept in sync from CSV,
groups, the scenario library, crisis cells and campaigns over SMS, e-mail and voice, tracked
per recipient, costed for billing and exported as CAP 1.2 (see docs/alerting.md)."""
