"""The gateway's HTTP entrypoint and its ``route`` decorator.

``route`` declares, in one place, what a route accepts and answers: the contract schemas that
validate its body and query, the schema its answer is dumped with, who may call it. The same
declaration produces the OpenAPI document (``gateway.openapi``).

Every request gets a correlation id — the caller's ``X-Request-Id`` when it is sane, a new
one otherwise — sent back in the response and carried by Nameko to every RPC and event the
request causes, so that one grep finds its whole story.
"""

import functools
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from functools import partial

from eventlet.event import Event
from marshmallow import Schema, fields
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from contracts.communes import is_member
from contracts.errors import (
    BadRequest,
    CommunsError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from gateway.problems import problem_from_exception
from servicekit.logging import CORRELATION_ID, get_logger
from servicekit.validation import load, load_json

log = get_logger("gateway.access")

MAX_BODY_BYTES = 1024 * 1024
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
COMMUNE_PATH_PARAMETER = "insee"


def correlation_id_of(request):
    """The caller's ``X-Request-Id`` if it is a plain token; never echo arbitrary text into logs."""
    offered = request.headers.get("X-Request-Id", "")
    return offered if REQUEST_ID.match(offered) else uuid.uuid4().hex


JSON = "application/json"


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    summary: str
    tag: str
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    headers: type[Schema] | None = None
    response: type[Schema] | None = None
    many: bool = False
    status: int = 200
    public: bool = False
    roles: tuple = ()
    errors: tuple = field(default=())
    # Anything but JSON is answered as the text the method returns (an e-invoice's XML).
    media_type: str = JSON
    # Routes that take files (base64 in JSON) accept more than the suite's default.
    max_body: int = MAX_BODY_BYTES
    # A body whose every field is optional may be left out: it then reads as ``{}``.
    body_required: bool = True
    # The route's roles reach every member commune in its path: a citizen submits a request
    # to any of the 31.
    any_commune: bool = False
    # Recorded in the audit trail whoever calls it: a citizen reading or erasing their own
    # data (``gateway.audit``).
    audited: bool = False

    @property
    def openapi_path(self):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.path)

    def beyond_reach(self, principal, commune):
        """Whether this route keeps ``principal`` (None on a public route) from ``commune``."""
        return principal is not None and not (self.any_commune or principal.reaches(commune))


def log_request(request, route, response, started, correlation_id):
    log.info(
        "http.request",
        service="gateway",
        method=request.method,
        route=route,
        status=response.status_code,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        correlation_id=correlation_id,
    )


class ProblemWsgiApp(WsgiApp):
    """Nameko's WSGI app, with unknown paths and methods answered as problems too."""

    def __call__(self, environ, start_response):
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            # eventlet's server ends a chunked body itself; unless told so, werkzeug reads
            # such a body as empty (and could not hold it to MAX_BODY_BYTES).
            environ["wsgi.input_terminated"] = True
        adapter = self.url_map.bind_to_environ(environ)
        try:
            adapter.match()
        except HTTPException as error:
            started = time.perf_counter()
            request = Request(environ)
            correlation_id = correlation_id_of(request)
            response = problem_from_exception(error)
            response.headers["X-Request-Id"] = correlation_id
            log_request(request, None, response, started, correlation_id)
            return response(environ, start_response)
        return super().__call__(environ, start_response)


class ProblemWebServer(WebServer):
    def get_wsgi_app(self):
        return ProblemWsgiApp(self)


class ApiEntrypoint(HttpRequestHandler):
    server = ProblemWebServer()

    def handle_request(self, request):
        request.shallow = False
        # One byte over the limit: werkzeug refuses a longer Content-Length, but stops a
        # chunked body there without a word; the length read then tells it was too long.
        spec = getattr(getattr(self.container.service_cls, self.method_name), "__route__",
                       None)
        request.max_content_length = (spec.max_body if spec else MAX_BODY_BYTES) + 1
        started = time.perf_counter()
        correlation_id = correlation_id_of(request)
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            self.container.spawn_worker(
                self,
                args,
                kwargs,
                context_data={CORRELATION_ID: correlation_id},
                handle_result=partial(self.handle_result, done),
            )
            response = self.response_from_result(done.wait())
        except Exception as error:
            response = problem_from_exception(error)
        response.headers["X-Request-Id"] = correlation_id
        log_request(request, self.url, response, started, correlation_id)
        return response


def json_response(payload, status=200, headers=None):
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def _is_empty(request):
    """No body at all (a chunked one included); one too large is left to ``read_json_body``."""
    try:
        return not request.get_data(cache=True)
    except RequestEntityTooLarge:
        return False


def read_json_body(request, max_bytes=MAX_BODY_BYTES):
    """The request's JSON: 400 if it is not JSON, 413 if too large, 415 if sent as another type."""
    content_type = request.mimetype
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"The body is sent as {content_type}; send JSON with Content-Type: application/json."
        )
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raw = None
    if raw is None or len(raw) > max_bytes:
        raise PayloadTooLarge(f"The body exceeds {max_bytes} bytes.")
    if not raw:
        raise BadRequest("This route needs a JSON body.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"The body is not valid JSON: {error}.") from None


class NoQueryParameters(Schema):
    """What a route without a ``query`` schema accepts: nothing. A filter the route does not
    have is refused (422 naming it), never silently ignored."""


def query_arguments(schema, request):
    """The query string as the schema reads it: a ``List`` field takes every value of its
    repeated parameter (``?filter=a&filter=b``), any other the single value given."""
    lists = {field.data_key or name for name, field in schema.fields.items()
             if isinstance(field, fields.List)}
    return {key: request.args.getlist(key) if key in lists else request.args[key]
            for key in request.args}


def declared_headers(schema, request):
    """The request headers ``schema`` declares (a field's ``data_key`` is the header's name):
    every request carries others (Host, User-Agent…) that are none of the route's business."""
    names = (field.data_key or name for name, field in schema.fields.items())
    return {name: request.headers[name] for name in names if name in request.headers}


def route(method, path, *, summary, tag, body=None, query=None, headers=None, response=None,
          many=False, status=200, public=False, roles=(), errors=(), media_type=JSON,
          max_body=MAX_BODY_BYTES, body_required=True, any_commune=False, audited=False):
    """Declare a gateway route; the method receives ``(request, principal, body, query,
    headers, **path)`` — ``body`` is the validated JSON as sent, ``headers`` the request
    headers declared by the ``headers`` schema, loaded — and returns the JSON of the
    ``response`` schema (or ``(payload, response headers)``). The service has a
    ``rate_limits`` dependency (``gateway.limits.RateLimits``), and, if any of its routes is
    not public, ``authenticate`` (the request's principal) and ``audit_trail``
    (``gateway.audit.AuditTrail``), which records what such a route's requests came to."""
    spec = RouteSpec(method, path, summary, tag, body=body, query=query, headers=headers,
                     response=response, many=many, status=status, public=public,
                     roles=tuple(roles), errors=tuple(errors), media_type=media_type,
                     max_body=max_body, body_required=body_required,
                     any_commune=any_commune, audited=audited)

    def decorator(fn):
        @functools.wraps(fn)
        def serve(self, request, **path_values):
            if spec.public:
                return answer(self, request, None, path_values)
            principal = None
            commune = path_values.get(COMMUNE_PATH_PARAMETER)
            try:
                try:
                    principal = self.authenticate(request)
                except Unauthorized:
                    # Without a valid token, a caller is its address: forged tokens sprayed
                    # at the gateway are limited as anonymous calls are.
                    self.rate_limits.admit(None, request)
                    raise
                if spec.roles and principal.role not in spec.roles:
                    raise Forbidden("Your role may not do this.")
                response = answer(self, request, principal, path_values)
            except Exception as error:
                status = problem_from_exception(error).status_code
                out_of_reach = (commune is not None and is_member(commune)
                                and spec.beyond_reach(principal, commune))
                self.audit_trail.record(spec, principal, path_values, status, out_of_reach)
                raise
            self.audit_trail.record(spec, principal, path_values, response.status_code)
            return response

        def answer(self, request, principal, path_values):
            # Before anything is read or any service called: a refused request costs little
            # and changes nothing.
            self.rate_limits.admit(principal, request)
            commune = path_values.get(COMMUNE_PATH_PARAMETER)
            if commune is not None and not (
                is_member(commune) and not spec.beyond_reach(principal, commune)
            ):
                # Another commune's data does not exist for this caller: 404, never 403 —
                # the same answer as for a code that is no member commune at all.
                raise NotFound("No such commune in your reach.")
            wire_body = None
            if body:
                wire_body = ({} if not spec.body_required and _is_empty(request)
                             else read_json_body(request, spec.max_body))
            if body:
                # Checked here so a bad request never reaches a service; forwarded as sent,
                # since the wire format is the contract and the service loads it again.
                load_json(body(), wire_body)
            query_schema = (query or NoQueryParameters)()
            loaded_query = load(query_schema, query_arguments(query_schema, request))
            loaded_headers = None
            if headers:
                header_schema = headers()
                loaded_headers = load(header_schema, declared_headers(header_schema, request))
            result = fn(self, request, principal=principal, body=wire_body,
                        query=loaded_query if query else None, headers=loaded_headers,
                        **path_values)
            if isinstance(result, Response):
                # A stream (an export) the method built itself.
                return result
            response_headers = None
            if isinstance(result, tuple):
                result, response_headers = result
            if spec.media_type != JSON:
                return Response(result, status=spec.status, headers=response_headers,
                                mimetype=spec.media_type)
            # What services answer is already in its wire form, dumped with ``response``.
            return json_response(result, status=spec.status, headers=response_headers)

        serve.__route__ = spec
        return ApiEntrypoint.decorator(method, path, expected_exceptions=CommunsError)(serve)

    return decorator
