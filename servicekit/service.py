"""What every service of the suite has: its log context, its clock, and a health RPC."""

from nameko.rpc import rpc as nameko_rpc

import servicekit.errors  # noqa: F401  (contract errors cross RPC as themselves)
from contracts.errors import CommunsError
from servicekit.clock import ClockProvider
from servicekit.logging import LoggingContext


def rpc(fn=None, **options):
    """Nameko's ``@rpc``, with contract errors expected: they are answers to the caller
    (logged as a warning), not failures of the service (logged with a traceback)."""
    options.setdefault("expected_exceptions", CommunsError)
    return nameko_rpc(**options) if fn is None else nameko_rpc(**options)(fn)


class CommunsService:
    """Base class of the suite's services; a subclass sets ``name`` and ``db``."""

    log_context = LoggingContext()
    clock = ClockProvider()

    @rpc
    def health(self):
        """Answers when the service consumes its queue and reaches its database."""
        return {"service": self.name, "status": "ok", "database": self.db.ping()}
