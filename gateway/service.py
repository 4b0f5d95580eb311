import time
from importlib.metadata import version

import eventlet
from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy

import servicekit.errors  # noqa: F401  (contract errors cross RPC as themselves)
from contracts.catalogue import SERVICES
from contracts.errors import Forbidden
from contracts.health import HealthReportSchema
from gateway.auth import Tokens
from gateway.http import route
from gateway.openapi import build_openapi
from gateway.routes.accessibility import AccessibilityRoutes
from gateway.routes.alerting import AlertingRoutes
from gateway.routes.billing import BillingRoutes
from gateway.routes.eadmin import EadminRoutes
from gateway.routes.eservices import EservicesRoutes
from gateway.routes.identity import IdentityRoutes
from gateway.routes.opendata import OpendataRoutes
from gateway.routes.participation import ParticipationRoutes
from gateway.routes.procurement import ProcurementRoutes
from gateway.routes.subscriptions import SubscriptionsRoutes
from gateway.routes.titles import TitleRoutes
from servicekit.logging import LoggingContext
from servicekit.rpc import call

HEALTH_TIMEOUT = 2.0


class GatewayService(IdentityRoutes, SubscriptionsRoutes, BillingRoutes, TitleRoutes,
                     EadminRoutes, OpendataRoutes, EservicesRoutes, ProcurementRoutes,
                     ParticipationRoutes, AlertingRoutes, AccessibilityRoutes):
    name = "gateway"

    config = Config()
    log_context = LoggingContext()
    tokens = Tokens()
    identity = RpcProxy("identity")
    subscriptions = RpcProxy("subscriptions")
    billing = RpcProxy("billing")
    eadmin = RpcProxy("eadmin")
    eservices = RpcProxy("eservices")
    procurement = RpcProxy("procurement")
    opendata = RpcProxy("opendata")
    participation = RpcProxy("participation")
    alerting = RpcProxy("alerting")
    accessibility = RpcProxy("accessibility")

    def rpc(self, service, method, *args, **kwargs):
        """A call to a service, with the suite's deadline."""
        timeout = kwargs.pop("timeout", None) or self.config.get("RPC_TIMEOUT", 10)
        return call(getattr(self, service), method, *args, timeout=timeout, **kwargs)

    def authenticate(self, request, roles=()):
        principal = self.tokens.principal(
            request.headers.get("Authorization"), lambda: self.rpc("identity", "public_keys")
        )
        if roles and principal.role not in roles:
            raise Forbidden("Your role may not do this.")
        return principal

    # -- operations -----------------------------------------------------------------------

    @route("GET", "/health", summary="Whether every service answers, and how fast",
           tag="operations", response=HealthReportSchema, public=True)
    def health(self, request, **_):
        pool = eventlet.GreenPool(len(SERVICES))
        statuses = dict(pool.imap(self._service_status, SERVICES))
        answered = all(status["answered"] for status in statuses.values())
        return {"status": "ok" if answered else "degraded", "services": statuses}

    def _service_status(self, service):
        started = time.perf_counter()
        try:
            self.rpc(service, "health", timeout=HEALTH_TIMEOUT)
        except Exception as error:
            return service, {"answered": False, "latency_ms": None, "detail": str(error)[:200]}
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return service, {"answered": True, "latency_ms": latency_ms, "detail": None}

    @route("GET", "/api/v1/openapi.json", summary="This document", tag="operations", public=True)
    def openapi(self, request, **_):
        return build_openapi(type(self), version("communs"))

