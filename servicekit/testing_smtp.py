"""The ``smtp_server`` pytest fixture (a plugin the root conftest registers): a real SMTP server
(aiosmtpd) on a free port of this machine, in a thread of the test process, fresh for each test,
keeping every message it accepts.

    def test_convocations(smtp_server, start_services):
        start_services(EadminService, **smtp_server.mail_config())
        ...
        (mail,) = smtp_server.wait_for(1)
        assert mail.rcpt_tos == ("ada@laverune.fr",)
        assert "Ordre du jour" in mail.text

``refuse("bob@laverune.fr")`` makes it answer 550 to that recipient. aiosmtpd runs an asyncio
loop in its thread; under ``nameko test`` (eventlet monkey-patched) that thread is green and
the loop's ``select`` yields to the hub, so services in the same process reach it as well.
"""

import email
import logging
import socket
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

import pytest

TEST_SENDER = "Conseil municipal <convocations@communs.test>"


@dataclass(frozen=True)
class ReceivedMail:
    """A message as the server accepted it: its envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple
    message: EmailMessage
    raw: bytes

    @property
    def text(self):
        """The plain-text body, decoded, with the wire's CRLF line ends read as ``\\n``."""
        body = self.message.get_body(preferencelist=("plain",)).get_content()
        return body.replace("\r\n", "\n")


class _Handler:
    def __init__(self):
        self.received = []
        self.refused = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        mail = ReceivedMail(
            envelope.mail_from,
            tuple(envelope.rcpt_tos),
            email.message_from_bytes(raw, policy=policy.default),
            raw,
        )
        self.received.append(mail)
        return "250 Message accepted for delivery"


class RunningSmtp:
    def __init__(self, host, port, handler):
        self.host = host
        self.port = port
        self._handler = handler

    @property
    def messages(self):
        """Every message accepted so far, in order."""
        return list(self._handler.received)

    def mail_config(self, **extra):
        """The ``SMTP_*`` keys of a suite config that sends through this server."""
        return {
            "SMTP_HOST": self.host,
            "SMTP_PORT": self.port,
            "SMTP_SENDER": TEST_SENDER,
            "SMTP_STARTTLS": False,
            "SMTP_USERNAME": None,
            "SMTP_PASSWORD": None,
            "SMTP_TIMEOUT": 5.0,
            **extra,
        }

    def wait_for(self, count, timeout=5.0):
        """The messages once at least ``count`` have arrived; fails after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while len(self._handler.received) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{len(self._handler.received)} message(s) arrived, not {count}")
            time.sleep(0.02)  # green under eventlet: lets the server's loop run
        return self.messages

    def refuse(self, *addresses):
        """Answers 550 to these recipients from now on."""
        self._handler.refused.update(address.lower() for address in addresses)

    def clear(self):
        self._handler.received.clear()
        self._handler.refused.clear()


def _free_port(host):
    # aiosmtpd 1.4 does not report the port the system chose for port 0: take one first.
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    # aiosmtpd narrates each session (peers, envelopes) at INFO: the messages are kept here.
    narrator = logging.getLogger("mail.log")
    level = narrator.level
    narrator.setLevel(logging.WARNING)
    handler = _Handler()
    host = "127.0.0.1"
    controller = Controller(handler, hostname=host, port=_free_port(host), ready_timeout=5)
    controller.start()
    try:
        yield RunningSmtp(host, controller.port, handler)
    finally:
        controller.stop()
        narrator.setLevel(level)
