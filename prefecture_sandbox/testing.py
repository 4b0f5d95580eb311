"""The ``prefecture_sandbox`` pytest fixture (a plugin the root conftest registers): a local
prefecture on a free port of this machine, in a thread of the test process, fresh for each test.

    def test_transmission(prefecture_sandbox):
        client = PrefectureClient(prefecture_sandbox.settings())
        transaction_id = client.post_act(transmission)
        prefecture_sandbox.set_status(transmission.identifier, 4, at="2022-03-02")
        prefecture_sandbox.send_message(transmission.identifier, "3-1", text="Pièce manquante")
        prefecture_sandbox.fail("actes_transac_submit", "500", after_store=True)
        prefecture_sandbox.answer_pes(accepted=False, errors=["Bordereau déséquilibré"])

A service test gives ``prefecture_sandbox.eadmin_config()`` to the services it starts. Time
does not move the test sandbox's acts (``set_status`` does), and a ``timeout`` fault holds a
call 3 s, longer than the clients' timeout; override ``prefecture_sandbox_options`` to change
either.
"""

from dataclasses import replace

import pytest

from servicekit.sandbox_testing import ControlClient, serving

TEST_ACCOUNT = ("test-commune", "test-prefecture-password-5e1d")


class RunningSandbox(ControlClient):
    def __init__(self, url, app):
        super().__init__(url, app)
        self.login, self.password = TEST_ACCOUNT

    def eadmin_config(self, **extra):
        """The ``PREFECTURE_*`` keys of a suite config that points e-administration at this
        sandbox, with short waits: 1 s for an answer, 10 ms of backoff."""
        return {
            "PREFECTURE_URL": self.url,
            "PREFECTURE_LOGIN": self.login,
            "PREFECTURE_PASSWORD": self.password,
            "PREFECTURE_TIMEOUT": 1.0,
            "PREFECTURE_ATTEMPTS": 3,
            "PREFECTURE_BACKOFF": 0.01,
            **extra,
        }

    def settings(self, **overrides):
        """``PrefectureSettings`` of a client of this sandbox, as ``eadmin_config``."""
        from services.eadmin.transmission import PrefectureSettings

        return replace(PrefectureSettings.from_config(self.eadmin_config()), **overrides)

    # -- control ---------------------------------------------------------------------------

    def fail(self, operation, fault, times=1, after_store=False, seconds=None):
        """The next ``times`` calls of ``operation`` (``actes_transac_submit``,
        ``actes_transac_get_status``, ``helios_importer_fichier``…) fail with ``fault``:
        ``500`` or ``timeout`` (no answer for ``seconds``). ``after_store``: the call is done
        first, then fails."""
        return self._control("POST", "/faults", json={
            "operation": operation, "fault": fault, "times": times,
            "after_store": after_store, "seconds": seconds})["fault"]

    def set_status(self, identifier, status, at=None, reason=None):
        """Moves the act ``identifier`` to S2LOW's ``status`` (4: acknowledged, with an AR of
        ``at``'s date; -1 or 6 with ``reason``); time no longer moves it afterwards."""
        return self._control("POST", f"/acts/{identifier}/status", json={
            "status": status, "at": _iso(at), "reason": reason})["act"]

    def send_message(self, identifier, type, text=None, at=None):
        """The prefecture writes about the act: ``2-1`` courrier simple, ``3-1`` demande de
        pièces, ``4-1`` lettre d'observations, ``5-1`` déféré, ``6-2`` AR d'annulation."""
        return self._control("POST", f"/acts/{identifier}/messages", json={
            "type": type, "text": text, "at": _iso(at)})

    def answer_pes(self, accepted=True, errors=()):
        """How the accountant answers the next PES: ACK, or NACK with ``errors``."""
        return self._control("POST", "/pes/acquit",
                             json={"accepted": accepted, "errors": list(errors)})

    def state(self):
        """Acts, messages, replies, PES, posts per identifier, refused archives, calls."""
        return self._control("GET", "/state")

    def acts(self):
        return self.state()["acts"]


def _iso(moment):
    return moment.isoformat() if hasattr(moment, "isoformat") else moment


@pytest.fixture
def prefecture_sandbox_options():
    """How the test sandbox behaves: acts move only when told (``step_seconds`` None), a PES is
    answered at once, a ``timeout`` fault holds the call 3 s."""
    return {"step_seconds": None, "fault_seconds": 3.0}


@pytest.fixture
def prefecture_sandbox(prefecture_sandbox_options):
    from prefecture_sandbox.server import make_app

    login, password = TEST_ACCOUNT
    app = make_app({"PREFECTURE_LOGIN": login, "PREFECTURE_PASSWORD": password},
                   **prefecture_sandbox_options)
    with serving(app, lambda url: RunningSandbox(url, app)) as running:
        yield running
