"""What the identity database does where the broker adds nothing: races between writers and
the housekeeping of the login throttle."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, event, insert, select
from sqlalchemy.orm import Session

from contracts.errors import Conflict, TooManyRequests
from services.identity import directory, rules
from services.identity.models import Account, Base, LoginThrottle

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = {
    "username": "agent.laverune",
    "password": "twelve chars!",
    "role": "commune_agent",
    "commune": "34134",
}


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


class NoOutbox:
    def add(self, *args, **kwargs):
        raise AssertionError("a refused account must not be announced")


def test_a_username_taken_by_a_concurrent_writer_is_a_conflict_not_a_crash(session):
    def another_writer_takes_the_name(session, flush_context, instances):
        # Runs after create_account checked that the name was free and before its insert:
        # the window in which another identity process (or PostgreSQL session) commits it.
        session.connection().execute(
            insert(Account.__table__).values(
                id=uuid.uuid4(),
                username="Agent.Laverune",
                username_key="agent.laverune",
                password_hash="x",
                role="commune_agent",
                commune="34134",
                created_at=NOW,
            )
        )

    event.listen(session, "before_flush", another_writer_takes_the_name, once=True)
    with pytest.raises(Conflict):
        directory.create_account(session, NoOutbox(), AGENT, "bootstrap", NOW)


WINDOW = rules.FAILURE_WINDOW


@pytest.mark.parametrize(
    "failures, window_started_at, locked_until, kept",
    [
        (1, NOW - timedelta(minutes=1), None, True),
        # The next failure would still count with this one (see rules.after_failure).
        (4, NOW - WINDOW, None, True),
        (4, NOW - WINDOW - timedelta(seconds=1), None, False),
        (5, NOW - timedelta(minutes=5), NOW + timedelta(seconds=1), True),
        # A lock that ends now has ended; the next failure starts a new count.
        (5, NOW - timedelta(minutes=5), NOW, False),
        (5, NOW - timedelta(days=2), NOW - timedelta(days=1), False),
    ],
)
def test_pruning_forgets_only_names_whose_failures_no_longer_count(
    session, failures, window_started_at, locked_until, kept
):
    state = rules.ThrottleState(failures, window_started_at, locked_until)
    # What pruning forgets is what the rules would forget anyway.
    counts_still = rules.seconds_locked(state, NOW) > 0 or (
        rules.after_failure(state, NOW).failures == failures + 1
    )
    assert counts_still is kept
    session.add(
        LoginThrottle(
            subject_digest=rules.subject_digest("account", "agent.laverune"),
            failures=failures,
            window_started_at=window_started_at,
            locked_until=locked_until,
        )
    )
    session.flush()
    assert directory.prune_login_throttles(session, NOW) == (0 if kept else 1)
    assert len(session.scalars(select(LoginThrottle)).all()) == (1 if kept else 0)


class RecordingOutbox:
    def add(self, *args, **kwargs):
        pass


def test_a_right_password_checked_while_other_attempts_locked_the_name_is_still_refused(session):
    directory.create_account(session, RecordingOutbox(), AGENT, "bootstrap", NOW)
    right = {"username": AGENT["username"], "password": AGENT["password"]}
    attempt = directory.login_attempt(session, right)
    assert directory.login_refusal(session, attempt, NOW, "req-1") is None
    # While this attempt's argon2 runs outside any transaction, a sprayer locks the name.
    for _ in range(rules.MAX_FAILED_LOGINS):
        directory.record_login(session, attempt, False, NOW, "req-2")

    principal, error = directory.record_login(
        session, attempt, directory.secret_matches(attempt, right), NOW, "req-1"
    )

    assert principal is None
    assert isinstance(error, TooManyRequests)

