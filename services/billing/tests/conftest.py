import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from servicekit import tables
from servicekit.outbox import OutboxWriter
from services.billing.models import Base


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    tables.metadata.create_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


@pytest.fixture
def outbox():
    return OutboxWriter("billing", lambda: None)


# PostgreSQL databases of their own, for what only a server shows (row locks).
from servicekit.tests.conftest import postgres_database  # noqa: E402, F401
