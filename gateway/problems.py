"""Errors as ``application/problem+json`` (RFC 9457)."""

import json

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Response

from contracts.errors import ALL_ERRORS, CommunsError, Invalid, InvalidRows, TooManyRequests

PROBLEM_TYPE_BASE = "https://communs.montpellier3m.fr/problems/"
UNEXPECTED = "The request could not be completed; the error is logged with its request id."
# One title per problem type (RFC 9457): werkzeug's "Not Found" for an unknown path is the
# same problem as the contracts' "Not found".
CONTRACT_TITLES = {error.status: error.title for error in ALL_ERRORS if error is not CommunsError}


def problem_type(title, type_name=None):
    """The URI of a problem's type: its own name, or else its title's words joined by dashes."""
    return PROBLEM_TYPE_BASE + (type_name or title.lower().replace(" ", "-"))


# Every type ``problem_from_exception`` answers with, for the OpenAPI document to list: a
# contract error's (an invalid request and a throttled one named for what they carry), a
# method the path does not have, and the unexpected error's.
PROBLEM_TYPES = sorted(
    {problem_type(error.title) for error in ALL_ERRORS
     if not issubclass(error, Invalid | TooManyRequests)}
    | {problem_type("", "invalid"), problem_type("", "too-many-requests"),
       problem_type(MethodNotAllowed().name)}
)


def problem(status, title, detail, type_name=None, **extra):
    body = {
        "type": problem_type(title, type_name),
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        mimetype="application/problem+json",
    )


def problem_from_exception(error):
    """The problem response an exception deserves; unexpected ones say nothing of inside."""
    if isinstance(error, InvalidRows):
        return problem(error.status, error.title, error.detail, "invalid", errors=error.errors,
                       rows=error.rows, error_count=error.error_count)
    if isinstance(error, Invalid):
        return problem(error.status, error.title, error.detail, "invalid", errors=error.errors)
    if isinstance(error, TooManyRequests):
        response = problem(error.status, error.title, error.detail, "too-many-requests")
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    if isinstance(error, CommunsError):
        response = problem(error.status, error.title, error.detail)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="communs"'
        return response
    if isinstance(error, HTTPException):
        title = CONTRACT_TITLES.get(error.code, error.name)
        response = problem(error.code, title, error.description)
        if error.code == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response
    return problem(500, "Internal error", UNEXPECTED)
