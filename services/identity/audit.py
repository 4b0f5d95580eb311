"""The audit trail the gateway records (``contracts.audit``), kept by identity: entries
stored once each, read by Metropole admins a page at a time, deleted a year after they
occurred. The database refuses any other change (migration id0004)."""

from sqlalchemy import delete, select

from services.identity.models import AuditEntry

AUDIT_RETENTION_YEARS = 1
ENTRY_FIELDS = ("id", "occurred_at", "actor_id", "actor_kind", "actor_role", "commune",
                "action", "object_ids", "status", "outcome", "correlation_id")


def retention_cutoff(now):
    """The moment before which an entry has been kept long enough: a year before ``now`` (29
    February gives the 28th, never a day later than the database allows deleting).

    A year, as the CNIL recommends for access logs and audit trails (délibération 2021-122,
    « journalisation », six months to a year): long enough to scope a breach and notify it
    (GDPR art. 33) and to account for what privileged users did (art. 5(2), 32), no longer
    (art. 5(1)(e)). Kept apart from the debug logs, which are kept less."""
    try:
        return now.replace(year=now.year - AUDIT_RETENTION_YEARS)
    except ValueError:
        return now.replace(year=now.year - AUDIT_RETENTION_YEARS, day=28)


def record(session, entry):
    """Stores one entry, as loaded from its ``audit.recorded`` event."""
    session.add(AuditEntry(**{name: entry[name] for name in ENTRY_FIELDS}))
    session.flush()


def page(session, query):
    """The entries under the filters of ``AuditQuerySchema``, the most recently recorded
    first, ``query["limit"]`` of them after ``query["before"]``; and the ``before`` of the
    next page, None on the last."""
    filters = []
    for name in ("commune", "actor_id", "outcome"):
        if query.get(name) is not None:
            filters.append(getattr(AuditEntry, name) == query[name])
    if query.get("since") is not None:
        filters.append(AuditEntry.occurred_at >= query["since"])
    if query.get("until") is not None:
        filters.append(AuditEntry.occurred_at < query["until"])
    if query.get("before") is not None:
        filters.append(AuditEntry.sequence < query["before"])
    rows = session.scalars(select(AuditEntry).where(*filters)
                           .order_by(AuditEntry.sequence.desc())
                           .limit(query["limit"] + 1)).all()
    entries, more = rows[:query["limit"]], len(rows) > query["limit"]
    return {"items": [{name: getattr(row, name) for name in ENTRY_FIELDS} for row in entries],
            "next_before": entries[-1].sequence if more else None}


def purge(session, now):
    """Deletes the entries that occurred before ``retention_cutoff(now)``; returns how many."""
    return session.execute(
        delete(AuditEntry).where(AuditEntry.occurred_at < retention_cutoff(now))
    ).rowcount
