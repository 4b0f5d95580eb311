import time
from importlib.metadata import version

import eventlet
from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from werkzeug.wrappers import Response

import servicekit.errors  # noqa: F401  (contract errors cross RPC as themselves)
from contracts.audit import AuditPageSchema, AuditQuerySchema
from contracts.catalogue import SERVICES
from contracts.errors import NotFound
from contracts.health import HealthReportSchema
from contracts.identity import METROPOLE_ADMIN
from contracts.operations import (
    DeadLettersReportSchema,
    LivenessSchema,
    ReadinessSchema,
    ReplayedDeadLetterSchema,
)
from gateway.audit import AuditTrail
from gateway.auth import Tokens
from gateway.http import json_response, route
from gateway.limits import RateLimits
from gateway.metrics import GatewayMetrics
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
from servicekit.metrics import CONTENT_TYPE, exposition
from servicekit.rpc import call

HEALTH_TIMEOUT = 2.0
# Listing dead letters reads a table in each service: a little longer than a health check.
DEAD_LETTERS_TIMEOUT = 5.0


class GatewayService(IdentityRoutes, SubscriptionsRoutes, BillingRoutes, TitleRoutes,
                     EadminRoutes, OpendataRoutes, EservicesRoutes, ProcurementRoutes,
                     ParticipationRoutes, AlertingRoutes, AccessibilityRoutes):
    name = "gateway"

    config = Config()
    log_context = LoggingContext()
    tokens = Tokens()
    rate_limits = RateLimits()
    audit_trail = AuditTrail()
    metrics = GatewayMetrics()
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
        try:
            return call(getattr(self, service), method, *args, timeout=timeout, **kwargs)
        except Exception as error:
            self.metrics.rpc_failed(service, error)
            raise

    def authenticate(self, request):
        return self.tokens.principal(
            request.headers.get("Authorization"), lambda: self.rpc("identity", "public_keys")
        )

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

    @route("GET", "/health/live", summary="The gateway's process runs", tag="operations",
           response=LivenessSchema, public=True)
    def live(self, request, **_):
        return {"service": self.name, "status": "live"}

    @route("GET", "/health/ready", summary="The gateway reaches the broker (else 503, naming "
           "what failed)", tag="operations", response=ReadinessSchema, public=True)
    def ready(self, request, **_):
        failed = self.metrics.readiness()
        answer = {"service": self.name, "status": "unready" if failed else "ready",
                  "failed": failed}
        return json_response(answer, status=503) if failed else answer

    @route("GET", "/metrics", summary="The gateway's figures, in Prometheus' text format",
           tag="operations", public=True, media_type="text/plain; version=0.0.4")
    def prometheus_metrics(self, request, **_):
        return Response(exposition(self.metrics.registry), content_type=CONTENT_TYPE)

    @route("GET", "/api/v1/ops/dead-letters", summary="The events each service's handlers "
           "gave up on, without their payload", tag="operations",
           response=DeadLettersReportSchema, roles=(METROPOLE_ADMIN,))
    def dead_letters(self, request, **_):
        pool = eventlet.GreenPool(len(SERVICES))
        services = dict(pool.imap(self._dead_letters_of, SERVICES))
        answered = all(report["answered"] for report in services.values())
        return {"status": "complete" if answered else "partial", "services": services}

    def _dead_letters_of(self, service):
        try:
            listing = self.rpc(service, "dead_letters", timeout=DEAD_LETTERS_TIMEOUT)
        except Exception as error:
            return service, {"answered": False, "total": None, "dead_letters": [],
                             "detail": str(error)[:200]}
        return service, {"answered": True, **listing, "detail": None}

    @route("POST", "/api/v1/ops/dead-letters/<service>/<int:dead_letter_id>/replay",
           summary="Delivers a dead letter's event again to the handler that gave up on it, "
           "once its cause is fixed, then deletes the letter", tag="operations",
           response=ReplayedDeadLetterSchema, status=202, roles=(METROPOLE_ADMIN,),
           errors=(404, 409))
    def replay_dead_letter(self, request, service, dead_letter_id, **_):
        if service not in SERVICES:
            raise NotFound("No such service.")
        replayed = self.rpc(service, "replay_dead_letter", dead_letter_id)
        return {"service": service, **replayed}

    @route("GET", "/api/v1/ops/audit", summary="The audit trail: privileged actions, a citizen's "
           "reads and erasures of their data, refused authentications and authorisations; the "
           "most recently recorded first", tag="operations", query=AuditQuerySchema,
           response=AuditPageSchema, roles=(METROPOLE_ADMIN,))
    def audit_entries(self, request, query, **_):
        return self.rpc("identity", "audit_trail", AuditQuerySchema().dump(query))

    @route("GET", "/api/v1/openapi.json", summary="This document", tag="operations", public=True)
    def openapi(self, request, **_):
        return build_openapi(type(self), version("communs"))

