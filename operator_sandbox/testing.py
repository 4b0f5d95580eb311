"""The ``operator_server`` pytest fixture: a local SMS and voice operator (``operator_sandbox``)
on a free port of this machine, in a thread of the test process, fresh for each test (a plugin
the root conftest registers).

    def test_alert(operator_server):
        client = OperatorClient(operator_server.settings())
        ids = client.send_sms([{"recipient_id": 1, "to": "+33612345678", "text": "Crue"}])
        operator_server.fail("batches", "500")
        assert [m["to"] for m in operator_server.messages()] == ["+33612345678"]
        operator_server.reply("+33612345678", "OK")

A service test gives ``operator_server.alerting_config()`` to the services it starts. The test
operator delivers after 50 ms, posts its callbacks up to 4 times 50 ms apart, and a ``timeout``
fault holds a call 3 s; override ``operator_server_options`` to change any of them.
"""

import time

import pytest

from servicekit.sandbox_testing import ControlClient, serving

TEST_CREDENTIALS = {
    "OPERATOR_LOGIN": "test-service-plan",
    "OPERATOR_PASSWORD": "test-api-token-51ce",
    "OPERATOR_VOICE_KEY": "test-voice-application",
    "OPERATOR_VOICE_SECRET": "test-voice-secret-9b0d",
    "OPERATOR_SENDER": "MAIRIE",
}


class RunningOperator(ControlClient):
    def __init__(self, url, credentials, app):
        super().__init__(url, app)
        self.api_url = url
        self.credentials = dict(credentials)

    def alerting_config(self, **extra):
        """The ``OPERATOR_*`` keys of a suite config that points alerting at this operator,
        with a short wait: 2 s for an answer."""
        return {"OPERATOR_API_URL": self.api_url, **self.credentials, "OPERATOR_TIMEOUT": 2.0,
                "OPERATOR_SMS_SEGMENT_PRICE": "0.045", "OPERATOR_VOICE_MINUTE_PRICE": "0.12",
                **extra}

    def settings(self, **overrides):
        """``OperatorSettings`` of a client of this operator, as ``alerting_config``."""
        from dataclasses import replace

        from services.alerting.operator import OperatorSettings

        return replace(OperatorSettings.from_config(self.alerting_config()), **overrides)

    # -- control ---------------------------------------------------------------------------

    def fail(self, operation, fault, times=1, after_store=False, seconds=None):
        """The next ``times`` calls of ``operation`` (``batches``, ``delivery_report``,
        ``callouts``, ``callbacks``) fail with ``fault``: ``500``, ``429``, ``timeout`` (no
        answer for ``seconds``) or ``401``. ``after_store``: the call is done first."""
        return self._control("POST", "/faults", json={
            "operation": operation, "fault": fault, "times": times,
            "after_store": after_store, "seconds": seconds,
        })["fault"]

    def state(self):
        """Messages, callbacks posted (with their attempts), calls per operation, and the
        voice callback URL."""
        return self._control("GET", "/messages")

    def messages(self, **filters):
        """Every message received, oldest first; ``channel`` or ``to`` filter them."""
        return self._control("GET", "/messages", params=filters)["messages"]

    def callbacks(self):
        return self.state()["callbacks"]

    def reply(self, number, text):
        """``number`` answers the last SMS it was sent."""
        return self._control("POST", "/replies", json={"from": number, "body": text})["reply"]

    def wait_until_settled(self, count=None, timeout=5.0):
        """The messages once none (or ``count`` of them) waits for its delivery any more."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.messages()
            settled = [m for m in messages if m["settled_at"]]
            if (len(settled) == len(messages) if count is None else len(settled) >= count):
                return messages
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(settled)} of {len(messages)} messages settled")
            time.sleep(0.02)

    def close(self):
        super().close()
        self.app.close()


@pytest.fixture
def operator_server_options():
    """How the test operator behaves: quick deliveries and callback retries, every message
    delivered but for the numbers ending in 98 and 99."""
    return {"delay_seconds": 0.05, "failure_rate": 0.0, "fault_seconds": 3.0,
            "callback_attempts": 4, "callback_backoff": 0.05, "callback_timeout": 2.0}


@pytest.fixture
def operator_server(operator_server_options):
    from operator_sandbox.server import make_app

    app = make_app(TEST_CREDENTIALS, **operator_server_options)
    with serving(app, lambda url: RunningOperator(url, TEST_CREDENTIALS, app)) as running:
        yield running
