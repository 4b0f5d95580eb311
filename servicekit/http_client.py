"""What the suite's clients of outside HTTP APIs share (billing's ``ChorusProClient``,
e-administration's ``PrefectureClient``): calls retried on what leaves unknown whether they were
done (a 5xx or 429, a timeout, a broken connection), backing off exponentially, ``attempts``
calls in all; and every call handed to ``record`` as an ``Exchange``, its secrets elided and its
files summed up. What is asked and how the answers read is each client's own.
"""

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

ELIDED = "***"
TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Exchange:
    """One HTTP call and its answer, as a service keeps it against what the call was about
    (billing's document, e-administration's act)."""

    operation: str
    method: str
    url: str
    status: int | None
    request: dict
    response: dict | list | str | None
    error: str | None
    started_at: datetime
    duration_ms: int


class Transient(Exception):
    """A failure after which the call may be made again."""


def file_summary(content):
    """A file as it is recorded: its size and SHA-256."""
    return {"size": len(content), "sha256": hashlib.sha256(content).hexdigest()}


class RetryingClient:
    """``settings`` has ``timeout``, ``attempts`` and ``backoff``. A subclass names its
    ``error`` (a call that cannot be made) and ``unavailable`` (every attempt failed)
    exceptions, and may read (``_read``) and scrub (``_scrub``) what is recorded."""

    error = Exception
    unavailable = Exception

    def __init__(self, settings, record=lambda exchange: None, http=None, sleep=time.sleep):
        self.settings = settings
        self.record = record
        self.http = http or requests.Session()
        self.sleep = sleep

    def _retried(self, call, operation):
        """``call()``, made again after each ``Transient`` failure, ``attempts`` times in all."""
        failure = None
        for attempt in range(1, self.settings.attempts + 1):
            try:
                return call()
            except Transient as error:
                failure = error
                self._back_off(attempt)
        raise self._gave_up(operation, failure)

    def _back_off(self, attempt):
        if attempt < self.settings.attempts:
            self.sleep(self.settings.backoff * 2 ** (attempt - 1))

    def _gave_up(self, operation, failure):
        return self.unavailable(f"{operation}: {failure} ({self.settings.attempts} attempts)")

    def _exchange(self, operation, method, url, request, send):
        """``send()``'s response, recorded; a 5xx or 429, a timeout or a broken connection as
        ``Transient``."""
        started_at = datetime.now(UTC)
        began = time.perf_counter()
        status = answer = error = None
        try:
            response = send()
            status = response.status_code
            answer = self._read(response)
            if status >= 500 or status == 429:
                error = f"HTTP {status}"
                raise Transient(f"HTTP {status} from {operation}")
            return response
        except requests.Timeout as failure:
            error = f"no answer within {self.settings.timeout} s"
            raise Transient(f"{operation}: {error}") from failure
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as failure:
            error = f"connection failed: {type(failure).__name__}"
            raise Transient(f"{operation}: {error}") from failure
        except requests.RequestException as failure:
            error = f"{type(failure).__name__}: {failure}"
            raise self.error(f"{operation}: {error}") from failure
        finally:
            self.record(Exchange(
                operation=operation,
                method=method,
                url=url,
                status=status,
                request=self._scrub(request),
                response=self._scrub(answer),
                error=self._scrub(error),
                started_at=started_at,
                duration_ms=round((time.perf_counter() - began) * 1000),
            ))

    def _read(self, response):
        """What is recorded of an answer."""
        return response.text[:TEXT_LIMIT]

    def _scrub(self, value):
        """``value`` without a secret."""
        return value
