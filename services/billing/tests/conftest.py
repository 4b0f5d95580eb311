import pytest

from servicekit.outbox import OutboxWriter
from servicekit.testing_db import memory_session
from services.billing.models import Base


@pytest.fixture
def session():
    with memory_session(Base.metadata) as session:
        yield session


@pytest.fixture
def outbox():
    return OutboxWriter("billing", lambda: None)


# PostgreSQL databases of their own, for what only a server shows (row locks).
from servicekit.tests.conftest import postgres_database  # noqa: E402, F401
