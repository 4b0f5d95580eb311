"""The relay's queries on a database, without a broker: what stays of a transcription once its
session is over — its count, not one line of its text."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from contracts.errors import Conflict, Gone, NotFound
from servicekit.testing_db import memory_session
from services.accessibility import relay
from services.accessibility.models import Base, TranscriptLine

TUESDAY_10H = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ALL_DAY = [{"start": "00:00", "end": "24:00"}]
POINT = {"name": "Accueil de la mairie", "kind": "town_hall", "closures": [],
         "weekly_hours": {"tuesday": ALL_DAY}}


@pytest.fixture
def session():
    with memory_session(Base.metadata) as session:
        yield session


def connected_transcription(session):
    point = relay.create_point(session, "34134", POINT, TUESDAY_10H)
    _, token = relay.create_link(session, point, TUESDAY_10H)
    relayed, secret = relay.open_session(session, point, {"mode": "transcription",
                                                          "channel": "telephone"}, TUESDAY_10H)
    interpreter = relay.interpreter(session, "interp-1", "Inès", ["transcription"], True)
    relay.take(session, relayed, interpreter, TUESDAY_10H + timedelta(seconds=20))
    relay.connect(relayed, "interp-1", TUESDAY_10H + timedelta(seconds=30))
    return relayed, token, secret


def lines_in_database(session):
    return session.scalar(select(func.count()).select_from(TranscriptLine))


@pytest.mark.parametrize("leave", [
    lambda session, relayed, now: relay.end(session, relayed, "interp-1", now),
    lambda session, relayed, now: relay.hang_up(session, relayed, now),
], ids=["the interpreter ends", "the person hangs up"])
def test_the_text_is_deleted_when_the_session_ends_and_its_count_stays(session, leave):
    relayed, _, _ = connected_transcription(session)
    for speaker, text in (("person", "Bonjour"), ("interpreter", "Bonjour, madame"),
                          ("person", "Je voudrais un rendez-vous.")):
        relay.say(session, relayed, speaker, text, TUESDAY_10H + timedelta(minutes=1))
    assert lines_in_database(session) == 3

    leave(session, relayed, TUESDAY_10H + timedelta(minutes=4))

    assert lines_in_database(session) == 0
    view = relay.session_view(relayed)
    assert (view["status"], view["transcript_lines"], view["talk_seconds"]) == (
        "ended", 3, 210)
    with pytest.raises(Gone):
        relay.transcript(session, relayed)


def test_the_lines_are_read_in_order_after_the_last_one_read(session):
    relayed, _, _ = connected_transcription(session)
    said = [relay.say(session, relayed, "person", f"ligne {n}", TUESDAY_10H)
            for n in range(1, 5)]
    assert [line.text for line in relay.transcript(session, relayed, said[1].id)] == [
        "ligne 3", "ligne 4"]
    assert relay.transcript(session, relayed, said[-1].id) == []


def test_only_the_link_and_the_secret_together_open_a_persons_session(session):
    relayed, token, secret = connected_transcription(session)
    assert relay.session_of_person(session, token, relayed.id, secret) is relayed
    assert relayed.secret_digest != secret  # only its digest is kept
    for wrong_secret, wrong_id in ((secret[:-1], relayed.id), (secret, "not-an-id"),
                                   (secret, "00000000-0000-0000-0000-000000000000")):
        with pytest.raises(NotFound):
            relay.session_of_person(session, token, wrong_id, wrong_secret)


@pytest.mark.parametrize(("status", "left_as"), [
    ("waiting", "abandoned"), ("taken", "abandoned"), ("connected", "ended")])
def test_hanging_up_ends_a_connected_session_and_abandons_one_not_connected(
        session, status, left_as):
    relayed, _, _ = connected_transcription(session)
    relayed.status = status
    relay.hang_up(session, relayed, TUESDAY_10H + timedelta(minutes=2))
    assert relayed.status == left_as
    with pytest.raises(Conflict, match="already"):
        relay.hang_up(session, relayed, TUESDAY_10H + timedelta(minutes=3))


def test_a_session_in_sign_language_has_no_transcription(session):
    point = relay.create_point(session, "34134", POINT, TUESDAY_10H)
    relayed, _ = relay.open_session(session, point, {"mode": "lsf", "channel": "telephone"},
                                    TUESDAY_10H)
    with pytest.raises(Conflict, match="not in transcription"):
        relay.say(session, relayed, "person", "Bonjour", TUESDAY_10H)


# -- sessions left idle

SECOND = timedelta(seconds=1)


def session_left_at(session, stage):
    """A session brought to ``stage`` and left there; the moment of its last activity."""
    relayed, _, _ = connected_transcription(session)
    if stage == "waiting":
        relayed.status, relayed.interpreter_id = "waiting", None
        relayed.taken_at = relayed.connected_at = None
        return relayed, relayed.requested_at
    if stage == "taken":
        relayed.status, relayed.connected_at = "taken", None
        return relayed, relayed.taken_at
    if stage == "connected":
        return relayed, relayed.connected_at
    said_at = TUESDAY_10H + timedelta(minutes=50)
    relay.say(session, relayed, "person", "Je reviens tout de suite.", said_at)
    return relayed, said_at


@pytest.mark.parametrize("stage, status_when_left", [
    ("waiting", "abandoned"), ("taken", "abandoned"), ("connected", "ended"),
    ("a line written", "ended"),
])
@pytest.mark.parametrize("idle_for, closed", [
    (relay.IDLE_LIMIT - SECOND, False), (relay.IDLE_LIMIT + SECOND, True),
], ids=["a second before two idle hours", "a second after"])
def test_a_session_idle_for_two_hours_is_left_as_its_person_would_leave_it(
    session, stage, status_when_left, idle_for, closed
):
    relayed, last_activity = session_left_at(session, stage)
    lines = lines_in_database(session)

    found = relay.abandon_idle_sessions(session, last_activity + idle_for)

    assert found == ([relayed] if closed else [])
    if closed:
        assert (relayed.status, relayed.ended_at) == (status_when_left, last_activity)
        assert lines_in_database(session) == 0
        assert relay.session_view(relayed)["transcript_lines"] == lines
    else:
        assert relayed.ended_at is None and lines_in_database(session) == lines


def test_a_session_already_over_is_left_as_it_is(session):
    relayed, _, _ = connected_transcription(session)
    relay.end(session, relayed, "interp-1", TUESDAY_10H + timedelta(minutes=5))

    assert relay.abandon_idle_sessions(session, TUESDAY_10H + timedelta(days=1)) == []
    assert (relayed.status, relayed.ended_at) == ("ended", TUESDAY_10H + timedelta(minutes=5))
