"""TéléAlerte (Art. 1, sixth application): alert accounts, recipients kept in sync from CSV,
groups and the scenario library; the rules, the CAP 1.2 export and the operator's client that
campaigns will use (see docs/alerting.md)."""
