"""What the end-to-end tests share."""

import time


def wait_for(produce, accept, seconds=20.0, interval=0.05):
    """``produce()`` again until ``accept`` holds for it, for at most ``seconds``; its last
    value either way, for the test to assert on."""
    deadline = time.monotonic() + seconds
    while True:
        value = produce()
        if accept(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)


AGENT_PASSWORD = "a long enough secret"


def agent_of(admin_api, api, insee, username):
    """A new agent of ``insee``, created by a Metropole admin, as a logged-in client."""
    created = admin_api.post("/api/v1/accounts", json={
        "username": username, "password": AGENT_PASSWORD, "role": "commune_agent",
        "commune": insee})
    assert created.status_code == 201, created.text
    return api.as_user(username, AGENT_PASSWORD)


def assert_problem(answer, status, field=None):
    """A problem of that status, naming ``field`` among its errors when one is given."""
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    if field:
        assert field in answer.json()["errors"], answer.json()
