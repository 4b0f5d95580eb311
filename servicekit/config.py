"""Configuration from the environment, with embedded defaults that run on one machine.

| variable | default | meaning |
|---|---|---|
| ``AMQP_URI`` | ``amqp://guest:guest@127.0.0.1:5672/`` | the RabbitMQ broker and vhost |
| ``RABBIT_API_URI`` | the broker's host, port 15672, the same account | its management API, where ``communs topology`` sets the ``communs-unrouted`` policy |
| ``COMMUNS_DATA_DIR`` | ``./var`` | every byte of state: databases, logs, pid files |
| ``COMMUNS_DATABASE_URL`` | a SQLite file per service under the data dir | a URL; ``{service}`` in it is replaced by the service's name |
| ``<SERVICE>_DATABASE_URL`` | | overrides the URL of one service (``IDENTITY_DATABASE_URL``) |
| ``COMMUNS_HTTP_ADDRESS`` | ``127.0.0.1:8000`` | where the gateway listens (its ``/metrics`` and ``/health/*`` too) |
| ``COMMUNS_OPS_HOST`` | ``127.0.0.1`` | where every service's operations endpoint listens (``0.0.0.0`` for a scraper in another container) |
| ``COMMUNS_<SERVICE>_OPS_ADDRESS`` | ``<ops host>:91xx`` | one service's operations endpoint (``COMMUNS_IDENTITY_OPS_ADDRESS``): ``/health/live``, ``/health/ready``, ``/metrics``; ports below |
| ``COMMUNS_LOG_FORMAT`` | ``json`` off a terminal, ``console`` on one | |
| ``COMMUNS_LOG_LEVEL`` | ``INFO`` | |
| ``COMMUNS_ADMIN_USERNAME`` / ``COMMUNS_ADMIN_PASSWORD`` | | the first Metropole admin, created at first start |
| ``COMMUNS_RPC_TIMEOUT`` | ``10`` | seconds the gateway waits for a service |
| ``COMMUNS_RATE_LIMIT`` | ``1000`` | requests a second each caller of the gateway is allowed, on average: a token's principal, or an address (REMOTE_ADDR; an IPv6 /64) on public routes; one more is a 429 with ``Retry-After`` (``gateway/limits.py``) |
| ``COMMUNS_RATE_BURST`` | ``2000`` | requests a caller may send at once before ``COMMUNS_RATE_LIMIT`` holds it back |
| ``COMMUNS_TRUSTED_PROXIES`` | none | the reverse proxies in front of the gateway, comma-separated networks (``10.0.0.0/8, 2001:db8::/64``; an address alone is one host): a request from one of them counts as the client's it names in ``X-Forwarded-For`` (the right-most entry that is no trusted proxy), for the rate limit and the login lock by address; from any other peer that header is ignored |
| ``COMMUNS_HEARTBEAT`` | ``60`` | AMQP heartbeat of consumer connections, in seconds |
| ``COMMUNS_MIGRATE_ON_START`` | ``true`` | a service migrates its database when it starts; ``false`` where a one-shot ``communs migrate`` job does it |
| ``COMMUNS_METROPOLE_SIRET`` | | the Metropole's SIRET, the seller (BT-29) of every title; set it in production |
| ``COMMUNS_BILLING_ROUND_SECONDS`` | ``30`` | how often billing deposits, follows Chorus Pro and lets deadlines pass |
| ``COMMUNS_CHORUS_API_URL`` | the sandbox's | Chorus Pro on PISTE, where billing deposits |
| ``COMMUNS_CHORUS_TOKEN_URL`` | from the API URL | PISTE's OAuth token endpoint |
| ``COMMUNS_CHORUS_CLIENT_ID`` / ``_CLIENT_SECRET`` | the sandbox's | the PISTE application |
| ``COMMUNS_CHORUS_LOGIN`` / ``_PASSWORD`` | the sandbox's | Chorus Pro's technical account |
| ``COMMUNS_CHORUS_TIMEOUT`` | ``10`` | seconds billing waits for a Chorus Pro answer |
| ``COMMUNS_CHORUS_SANDBOX`` | ``true`` without an API URL | ``communs run`` starts the sandbox |
| ``COMMUNS_CHORUS_SANDBOX_ADDRESS`` | ``127.0.0.1:8090`` | where the sandbox listens |
| ``COMMUNS_CHORUS_SANDBOX_STEP_SECONDS`` | ``2`` | seconds between two statuses of its invoices |
| ``COMMUNS_PUBLIC_URL`` | ``http://`` + the HTTP address | the gateway's address as the public reaches it: the tokens' issuer (identity and the gateway must agree), links in e-mails and the open data catalogue start with it |
| ``COMMUNS_PROCUREMENT_SEAL_KEY`` | a key file under the data dir | base64 of 32 bytes: the master key that wraps each consultation's private key (bids sealed until the deadline); keep it as safe as the database, and never lose it |
| ``COMMUNS_PARTICIPATION_ROUND_SECONDS`` | ``60`` | how often participation closes the processes whose voting has ended |
| ``COMMUNS_ESERVICES_ROUND_SECONDS`` | ``3600`` | how often online services sends the accusés de réception due and deletes what is past its retention |
| ``COMMUNS_EADMIN_ROUND_SECONDS`` | ``30`` | how often e-administration asks the prefecture where its acts and PES are |
| ``COMMUNS_EADMIN_ARCHIVAL_AGENCY`` | ``FRAD034`` | the archives service named in the SEDA packages of archived acts |
| ``COMMUNS_PREFECTURE_URL`` | the sandbox's | the S2LOW-like platform e-administration posts to |
| ``COMMUNS_PREFECTURE_LOGIN`` / ``_PASSWORD`` | the sandbox's | its account (HTTP Basic) |
| ``COMMUNS_PREFECTURE_TIMEOUT`` | ``10`` | seconds e-administration waits for an answer |
| ``COMMUNS_PREFECTURE_SANDBOX`` | ``true`` without a URL | ``communs run`` starts the sandbox |
| ``COMMUNS_PREFECTURE_SANDBOX_ADDRESS`` | ``127.0.0.1:8091`` | where it listens |
| ``COMMUNS_PREFECTURE_SANDBOX_STEP_SECONDS`` | ``2`` | seconds between two statuses of its acts |
| ``COMMUNS_OPERATOR_API_URL`` | the sandbox's | the SMS operator's REST API (Sinch's SMS API, ``https://eu.sms.api.sinch.com``), where alerting sends its SMS batches |
| ``COMMUNS_OPERATOR_LOGIN`` / ``_PASSWORD`` | the sandbox's | the SMS account: its service plan id, and its API token (``Authorization: Bearer``) |
| ``COMMUNS_OPERATOR_VOICE_URL`` | from the API URL | the operator's voice (text-to-speech callout) API: Sinch's ``https://calling.api.sinch.com`` for Sinch's SMS hosts, the API URL elsewhere |
| ``COMMUNS_OPERATOR_VOICE_KEY`` / ``_VOICE_SECRET`` | the sandbox's | the voice application's key and secret (HTTP Basic) |
| ``COMMUNS_OPERATOR_SENDER`` | ``TELEALERTE`` | the SMS sender name (up to 11 letters and digits) or number the operator registered for the Metropole |
| ``COMMUNS_OPERATOR_VOICE_CLI`` | | the number shown to the people called (E.164); unset, the operator's |
| ``COMMUNS_OPERATOR_CALLBACK_URL`` | the gateway's ``/api/v1/alerting/operator-callbacks`` | where the operator posts delivery receipts, replies and calls' ends; a secret token is added to its path |
| ``COMMUNS_OPERATOR_CALLBACK_TOKEN`` | derived from the API token | that secret; every alerting replica must agree on it |
| ``COMMUNS_ALERTING_RETRY_SECONDS`` | ``300`` | the wait before a message that failed for a while (out of reach, busy, no answer) is tried again, three tries in all |
| ``COMMUNS_ALERTING_RECEIPT_WAIT`` | ``600`` | seconds without a receipt after which alerting reads an SMS's status from the operator |
| ``COMMUNS_ALERTING_DISPATCH_INTERVAL`` | ``1`` | seconds between the dispatcher's rounds when nothing wakes it |
| ``COMMUNS_OPERATOR_TIMEOUT`` | ``10`` | seconds alerting waits for an operator's answer |
| ``COMMUNS_OPERATOR_SMS_SEGMENT_PRICE`` | ``0.045`` | euros per SMS segment (160 GSM characters, 70 otherwise; 153 and 67 once split), a decimal |
| ``COMMUNS_OPERATOR_VOICE_MINUTE_PRICE`` | ``0.12`` | euros per started minute of an answered call, a decimal |
| ``COMMUNS_OPERATOR_SANDBOX`` | ``true`` without an API URL | ``communs run`` starts the local operator (``operator_sandbox``) |
| ``COMMUNS_OPERATOR_SANDBOX_ADDRESS`` | ``127.0.0.1:8092`` | where it listens |
| ``COMMUNS_OPERATOR_SANDBOX_DELAY_SECONDS`` | ``2`` | seconds before it delivers a message and posts its receipt |
| ``COMMUNS_OPERATOR_SANDBOX_FAILURE_RATE`` | ``0`` | the share (0 to 1) of its messages that fail, temporarily; numbers ending in 99 always fail for good, in 98 for a while |
| ``COMMUNS_SMTP_HOST`` | | the SMTP server convocations leave through; unset: none leaves (below) |
| ``COMMUNS_SMTP_PORT`` | ``25`` | ``587`` for a submission server with STARTTLS |
| ``COMMUNS_SMTP_SENDER`` | ``communs@localhost`` | the ``From`` of every message; set it |
| ``COMMUNS_SMTP_STARTTLS`` | ``false`` | STARTTLS, the server's certificate checked |
| ``COMMUNS_SMTP_USERNAME`` / ``_PASSWORD`` | | login, when the server asks for one |
| ``COMMUNS_SMTP_TIMEOUT`` | ``10`` | seconds e-administration waits for the SMTP server |

Each service answers ``GET /health/live``, ``GET /health/ready`` and ``GET /metrics`` on a
port of its own, so that they still can when ``communs run`` hosts them all in one process:
identity 9101, subscriptions 9102, billing 9103, eadmin 9104, eservices 9105, procurement 9106,
opendata 9107, participation 9108, alerting 9109, accessibility 9110 (``OPS_PORTS``, the order
of ``contracts.catalogue.SERVICES``). A port already taken is replaced by a free one, and the
log line ``ops.started`` says where (``servicekit/ops.py``).

Billing deposits its titles on the sandbox, a local Chorus Pro (``chorus_sandbox``), until
``COMMUNS_CHORUS_API_URL`` names a real one: ``https://api.piste.gouv.fr`` in production,
``https://sandbox-api.piste.gouv.fr`` for PISTE's qualification platform (also what billing calls
with ``COMMUNS_CHORUS_SANDBOX=false`` and no URL). The token URL is PISTE's own for those two,
the API URL + ``/api/oauth/token`` elsewhere; unset credentials are the sandbox's test ones.
``communs run`` takes a free port when the sandbox's address is busy.

E-administration transmits acts and PES to the local prefecture (``prefecture_sandbox``) until
``COMMUNS_PREFECTURE_URL`` names the operator's platform (an S2LOW, with the account it gave the
Metropole); unset credentials are the sandbox's. It too moves to a free port when its address is
busy.

Alerting sends its SMS and voice calls through the local operator (``operator_sandbox``, which
speaks Sinch's SMS and voice APIs) until ``COMMUNS_OPERATOR_API_URL`` names a real one; unset
credentials are the sandbox's, and the sandbox accepts ``COMMUNS_OPERATOR_SENDER`` as its only
sender. Prices are decimal strings, refused at start when they are not a number of euros.

Without ``COMMUNS_SMTP_HOST`` the suite starts and runs as usual, but no mail leaves:
sending a session's convocations is refused with a 503 problem naming ``COMMUNS_SMTP_HOST``,
before anything is recorded (``services/eadmin/mail.py``). ``communs run`` starts no mail server
of its own; a local one that prints what it receives is one command away (aiosmtpd, from the
test extras): ``python -m aiosmtpd -n -l 127.0.0.1:8025`` with ``COMMUNS_SMTP_HOST=127.0.0.1``
and ``COMMUNS_SMTP_PORT=8025``.
"""

import ipaddress
import math
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path

from contracts.catalogue import SERVICES

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_HTTP_ADDRESS = "127.0.0.1:8000"
DEFAULT_OPS_HOST = "127.0.0.1"
DEFAULT_CHORUS_SANDBOX_ADDRESS = "127.0.0.1:8090"
DEFAULT_PREFECTURE_SANDBOX_ADDRESS = "127.0.0.1:8091"
DEFAULT_OPERATOR_SANDBOX_ADDRESS = "127.0.0.1:8092"
DEFAULT_OPERATOR_SENDER = "TELEALERTE"
DEFAULT_SMS_SEGMENT_PRICE = "0.045"
DEFAULT_VOICE_MINUTE_PRICE = "0.12"
DEFAULT_SMTP_SENDER = "communs@localhost"
# Far above what one client does (the bench's 64 clients on one token send about 500 a
# second): the limit stops floods, not users.
DEFAULT_RATE_LIMIT = 1000.0
DEFAULT_RATE_BURST = 2000
# The local Chorus Pro's test client and account (chorus_sandbox): they open nothing else.
CHORUS_SANDBOX_CREDENTIALS = {
    "CHORUS_CLIENT_ID": "communs-sandbox",
    "CHORUS_CLIENT_SECRET": "sandbox-client-secret",
    "CHORUS_LOGIN": "TECH_1_communs@cpro.fr",
    "CHORUS_PASSWORD": "sandbox-technical-password",
}
# The local prefecture's account (prefecture_sandbox): it opens nothing else.
PREFECTURE_SANDBOX_CREDENTIALS = {
    "PREFECTURE_LOGIN": "communs-sandbox",
    "PREFECTURE_PASSWORD": "sandbox-prefecture-password",
}

# The local SMS and voice operator's accounts (operator_sandbox): they open nothing else.
OPERATOR_SANDBOX_CREDENTIALS = {
    "OPERATOR_LOGIN": "communs-sandbox-plan",
    "OPERATOR_PASSWORD": "sandbox-operator-token",
    "OPERATOR_VOICE_KEY": "communs-sandbox-voice",
    "OPERATOR_VOICE_SECRET": "sandbox-voice-secret",
}


# Each service's operations endpoint (servicekit.ops): 9101… in the order of the catalogue.
OPS_PORTS = {service: 9101 + position for position, service in enumerate(SERVICES)}


def ops_addresses(environ):
    """Where each service's operations endpoint listens: its own setting, or the common host
    with the service's fixed port."""
    host = environ.get("COMMUNS_OPS_HOST") or DEFAULT_OPS_HOST
    return {service: environ.get(f"COMMUNS_{service.upper()}_OPS_ADDRESS") or f"{host}:{port}"
            for service, port in OPS_PORTS.items()}


def data_dir(config):
    return Path(config.get("DATA_DIR") or "./var").resolve()


def public_url(config):
    """The gateway's address as the public reaches it, for the links the suite hands out
    (convocations, the open data catalogue)."""
    return (config.get("PUBLIC_URL")
            or f"http://{config.get('WEB_SERVER_ADDRESS', DEFAULT_HTTP_ADDRESS)}")


def database_url(config, service):
    """The database of one service: its own override, the suite's template, or a SQLite file."""
    per_service = config.get("DATABASE_URLS", {}).get(service)
    if per_service:
        return per_service
    template = config.get("DATABASE_URL")
    if template:
        return template.replace("{service}", service)
    path = data_dir(config) / "db" / f"{service}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def from_environment(environ=None):
    """The Nameko config dict of a suite process, read from environment variables."""
    environ = os.environ if environ is None else environ
    from contracts.catalogue import SERVICES

    per_service = {
        service: environ[f"{service.upper()}_DATABASE_URL"]
        for service in SERVICES
        if environ.get(f"{service.upper()}_DATABASE_URL")
    }
    chorus_api_url = environ.get("COMMUNS_CHORUS_API_URL")
    chorus_sandbox = _flag(environ, "COMMUNS_CHORUS_SANDBOX", default=True) and not chorus_api_url
    sandbox_address = (environ.get("COMMUNS_CHORUS_SANDBOX_ADDRESS")
                       or DEFAULT_CHORUS_SANDBOX_ADDRESS)
    prefecture_url = environ.get("COMMUNS_PREFECTURE_URL")
    prefecture_sandbox = (_flag(environ, "COMMUNS_PREFECTURE_SANDBOX", default=True)
                          and not prefecture_url)
    prefecture_address = (environ.get("COMMUNS_PREFECTURE_SANDBOX_ADDRESS")
                          or DEFAULT_PREFECTURE_SANDBOX_ADDRESS)
    operator_url = environ.get("COMMUNS_OPERATOR_API_URL")
    operator_sandbox = _flag(environ, "COMMUNS_OPERATOR_SANDBOX", default=True) and not operator_url
    operator_address = (environ.get("COMMUNS_OPERATOR_SANDBOX_ADDRESS")
                        or DEFAULT_OPERATOR_SANDBOX_ADDRESS)
    return {
        "AMQP_URI": environ.get("AMQP_URI") or DEFAULT_AMQP_URI,
        "WEB_SERVER_ADDRESS": environ.get("COMMUNS_HTTP_ADDRESS") or DEFAULT_HTTP_ADDRESS,
        "OPS_ADDRESSES": ops_addresses(environ),
        "DATA_DIR": environ.get("COMMUNS_DATA_DIR") or "./var",
        "DATABASE_URL": environ.get("COMMUNS_DATABASE_URL"),
        "DATABASE_URLS": per_service,
        "ADMIN_USERNAME": environ.get("COMMUNS_ADMIN_USERNAME"),
        "ADMIN_PASSWORD": environ.get("COMMUNS_ADMIN_PASSWORD"),
        "RPC_TIMEOUT": float(environ.get("COMMUNS_RPC_TIMEOUT") or 10),
        "RATE_LIMIT": _positive(environ, "COMMUNS_RATE_LIMIT", DEFAULT_RATE_LIMIT, float),
        "RATE_BURST": _positive(environ, "COMMUNS_RATE_BURST", DEFAULT_RATE_BURST, int),
        "TRUSTED_PROXIES": _networks(environ, "COMMUNS_TRUSTED_PROXIES"),
        "HEARTBEAT": float(environ.get("COMMUNS_HEARTBEAT") or 60),
        "DB_MIGRATE_ON_START": _flag(environ, "COMMUNS_MIGRATE_ON_START", default=True),
        "LOG_FORMAT": environ.get("COMMUNS_LOG_FORMAT"),
        "LOG_LEVEL": environ.get("COMMUNS_LOG_LEVEL") or "INFO",
        # A service answers its own health check even when its pool is busy elsewhere.
        "max_workers": int(environ.get("COMMUNS_MAX_WORKERS") or 10),
        "METROPOLE_SIRET": environ.get("COMMUNS_METROPOLE_SIRET") or None,
        "BILLING_ROUND_SECONDS": float(environ.get("COMMUNS_BILLING_ROUND_SECONDS") or 30),
        # Chorus Pro (billing): a real one, or the local sandbox that `communs run` starts.
        "CHORUS_API_URL": chorus_api_url or (f"http://{sandbox_address}" if chorus_sandbox
                                             else None),
        "CHORUS_TOKEN_URL": environ.get("COMMUNS_CHORUS_TOKEN_URL"),
        **{key: environ.get(f"COMMUNS_{key}") or default
           for key, default in CHORUS_SANDBOX_CREDENTIALS.items()},
        "CHORUS_TIMEOUT": float(environ.get("COMMUNS_CHORUS_TIMEOUT") or 10),
        "CHORUS_SANDBOX": chorus_sandbox,
        "CHORUS_SANDBOX_ADDRESS": sandbox_address,
        "CHORUS_SANDBOX_STEP_SECONDS": float(
            environ.get("COMMUNS_CHORUS_SANDBOX_STEP_SECONDS") or 2),
        # E-administration: the public address of convocation links (none: the service uses
        # http://{WEB_SERVER_ADDRESS}), and how often it follows its transmissions.
        "PUBLIC_URL": environ.get("COMMUNS_PUBLIC_URL") or None,
        "EADMIN_ROUND_SECONDS": float(environ.get("COMMUNS_EADMIN_ROUND_SECONDS") or 30),
        "PROCUREMENT_SEAL_KEY": environ.get("COMMUNS_PROCUREMENT_SEAL_KEY") or None,
        "PARTICIPATION_ROUND_SECONDS": float(
            environ.get("COMMUNS_PARTICIPATION_ROUND_SECONDS") or 60),
        "ESERVICES_ROUND_SECONDS": float(
            environ.get("COMMUNS_ESERVICES_ROUND_SECONDS") or 3600),
        "EADMIN_ARCHIVAL_AGENCY": environ.get("COMMUNS_EADMIN_ARCHIVAL_AGENCY") or "FRAD034",
        # The prefecture (e-administration): a real platform, or the sandbox `communs run`
        # starts; without either, transmissions wait for one to be configured.
        "PREFECTURE_URL": prefecture_url or (f"http://{prefecture_address}"
                                             if prefecture_sandbox else None),
        **{key: environ.get(f"COMMUNS_{key}") or default
           for key, default in PREFECTURE_SANDBOX_CREDENTIALS.items()},
        "PREFECTURE_TIMEOUT": float(environ.get("COMMUNS_PREFECTURE_TIMEOUT") or 10),
        "PREFECTURE_SANDBOX": prefecture_sandbox,
        "PREFECTURE_SANDBOX_ADDRESS": prefecture_address,
        "PREFECTURE_SANDBOX_STEP_SECONDS": float(
            environ.get("COMMUNS_PREFECTURE_SANDBOX_STEP_SECONDS") or 2),
        # Alerting's SMS and voice operator: a real one, or the sandbox `communs run` starts.
        "OPERATOR_API_URL": operator_url or (f"http://{operator_address}" if operator_sandbox
                                             else None),
        "OPERATOR_VOICE_URL": environ.get("COMMUNS_OPERATOR_VOICE_URL") or None,
        **{key: environ.get(f"COMMUNS_{key}") or default
           for key, default in OPERATOR_SANDBOX_CREDENTIALS.items()},
        "OPERATOR_SENDER": environ.get("COMMUNS_OPERATOR_SENDER") or DEFAULT_OPERATOR_SENDER,
        "OPERATOR_VOICE_CLI": environ.get("COMMUNS_OPERATOR_VOICE_CLI") or None,
        "OPERATOR_CALLBACK_URL": environ.get("COMMUNS_OPERATOR_CALLBACK_URL") or None,
        "OPERATOR_CALLBACK_TOKEN": environ.get("COMMUNS_OPERATOR_CALLBACK_TOKEN") or None,
        "ALERTING_RETRY_SECONDS": float(environ.get("COMMUNS_ALERTING_RETRY_SECONDS") or 300),
        "ALERTING_RECEIPT_WAIT": float(environ.get("COMMUNS_ALERTING_RECEIPT_WAIT") or 600),
        "ALERTING_DISPATCH_INTERVAL": float(
            environ.get("COMMUNS_ALERTING_DISPATCH_INTERVAL") or 1),
        "OPERATOR_TIMEOUT": float(environ.get("COMMUNS_OPERATOR_TIMEOUT") or 10),
        "OPERATOR_SMS_SEGMENT_PRICE": _price(environ, "COMMUNS_OPERATOR_SMS_SEGMENT_PRICE",
                                             DEFAULT_SMS_SEGMENT_PRICE),
        "OPERATOR_VOICE_MINUTE_PRICE": _price(environ, "COMMUNS_OPERATOR_VOICE_MINUTE_PRICE",
                                              DEFAULT_VOICE_MINUTE_PRICE),
        "OPERATOR_SANDBOX": operator_sandbox,
        "OPERATOR_SANDBOX_ADDRESS": operator_address,
        "OPERATOR_SANDBOX_DELAY_SECONDS": float(
            environ.get("COMMUNS_OPERATOR_SANDBOX_DELAY_SECONDS") or 2),
        "OPERATOR_SANDBOX_FAILURE_RATE": _share(environ, "COMMUNS_OPERATOR_SANDBOX_FAILURE_RATE"),
        # E-administration's mail (convocations): none leaves without a host.
        "SMTP_HOST": environ.get("COMMUNS_SMTP_HOST") or None,
        "SMTP_PORT": int(environ.get("COMMUNS_SMTP_PORT") or 25),
        "SMTP_SENDER": environ.get("COMMUNS_SMTP_SENDER") or DEFAULT_SMTP_SENDER,
        "SMTP_STARTTLS": _flag(environ, "COMMUNS_SMTP_STARTTLS", default=False),
        "SMTP_USERNAME": environ.get("COMMUNS_SMTP_USERNAME") or None,
        "SMTP_PASSWORD": environ.get("COMMUNS_SMTP_PASSWORD") or None,
        "SMTP_TIMEOUT": float(environ.get("COMMUNS_SMTP_TIMEOUT") or 10),
    }


_FLAG_VALUES = {
    **dict.fromkeys(("1", "true", "yes", "on"), True),
    **dict.fromkeys(("0", "false", "no", "off"), False),
}


def _flag(environ, name, default):
    """A yes/no setting; a value that is neither is refused rather than read as yes."""
    value = (environ.get(name) or "").strip().lower()
    if not value:
        return default
    try:
        return _FLAG_VALUES[value]
    except KeyError:
        raise ValueError(f"{name}={environ[name]!r}: expected true or false") from None


def _price(environ, name, default):
    """A price in euros, kept as the decimal string it was given (the config travels as JSON
    and a float would round it); one that is not a number of euros is refused."""
    value = (environ.get(name) or "").strip() or default
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise ValueError(f"{name}={value!r}: expected a decimal number of euros, such as 0.045")
    return value


def _positive(environ, name, default, kind):
    """A positive number of ``kind`` (a rate, a burst of requests): at zero or less the
    gateway would let no one through, so such a value is refused, as one that is no number."""
    value = (environ.get(name) or "").strip() or str(default)
    try:
        number = kind(value)
    except ValueError:
        number = 0
    if not 0 < number < math.inf:
        raise ValueError(f"{name}={value!r}: expected a positive number")
    return number


def _networks(environ, name):
    """IP networks, comma-separated, as their canonical strings (the config travels as JSON);
    one that is no network is refused rather than left out, which would trust none of them."""
    networks = []
    for text in (environ.get(name) or "").split(","):
        if text.strip():
            try:
                networks.append(str(ipaddress.ip_network(text.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"{name}={environ[name]!r}: {text.strip()!r} is no network, "
                                 "such as 10.0.0.0/8") from None
    return networks


def _share(environ, name):
    """A share from 0 to 1."""
    value = (environ.get(name) or "").strip() or "0"
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise ValueError(f"{name}={value!r}: expected a share from 0 to 1")
    return share
