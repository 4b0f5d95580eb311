"""The gateway's routes by owning service, as mixins of ``GatewayService``: each method is a
``route`` declaration and calls its service through ``GatewayService.rpc``."""

from contracts.identity import COMMUNE_AGENT, METROPOLE_ADMIN

# Commune-scoped routes open to both: the ``route`` declaration keeps an agent to its commune.
ADMIN_OR_AGENT = (METROPOLE_ADMIN, COMMUNE_AGENT)
