"""Nameko's timer with its interval read from the container's config when the service starts,
so that a deployment or a test sets it without touching the service's code."""

from nameko.timer import Timer


class ConfiguredTimer(Timer):
    def __init__(self, config_key, default, **kwargs):
        self.config_key = config_key
        self.default = default
        super().__init__(interval=default, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key) or self.default)


timer = ConfiguredTimer.decorator
