from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from nameko.testing.services import dummy, entrypoint_hook

from servicekit.clock import Clock, ClockProvider

PARIS = ZoneInfo("Europe/Paris")
# The deadline of Article 5 for sending the year's titles, as a Montpellier office sees it.
TITLES_DEADLINE = datetime(2024, 9, 30, 23, 59, tzinfo=PARIS)


class ClockedService:
    name = "clocked"
    clock = ClockProvider()

    @dummy
    def now(self):
        return self.clock.now()

    @dummy
    def advance(self, **delta):
        self.clock.advance(**delta)


def test_a_new_clock_follows_the_system_time_in_utc():
    before = datetime.now(UTC)
    now = Clock().now()
    assert before <= now <= datetime.now(UTC)
    assert now.tzinfo is UTC


def test_a_set_clock_stays_put_and_answers_in_utc():
    clock = Clock()
    clock.set(TITLES_DEADLINE)
    assert clock.now() == clock.now() == TITLES_DEADLINE
    assert clock.now().tzinfo is UTC
    assert clock.now().hour == 21  # 23:59 in Paris in summer time
    assert clock.today() == datetime(2024, 9, 30).date()


def test_today_is_the_date_in_paris_not_in_utc():
    late_on_30_september_in_utc = datetime(2024, 9, 30, 22, 30, tzinfo=UTC)
    assert Clock(late_on_30_september_in_utc).today() == datetime(2024, 10, 1).date()


def test_advance_moves_a_set_clock_by_a_delta_or_by_keywords():
    clock = Clock(TITLES_DEADLINE)
    clock.advance(timedelta(days=8))
    clock.advance(hours=1, minutes=1)
    assert clock.now() == TITLES_DEADLINE + timedelta(days=8, hours=1, minutes=1)


def test_advance_on_a_running_clock_freezes_it_ahead_of_the_system_time():
    clock = Clock()
    before = datetime.now(UTC)
    clock.advance(days=30)
    frozen = clock.now()
    assert before + timedelta(days=30) <= frozen <= datetime.now(UTC) + timedelta(days=30)
    assert clock.now() == frozen


def test_resume_follows_the_system_time_again():
    clock = Clock(TITLES_DEADLINE)
    clock.resume()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_clock_refuses_naive_datetimes():
    clock = Clock()
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2024, 9, 30, 23, 59))
    with pytest.raises(ValueError, match="aware"):
        Clock(datetime(2024, 9, 30, 23, 59))
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_clock_frozen_at_in_the_config_freezes_the_containers_clock(container_factory):
    container = container_factory(ClockedService, {"CLOCK_FROZEN_AT": "2024-09-30T23:59:00+02:00"})
    container.start()
    with entrypoint_hook(container, "now") as now:
        assert now() == TITLES_DEADLINE
        assert now().tzinfo is UTC


def test_a_naive_clock_frozen_at_stops_the_container_from_starting(container_factory):
    container = container_factory(ClockedService, {"CLOCK_FROZEN_AT": "2024-09-30T23:59:00"})
    with pytest.raises(ValueError, match="aware"):
        container.start()


def test_every_worker_of_a_container_shares_its_clock_and_no_other_container_does(
    container_factory,
):
    config = {"CLOCK_FROZEN_AT": TITLES_DEADLINE.isoformat()}
    moved, untouched = (container_factory(ClockedService, config) for _ in range(2))
    moved.start()
    untouched.start()
    with entrypoint_hook(moved, "advance") as advance:
        advance(days=8)
    with entrypoint_hook(moved, "now") as now:
        assert now() == TITLES_DEADLINE + timedelta(days=8)
    with entrypoint_hook(untouched, "now") as now:
        assert now() == TITLES_DEADLINE
