"""The time every rule is computed at, which tests can set.

Deadlines of the agreement (30 September, 8 *jours francs*, one month) are computed from
``clock.now()``; a test freezes or moves it instead of waiting or patching ``datetime``.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from nameko.extensions import DependencyProvider

LEGAL_TIME_ZONE = ZoneInfo("Europe/Paris")


class Clock:
    def __init__(self, frozen_at=None):
        self._frozen_at = None
        if frozen_at is not None:
            self.set(frozen_at)

    def now(self):
        """An aware datetime in UTC."""
        return self._frozen_at or datetime.now(UTC)

    def today(self):
        """The date in France: the agreement's days (30 September, 1 January) are local days."""
        return self.now().astimezone(LEGAL_TIME_ZONE).date()

    def set(self, moment):
        if moment.tzinfo is None:
            raise ValueError("the clock keeps aware datetimes")
        self._frozen_at = moment.astimezone(UTC)

    def advance(self, delta=None, **kwargs):
        self.set(self.now() + (delta or timedelta(**kwargs)))

    def resume(self):
        """Follow the system time again."""
        self._frozen_at = None


class ClockProvider(DependencyProvider):
    """One clock per service container; ``CLOCK_FROZEN_AT`` (ISO 8601) freezes it."""

    def setup(self):
        frozen_at = self.container.config.get("CLOCK_FROZEN_AT")
        self.clock = Clock(datetime.fromisoformat(frozen_at) if frozen_at else None)

    def get_dependency(self, worker_ctx):
        return self.clock
