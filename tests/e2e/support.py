"""What the end-to-end tests share."""

import json
import re
import time
from urllib.parse import urlsplit

import demo
from servicekit.clock import ClockProvider
from servicekit.providers import sibling


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


def signed_up(api, smtp_server, path, person):
    """Signs ``person`` up on ``path`` (``/api/v1/citizens``, ``/api/v1/companies``), finds
    that they cannot log in yet, follows the link of the e-mail that reached the SMTP server,
    and logs in."""
    answer = api.post(path, json=person)
    assert answer.status_code == 202, answer.text
    mail = wait_for(lambda: [m for m in smtp_server.messages
                             if m.rcpt_tos == (person["email"],)], bool)[-1]
    link = urlsplit(re.search(r"https?://\S+\?token=\S+", mail.text).group(0))
    unconfirmed = api.post("/api/v1/auth/token", json={"username": person["email"],
                                                       "password": person["password"]})
    assert unconfirmed.status_code == 403, unconfirmed.text
    confirmed = api.get(f"{link.path}?{link.query}")
    assert confirmed.status_code == 200, confirmed.text
    return api.as_user(person["email"], person["password"])


def start_suite(api, start_services, smtp_server, web_config_port, extra_subscriptions=(),
                **config):
    """Every service and the gateway, mail going to ``smtp_server``, the reference convention
    registered with ``extra_subscriptions`` ((insee, application) pairs) added; returns a
    Metropole admin's client and the runner. ``config`` adds to the suite's config."""
    from conftest import ADMIN_PASSWORD, ADMIN_USERNAME
    from servicekit.cli import RUNNABLE, service_class

    runner = start_services(*(service_class(name) for name in RUNNABLE),
                            **smtp_server.mail_config(), POSTBOX_POLL_INTERVAL=0.2,
                            PUBLIC_URL=f"http://127.0.0.1:{web_config_port}", **config)
    admin = api.as_user(ADMIN_USERNAME, ADMIN_PASSWORD)
    convention = demo.convention_from(
        json.loads(demo.CONVENTION_FILE.read_text(encoding="utf-8")))
    for insee, application in extra_subscriptions:
        convention["initial_subscriptions"][insee].append(application)
    registered = admin.post("/api/v1/conventions", json=convention)
    assert registered.status_code == 201, registered.text
    return admin, runner


def clock_of(runner, service_name):
    """The clock of one service of the suite, for a test to move."""
    container = next(c for c in runner.containers if c.service_name == service_name)
    return sibling(container, ClockProvider).clock
