"""Errors that services raise over RPC and the gateway turns into HTTP problems.

    CommunsError
    ├── BadRequest            400  the request itself is unreadable (malformed JSON…)
    ├── Unauthorized          401  no valid credentials or token
    ├── Forbidden             403  authenticated, but the role may not do this
    ├── NotFound              404  absent, or outside the caller's commune
    ├── Conflict              409  contradicts the current state (duplicate username…)
    ├── PayloadTooLarge       413
    ├── UnsupportedMediaType  415  the body is not sent as JSON
    ├── Invalid               422  fields fail validation; ``errors`` maps field → messages
    │   └── InvalidRows       422  a file's rows fail their schema; ``rows``: row, column, reason
    ├── TooManyRequests       429  throttled; ``retry_after`` in seconds
    └── ServiceUnavailable    503  not there for now: a stopped service, a database, no SMTP…
        └── GatewayTimeout    504  a running service did not answer within the deadline

Each class is registered with Nameko's exception registry by the toolkit
(``servicekit.errors``), so a service's ``NotFound`` arrives in the gateway as this very
class, whatever module raised it. Arguments are JSON-safe because they cross the bus; a detail never
carries a citizen's personal data, because it is logged.
"""


class CommunsError(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail=None):
        self.detail = detail or self.title
        super().__init__(self.detail)


class BadRequest(CommunsError):
    status = 400
    title = "Bad request"


class Unauthorized(CommunsError):
    status = 401
    title = "Unauthorized"


class Forbidden(CommunsError):
    status = 403
    title = "Forbidden"


class NotFound(CommunsError):
    status = 404
    title = "Not found"


class Conflict(CommunsError):
    status = 409
    title = "Conflict"


class Gone(CommunsError):
    """What was here is no more, for good (a rotated or revoked link); the detail says where to
    go instead."""

    status = 410
    title = "Gone"


class PayloadTooLarge(CommunsError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(CommunsError):
    status = 415
    title = "Unsupported media type"


class Invalid(CommunsError):
    status = 422
    title = "Invalid request"

    def __init__(self, errors, detail=None):
        self.errors = errors
        self.detail = detail or "Some fields are invalid: " + ", ".join(sorted(errors))
        Exception.__init__(self, errors, self.detail)


class InvalidRows(Invalid):
    """An uploaded table refused whole: ``errors`` names the field that carried the file,
    ``rows`` lists the first errors found (row number as a spreadsheet shows it, the header
    being row 1; the column, or None for the whole row; the reason) and ``error_count`` says
    how many there were in all."""

    def __init__(self, errors, detail, rows, error_count):
        self.errors = errors
        self.detail = detail
        # Nameko carries every argument as text: row numbers and the count come back as
        # strings, a missing column as "None".
        self.rows = [
            {"row": int(row), "column": None if column in (None, "None") else column,
             "reason": reason}
            for row, column, reason in rows
        ]
        self.error_count = int(error_count)
        Exception.__init__(self, errors, detail,
                           [[r["row"], r["column"], r["reason"]] for r in self.rows],
                           self.error_count)


class TooManyRequests(CommunsError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail=None, retry_after=60):
        self.detail = detail or self.title
        # int() because Nameko turns every non-string argument into text on the wire.
        self.retry_after = int(retry_after)
        Exception.__init__(self, self.detail, self.retry_after)


class ServiceUnavailable(CommunsError):
    status = 503
    title = "Service unavailable"


class GatewayTimeout(ServiceUnavailable):
    """The service runs but did not answer in time (slow or hung): unlike a stopped one, it
    may have done what was asked. A kind of unavailability: what retries or counts those
    (an event redelivered, the gateway's metrics) treats it the same."""

    status = 504
    title = "Gateway timeout"


ALL_ERRORS = (
    CommunsError,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Gone,
    PayloadTooLarge,
    UnsupportedMediaType,
    Invalid,
    InvalidRows,
    TooManyRequests,
    ServiceUnavailable,
    GatewayTimeout,
)
