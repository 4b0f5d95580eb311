"""The accessibility relay through the real broker: a subscribed commune's reception point and
its link, a session opened from the link during reception hours, queued, taken, connected and
ended; a rotated link gone; a closed reception saying when it reopens."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook

from contracts.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from servicekit.testing_bus import subscribe
from services.accessibility.service import AccessibilityService

pytestmark = pytest.mark.broker

LAVERUNE, GRABELS = "34134", "34116"
TUESDAY_10H = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Montpellier
SATURDAY = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
OFFICE = [{"start": "08:30", "end": "12:00"}, {"start": "13:30", "end": "17:00"}]
TOWN_HALL = {"name": "Accueil de la mairie", "kind": "town_hall",
             "weekly_hours": {day: OFFICE for day in ("monday", "tuesday", "wednesday",
                                                      "thursday", "friday")}}


def start(container_factory, suite_config, now):
    container = container_factory(AccessibilityService, {**suite_config,
                                                         "CLOCK_FROZEN_AT": now.isoformat()})
    container.start()
    subscribe(container, suite_config, LAVERUNE, "accessibility", now)
    return container


@pytest.fixture
def rpc(suite_config):
    def proxy():
        return ServiceRpcProxy("accessibility", suite_config, timeout=10)
    return proxy


def test_a_session_from_the_link_is_queued_taken_connected_and_ended(
        container_factory, suite_config, rpc):
    start(container_factory, suite_config, TUESDAY_10H)
    with rpc() as relay:
        point = relay.create_point(LAVERUNE, TOWN_HALL)
        assert point["open_now"] is True
        link = relay.create_link(LAVERUNE, point["id"])
        assert len(link["token"]) >= 43 and link["status"] == "active"
        assert relay.links(LAVERUNE)[0]["token"] is None  # given once
        assert relay.relay_point(link["token"])["name"] == "Accueil de la mairie"

        opened = relay.open_session(link["token"], {"mode": "lsf"})
        assert (opened["status"], opened["channel"]) == ("waiting", "telephone")
        assert [s["id"] for s in relay.queue(["lsf"])] == [opened["id"]]
        assert relay.queue(["transcription"]) == []
        relay.set_interpreter("interp-1", {"name": "Inès", "modes": ["lsf", "lfpc"],
                                           "available": True})
        relay.set_interpreter("interp-2", {"name": "Paul", "modes": ["lsf"], "available": False})
        with pytest.raises(Conflict, match="not available"):
            relay.take_session(opened["id"], "interp-2")
        taken = relay.take_session(opened["id"], "interp-1")
        assert taken["status"] == "taken" and relay.queue() == []
        with pytest.raises(Conflict, match="Another interpreter"):
            relay.connect_session(opened["id"], "interp-2")
        relay.connect_session(opened["id"], "interp-1")
        ended = relay.end_session(opened["id"], "interp-1")
        assert (ended["status"], ended["wait_seconds"], ended["talk_seconds"]) == ("ended", 0, 0)
        with pytest.raises(Conflict):
            relay.end_session(opened["id"], "interp-1")


def test_a_rotated_or_revoked_link_is_gone_and_the_new_one_works(
        container_factory, suite_config, rpc):
    start(container_factory, suite_config, TUESDAY_10H)
    with rpc() as relay:
        point = relay.create_point(LAVERUNE, TOWN_HALL)
        first = relay.create_link(LAVERUNE, point["id"])
        second = relay.create_link(LAVERUNE, point["id"])  # rotated
        with pytest.raises(Gone, match="new link"):
            relay.open_session(first["token"], {"mode": "transcription"})
        assert relay.open_session(second["token"], {"mode": "transcription"})["mode"] == (
            "transcription")
        relay.revoke_link(LAVERUNE, second["id"])
        with pytest.raises(Gone):
            relay.relay_point(second["token"])
        with pytest.raises(NotFound):
            relay.relay_point("never-was-a-token")
        assert {link["id"]: link["status"] for link in relay.links(LAVERUNE)} == {
            first["id"]: "rotated", second["id"]: "revoked"}


def test_outside_reception_hours_the_link_says_when_it_reopens(
        container_factory, suite_config, rpc):
    start(container_factory, suite_config, SATURDAY)
    with rpc() as relay:
        point = relay.create_point(LAVERUNE, TOWN_HALL)
        assert point["open_now"] is False
        assert point["next_opening"].startswith("2026-11-30T08:30:00")  # Monday morning
        link = relay.create_link(LAVERUNE, point["id"])
        with pytest.raises(Conflict, match="30/11/2026 à 08:30"):
            relay.open_session(link["token"], {"mode": "lfpc"})


def test_only_a_subscribed_commune_has_points_and_links(container_factory, suite_config, rpc):
    start(container_factory, suite_config, TUESDAY_10H)
    with rpc() as relay:
        with pytest.raises(Forbidden, match="does not subscribe"):
            relay.create_point(GRABELS, TOWN_HALL)
        with pytest.raises(Invalid) as refused:
            relay.create_point(LAVERUNE, {**TOWN_HALL, "weekly_hours": {
                "monday": [{"start": "12:00", "end": "08:30"}]}})
        assert "weekly_hours" in refused.value.errors
        with pytest.raises(Invalid) as refused:
            relay.set_interpreter("interp-3", {"name": "Léa", "modes": ["semaphore"],
                                               "available": True})
        assert "modes" in refused.value.errors


def test_a_months_usage_counts_sessions_minutes_and_the_hours_covered(
        container_factory, suite_config, rpc):
    start(container_factory, suite_config, TUESDAY_10H)
    with rpc() as relay:
        point = relay.create_point(LAVERUNE, TOWN_HALL)
        link = relay.create_link(LAVERUNE, point["id"])
        relay.set_interpreter("interp-1", {"name": "Inès", "modes": ["lsf"], "available": True})
        answered = relay.open_session(link["token"], {"mode": "lsf"})
        relay.take_session(answered["id"], "interp-1")
        relay.connect_session(answered["id"], "interp-1")
        relay.end_session(answered["id"], "interp-1")
        relay.open_session(link["token"], {"mode": "transcription", "channel": "front_desk"})

        usage = relay.usage(LAVERUNE, {"month": "2026-11"})

    assert (usage["sessions"], usage["answered"], usage["unanswered"]) == (2, 1, 1)
    assert usage["by_mode"] == {"lsf": 1, "lfpc": 0, "transcription": 1}
    assert usage["by_channel"] == {"telephone": 1, "front_desk": 1}
    # November 2026: 21 weekdays, less Armistice Day (11th) and All Saints' (1st, a Sunday):
    # 20 days of 7 hours.
    assert usage["reception_minutes"] == 20 * 7 * 60
    assert (usage["coverage"], usage["required_share"]) == ("1.0000", "1.0000")
    with rpc() as relay:
        assert relay.usage(LAVERUNE, {"month": "2026-09"})["required_share"] == "0.5000"
        with pytest.raises(Invalid):
            relay.usage(LAVERUNE, {"month": "2026-13"})


def test_a_transcription_is_written_by_both_sides_and_deleted_at_the_end(
        container_factory, suite_config, rpc):
    start(container_factory, suite_config, TUESDAY_10H)
    with rpc() as relay:
        point = relay.create_point(LAVERUNE, TOWN_HALL)
        token = relay.create_link(LAVERUNE, point["id"])["token"]
        opened = relay.open_session(token, {"mode": "transcription", "channel": "front_desk"})
        session_id, secret = opened["id"], opened["secret"]
        assert len(secret) >= 43
        relay.set_interpreter("interp-1", {"name": "Inès", "modes": ["transcription"],
                                           "available": True})
        relay.set_interpreter("interp-2", {"name": "Paul", "modes": ["transcription"],
                                           "available": True})
        with pytest.raises(NotFound):  # a wrong secret is no session at all
            relay.person_session(token, session_id, "not-the-secret")
        with pytest.raises(Conflict, match="once it is connected"):
            relay.person_says(token, session_id, secret, {"text": "Bonjour"})
        relay.take_session(session_id, "interp-1")
        relay.connect_session(session_id, "interp-1")
        assert relay.person_session(token, session_id, secret)["status"] == "connected"

        first = relay.person_says(token, session_id, secret,
                                  {"text": "Bonjour, je voudrais un rendez-vous."})
        relay.interpreter_says(session_id, "interp-1", {"text": "Mardi à 14 h ?"})
        relay.person_says(token, session_id, secret, {"text": "Oui, merci."})
        lines = relay.interpreter_transcript(session_id, "interp-1", {})
        assert [(line["speaker"], line["text"]) for line in lines] == [
            ("person", "Bonjour, je voudrais un rendez-vous."),
            ("interpreter", "Mardi à 14 h ?"), ("person", "Oui, merci.")]
        assert [line["text"] for line in relay.person_transcript(
            token, session_id, secret, {"after": first["id"]})] == ["Mardi à 14 h ?",
                                                                    "Oui, merci."]
        with pytest.raises(NotFound):  # another interpreter reads nothing
            relay.interpreter_transcript(session_id, "interp-2", {})
        with pytest.raises(Invalid) as refused:
            relay.person_says(token, session_id, secret, {"text": ""})
        assert "text" in refused.value.errors

        ended = relay.hang_up(token, session_id, secret)
        assert (ended["status"], ended["transcript_lines"]) == ("ended", 3)
        with pytest.raises(Gone, match="deleted"):
            relay.interpreter_transcript(session_id, "interp-1", {})
        with pytest.raises(Conflict):
            relay.hang_up(token, session_id, secret)


def test_a_person_who_leaves_before_an_interpreter_came_is_unanswered(
        container_factory, suite_config, rpc):
    start(container_factory, suite_config, TUESDAY_10H)
    with rpc() as relay:
        point = relay.create_point(LAVERUNE, TOWN_HALL)
        token = relay.create_link(LAVERUNE, point["id"])["token"]
        opened = relay.open_session(token, {"mode": "lsf"})
        left = relay.hang_up(token, opened["id"], opened["secret"])
        assert left["status"] == "abandoned" and relay.queue() == []
        with pytest.raises(Conflict, match="transcription"):
            relay.person_transcript(token, opened["id"], opened["secret"], {})
        other = relay.create_link(LAVERUNE, relay.create_point(LAVERUNE, {
            **TOWN_HALL, "name": "CCAS", "kind": "ccas"})["id"])["token"]
        with pytest.raises(NotFound):  # the secret opens its session from its own link only
            relay.person_session(other, opened["id"], opened["secret"])
        usage = relay.usage(LAVERUNE, {"month": "2026-11"})
    assert (usage["sessions"], usage["answered"], usage["unanswered"]) == (1, 0, 1)


def test_a_transcription_left_idle_for_two_hours_is_closed_by_the_timer_and_its_text_deleted(
        container_factory, suite_config, rpc):
    accessibility = start(container_factory, suite_config, TUESDAY_10H)
    clock = next(d for d in accessibility.dependencies if d.attr_name == "clock").clock
    with rpc() as relay:
        point = relay.create_point(LAVERUNE, TOWN_HALL)
        token = relay.create_link(LAVERUNE, point["id"])["token"]
        opened = relay.open_session(token, {"mode": "transcription"})
        relay.set_interpreter("interp-1", {"name": "Inès", "modes": ["transcription"],
                                           "available": True})
        relay.take_session(opened["id"], "interp-1")
        relay.connect_session(opened["id"], "interp-1")
        relay.person_says(token, opened["id"], opened["secret"], {"text": "Allô ?"})

        def after_the_timer(idle_for):
            clock.set(TUESDAY_10H + idle_for)
            with entrypoint_hook(accessibility, "abandon_idle_sessions") as abandon:
                abandon()
            return relay.person_session(token, opened["id"], opened["secret"])

        assert after_the_timer(timedelta(hours=2) - timedelta(seconds=1))["status"] == "connected"
        left = after_the_timer(timedelta(hours=2) + timedelta(seconds=1))
        assert (left["status"], left["transcript_lines"], left["talk_seconds"]) == ("ended", 1, 0)
        with pytest.raises(Gone, match="deleted"):
            relay.interpreter_transcript(opened["id"], "interp-1", {})
