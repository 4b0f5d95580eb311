"""Every error reaches the caller as one kind of answer: ``application/problem+json``
(RFC 9457) with ``type``, ``title``, ``status`` and ``detail``."""

import json

import eventlet
import pytest
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as WerkzeugNotFound

from contracts.errors import (
    ALL_ERRORS,
    BadRequest,
    CommunsError,
    Conflict,
    Forbidden,
    GatewayTimeout,
    Gone,
    Invalid,
    InvalidRows,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from gateway.problems import PROBLEM_TYPE_BASE, UNEXPECTED, problem_from_exception

# What a caller is told for each contract error: written out, not read from the classes,
# so that changing a class's status or title is a visible change of the API.
PROBLEM_TABLE = {
    CommunsError: (500, "Internal error"),
    BadRequest: (400, "Bad request"),
    Unauthorized: (401, "Unauthorized"),
    Forbidden: (403, "Forbidden"),
    NotFound: (404, "Not found"),
    Conflict: (409, "Conflict"),
    Gone: (410, "Gone"),
    PayloadTooLarge: (413, "Payload too large"),
    UnsupportedMediaType: (415, "Unsupported media type"),
    Invalid: (422, "Invalid request"),
    InvalidRows: (422, "Invalid request"),
    TooManyRequests: (429, "Too many requests"),
    ServiceUnavailable: (503, "Service unavailable"),
    GatewayTimeout: (504, "Gateway timeout"),
}


def an_instance_of(error_class):
    if error_class is Invalid:
        return Invalid({"commune": ["Not one of the 31 member communes of the Metropole."]})
    if error_class is InvalidRows:
        return InvalidRows({"content": ["1 error in subventions.csv."]},
                           "The file is refused: nothing of it is published.",
                           [(3, "montant", "'12,5,0' is not a number")], 1)
    if error_class is TooManyRequests:
        return TooManyRequests("Too many failed logins; try again later.", retry_after=840)
    return error_class("What happened, for the caller.")


def body_of(response):
    return json.loads(response.get_data())


def test_the_table_covers_every_contract_error():
    assert set(PROBLEM_TABLE) == set(ALL_ERRORS)


@pytest.mark.parametrize("error_class", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_each_contract_error_is_a_problem_with_its_status_and_title(error_class):
    error = an_instance_of(error_class)
    response = problem_from_exception(error)
    status, title = PROBLEM_TABLE[error_class]
    body = body_of(response)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert body["status"] == status
    assert body["title"] == title
    assert body["detail"] == error.detail
    assert body["type"].startswith(PROBLEM_TYPE_BASE)


def test_an_invalid_request_names_each_field_and_what_is_wrong():
    body = body_of(problem_from_exception(an_instance_of(Invalid)))
    assert body["errors"] == {"commune": ["Not one of the 31 member communes of the Metropole."]}
    assert body["type"] == PROBLEM_TYPE_BASE + "invalid"


def test_too_many_requests_says_when_to_retry():
    response = problem_from_exception(TooManyRequests("Slow down.", retry_after=840))
    assert response.headers["Retry-After"] == "840"


def test_unauthorized_says_which_scheme_to_use():
    response = problem_from_exception(Unauthorized("No token."))
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="communs"'


@pytest.mark.parametrize("error_class", [e for e in ALL_ERRORS if e is not Unauthorized],
                         ids=lambda cls: cls.__name__)
def test_only_unauthorized_asks_for_credentials(error_class):
    assert "WWW-Authenticate" not in problem_from_exception(an_instance_of(error_class)).headers


def test_an_unexpected_error_tells_nothing_of_the_inside():
    response = problem_from_exception(RuntimeError("password=hunter2 at /srv/db"))
    assert response.status_code == 500
    assert body_of(response)["detail"] == UNEXPECTED
    assert b"hunter2" not in response.get_data()


def test_werkzeug_errors_share_the_titles_of_the_contract_errors():
    # One problem type, one title: an unknown path reads like any other "not found".
    body = body_of(problem_from_exception(WerkzeugNotFound()))
    assert (body["status"], body["title"]) == (404, "Not found")
    assert body["type"] == body_of(problem_from_exception(NotFound("x")))["type"]


def test_method_not_allowed_lists_the_allowed_methods():
    response = problem_from_exception(MethodNotAllowed(valid_methods=["GET", "HEAD"]))
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"


# -- over HTTP --------------------------------------------------------------------------------


def assert_problem(answer, status):
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


@pytest.mark.broker
def test_an_unknown_path_is_a_problem_with_a_request_id(gateway, api):
    answer = api.get("/api/v1/nothing-here")
    assert assert_problem(answer, 404)["title"] == "Not found"
    assert answer.headers["X-Request-Id"]


@pytest.mark.broker
@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/api/v1/me", {"GET", "HEAD", "DELETE"}),
    ("POST", "/health", {"GET", "HEAD"}),
    ("GET", "/api/v1/accounts", {"POST"}),
])
def test_a_wrong_method_is_a_problem_listing_the_allowed_ones(gateway, api, method, path,
                                                               allowed):
    answer = api.request(method, path)
    assert_problem(answer, 405)
    assert set(answer.headers["Allow"].split(", ")) == allowed


@pytest.mark.broker
def test_a_contract_error_raised_by_a_service_reaches_the_caller_as_its_problem(
        gateway, api, fake_identity, admin_headers):
    def username_taken(new_account, created_by):
        raise Conflict("This username is taken.")

    fake_identity.answers["create_account"] = username_taken
    answer = api.post("/api/v1/accounts", headers=admin_headers, json={
        "username": "agent.laverune", "password": "a long enough secret",
        "role": "commune_agent", "commune": "34134"})
    assert assert_problem(answer, 409)["detail"] == "This username is taken."


@pytest.mark.broker
def test_a_throttled_login_says_when_to_retry(gateway, api, fake_identity):
    def throttled(credentials, client_address):
        raise TooManyRequests("Too many failed logins; try again later.", retry_after=840)

    fake_identity.answers["issue_token"] = throttled
    answer = api.post("/api/v1/auth/token", json={"username": "someone", "password": "guess"})
    assert_problem(answer, 429)
    assert answer.headers["Retry-After"] == "840"


@pytest.mark.broker
def test_a_service_that_does_not_answer_in_time_is_a_504(start_gateway, api, fake_identity):
    start_gateway(RPC_TIMEOUT=0.3)
    # A service stuck far longer than the gateway's deadline.
    fake_identity.answers["issue_token"] = lambda credentials, client_address: (
        eventlet.sleep(30))
    answer = api.post("/api/v1/auth/token", json={"username": "someone", "password": "guess"},
                      timeout=10)
    assert "did not answer within 0.3 s" in assert_problem(answer, 504)["detail"]


@pytest.mark.broker
def test_an_unexpected_failure_is_a_500_that_tells_nothing_of_the_inside(
        gateway, api, fake_identity, agent_headers):
    def broken(kind, principal_id):
        raise RuntimeError("password=hunter2 at /srv/db")

    fake_identity.answers["get_principal"] = broken
    answer = api.get("/api/v1/me", headers=agent_headers)
    assert assert_problem(answer, 500)["detail"] == UNEXPECTED
    assert "hunter2" not in answer.text


def test_a_refused_file_lists_its_rows_errors():
    body = body_of(problem_from_exception(an_instance_of(InvalidRows)))
    assert body["errors"] == {"content": ["1 error in subventions.csv."]}
    assert body["rows"] == [{"row": 3, "column": "montant",
                             "reason": "'12,5,0' is not a number"}]
    assert body["error_count"] == 1
