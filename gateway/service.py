import time
from importlib.metadata import version

import eventlet
from marshmallow import Schema, fields, validate
from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy

import servicekit.errors  # noqa: F401  (contract errors cross RPC as themselves)
from contracts.catalogue import SERVICES
from contracts.errors import Forbidden
from contracts.health import HealthReportSchema
from contracts.identity import (
    METROPOLE_ADMIN,
    AccountSchema,
    IssuedApiClientSchema,
    JwksSchema,
    LoginEventSchema,
    NewAccountSchema,
    NewApiClientSchema,
    PrincipalSchema,
    TokenRequestSchema,
    TokenSchema,
)
from gateway.auth import Tokens
from gateway.http import route
from gateway.openapi import build_openapi
from gateway.routes.billing import BillingRoutes
from gateway.routes.eadmin import EadminRoutes
from gateway.routes.opendata import OpendataRoutes
from gateway.routes.subscriptions import SubscriptionsRoutes
from gateway.routes.titles import TitleRoutes
from servicekit.logging import LoggingContext
from servicekit.rpc import call

HEALTH_TIMEOUT = 2.0


class LoginEventsQuerySchema(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class GatewayService(SubscriptionsRoutes, BillingRoutes, TitleRoutes, EadminRoutes,
                     OpendataRoutes):
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

    # -- identity -------------------------------------------------------------------------

    @route("POST", "/api/v1/auth/token", summary="Exchange credentials for an access token",
           tag="identity", body=TokenRequestSchema, response=TokenSchema, public=True,
           errors=(401, 429))
    def issue_token(self, request, body, **_):
        return self.rpc("identity", "issue_token", body)

    @route("GET", "/.well-known/jwks.json", summary="Public keys that verify access tokens",
           tag="identity", response=JwksSchema, public=True)
    def jwks(self, request, **_):
        return self.rpc("identity", "public_keys")

    @route("GET", "/api/v1/me", summary="Who the token speaks for", tag="identity",
           response=PrincipalSchema)
    def me(self, request, principal, **_):
        return self.rpc("identity", "get_principal", principal.kind, principal.id)

    @route("POST", "/api/v1/accounts", summary="Create an account (Metropole admins)",
           tag="identity", body=NewAccountSchema, response=AccountSchema, status=201,
           roles=(METROPOLE_ADMIN,), errors=(409,))
    def create_account(self, request, principal, body, **_):
        account = self.rpc("identity", "create_account", body, created_by=principal.id)
        return account, {"Location": f"/api/v1/accounts/{account['id']}"}

    @route("POST", "/api/v1/api-clients",
           summary="Create an API client for a commune's system (Metropole admins)",
           tag="identity", body=NewApiClientSchema, response=IssuedApiClientSchema,
           status=201, roles=(METROPOLE_ADMIN,))
    def create_api_client(self, request, principal, body, **_):
        return self.rpc("identity", "create_api_client", body, created_by=principal.id)

    @route("GET", "/api/v1/communes/<insee>/accounts", summary="The accounts of a commune",
           tag="identity", response=AccountSchema, many=True)
    def commune_accounts(self, request, insee, **_):
        return self.rpc("identity", "accounts_of_commune", insee)

    @route("GET", "/api/v1/audit/logins", summary="Recent login attempts (Metropole admins)",
           tag="identity", query=LoginEventsQuerySchema, response=LoginEventSchema, many=True,
           roles=(METROPOLE_ADMIN,))
    def login_audit(self, request, query, **_):
        return self.rpc("identity", "login_events", query["limit"])

