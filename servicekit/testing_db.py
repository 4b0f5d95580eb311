"""A session on a fresh in-memory SQLite database, for the tests of a service's rules and
queries that need no broker."""

import contextlib

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from servicekit import tables


@contextlib.contextmanager
def memory_session(metadata):
    """``metadata``'s tables beside the toolkit's (outbox, inbox, postbox…)."""
    engine = create_engine("sqlite://")
    tables.metadata.create_all(engine)
    metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()
