"""E-mail through a real SMTP server.

``Mailer`` speaks SMTP with the standard library's ``smtplib``: under Nameko, eventlet's
monkey-patching makes its socket green, so a sending waits without blocking the service. One
connection per message, or one for a batch (``Mailer.connection``); STARTTLS and login when
configured. The config keys
(``servicekit.config``):

    SMTP_HOST, SMTP_PORT, SMTP_SENDER, SMTP_STARTTLS, SMTP_USERNAME, SMTP_PASSWORD, SMTP_TIMEOUT

Without ``SMTP_HOST`` no mail leaves: ``Mailer.from_config`` raises ``ServiceUnavailable``
(503) naming ``COMMUNS_SMTP_HOST``, so the suite starts and every other route works.

A recipient's address is personal data: it is never logged, and neither ``MailError`` nor its
cause carries it (a refusal keeps the server's code, not its text, which often quotes the
address).
"""

import smtplib
import ssl
from contextlib import contextmanager
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from typing import NamedTuple

from contracts.errors import ServiceUnavailable
from servicekit.logging import get_logger

log = get_logger(__name__)

DEFAULT_PORT = 25
DEFAULT_TIMEOUT = 10.0
NOT_CONFIGURED = "No SMTP server is configured (COMMUNS_SMTP_HOST): no mail can be sent."


class Notice(NamedTuple):
    """A message to send: its subject and plain text."""

    subject: str
    text: str


class MailError(Exception):
    """A message did not leave. ``permanent``: the server refused it for good (5xx: a bad
    recipient, a refused sender); otherwise trying again later may work (connection, 4xx)."""

    def __init__(self, detail, code=None, permanent=False):
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.permanent = permanent


class Mailer:
    def __init__(self, host, port, sender, starttls=False, username=None, password=None,
                 timeout=DEFAULT_TIMEOUT):
        self.host = host
        self.port = int(port)
        self.sender = sender
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout = timeout

    @classmethod
    def from_config(cls, config):
        """The mailer of a suite config; ``ServiceUnavailable`` when no SMTP server is set.
        Call it when mail is about to leave, not at start: a suite without SMTP still runs."""
        host = config.get("SMTP_HOST")
        if not host:
            raise ServiceUnavailable(NOT_CONFIGURED)
        return cls(
            host,
            config.get("SMTP_PORT") or DEFAULT_PORT,
            config.get("SMTP_SENDER"),
            starttls=bool(config.get("SMTP_STARTTLS")),
            username=config.get("SMTP_USERNAME"),
            password=config.get("SMTP_PASSWORD"),
            timeout=config.get("SMTP_TIMEOUT") or DEFAULT_TIMEOUT,
        )

    def send(self, recipient, subject, text, html=None, headers=None):
        """Sends a plain-text message (with an HTML alternative when given) to ``recipient``;
        returns its Message-ID."""
        return self.send_message(_message(recipient, subject, text, html, headers))

    def send_message(self, message):
        """Sends a built message to its ``To`` recipients, from the configured sender (the
        ``From`` it lacks, with ``Date`` and ``Message-ID``); returns its Message-ID."""
        with self.connection() as connection:
            return connection.send_message(message)

    @contextmanager
    def connection(self):
        """One SMTP session for many messages (an alert campaign's thousands): ``send`` and
        ``send_message`` as the mailer's, each message refused or accepted on its own.
        ``MailError`` when no server answers; once a message met a broken connection, every
        later one raises it too (not permanent: try them again later)."""
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except smtplib.SMTPException as error:
            raise _mail_error(self, error) from None
        except OSError as error:
            raise self._unreachable(error) from None
        connection = Connection(self, smtp)
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except smtplib.SMTPException as error:
            smtp.close()
            raise _mail_error(self, error) from None
        except OSError as error:
            smtp.close()
            raise self._unreachable(error) from None
        try:
            yield connection
        finally:
            connection.close()

    def _unreachable(self, error):
        return MailError(f"No SMTP server answered at {self.host}:{self.port} "
                         f"({type(error).__name__}).")


class Connection:
    """An open SMTP session of a ``Mailer`` (``Mailer.connection``)."""

    def __init__(self, mailer, smtp):
        self._mailer = mailer
        self._smtp = smtp
        self._broken = None
        self._envelope_sender = _envelope_sender(mailer.sender)
        self._domain = _domain(mailer.sender)

    def send(self, recipient, subject, text, html=None, headers=None):
        return self.send_message(_message(recipient, subject, text, html, headers))

    def send_plain(self, recipient, subject, text, headers=None):
        """``send`` of a plain-text message to one bare address, built with the standard
        library's older (compat32) MIME classes: several times cheaper in CPU than
        ``EmailMessage``'s header parsing, which is what bounds an alert campaign's
        thousands of messages."""
        message = MIMEText(text, "plain", "utf-8")
        message["From"] = self._mailer.sender
        message["To"] = recipient
        message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self._domain)
        for name, value in (headers or {}).items():
            message[name] = value
        return self._send(message, [recipient])

    def send_message(self, message):
        mailer = self._mailer
        if message["From"] is None:
            message["From"] = mailer.sender
        if message["Date"] is None:
            message["Date"] = formatdate(localtime=True)
        if message["Message-ID"] is None:
            message["Message-ID"] = make_msgid(domain=self._domain)
        return self._send(message, [address.addr_spec for address in message["To"].addresses])

    def _send(self, message, recipients):
        mailer = self._mailer
        if self._broken is not None:
            raise self._broken
        try:
            refused = self._smtp.send_message(message, from_addr=self._envelope_sender,
                                              to_addrs=recipients)
        except smtplib.SMTPServerDisconnected as error:
            self._broken = mailer._unreachable(error)
            raise self._broken from None
        except smtplib.SMTPException as error:
            self._reset()
            raise _mail_error(mailer, error) from None
        except OSError as error:
            self._broken = mailer._unreachable(error)
            raise self._broken from None
        if refused:  # some of several recipients only: the message left for the others
            log.warning("mail partly refused", message_id=message["Message-ID"],
                        refused=len(refused))
        log.info("mail sent", message_id=message["Message-ID"])
        return message["Message-ID"]

    def _reset(self):
        """After a refused message, the session is made ready for the next (RSET)."""
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError) as error:
            self._broken = self._mailer._unreachable(error)

    def close(self):
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            self._smtp.close()


def _message(recipient, subject, text, html, headers):
    message = EmailMessage()
    message["To"] = recipient
    message["Subject"] = subject
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def _mail_error(mailer, error):
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in error.recipients.values()})
        return MailError(f"The SMTP server refused the recipient ({codes}).",
                         code=codes[0] if codes else None,
                         permanent=all(code >= 500 for code in codes))
    if isinstance(error, smtplib.SMTPNotSupportedError):  # no STARTTLS, no AUTH
        return MailError(f"The SMTP server at {mailer.host}:{mailer.port} cannot: {error}",
                         permanent=True)
    if isinstance(error, smtplib.SMTPResponseException):
        return MailError(f"The SMTP server answered {error.smtp_code}.",
                         code=error.smtp_code, permanent=error.smtp_code >= 500)
    return mailer._unreachable(error)


def _domain(sender):
    address = _envelope_sender(sender) or ""
    return address.rpartition("@")[2] or None


def _envelope_sender(sender):
    """``Mairie <convocations@laverune.fr>`` → ``convocations@laverune.fr``."""
    if not sender:
        return sender
    message = EmailMessage()
    message["From"] = sender
    return message["From"].addresses[0].addr_spec
