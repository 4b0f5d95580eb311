"""Configuration from the environment, with embedded defaults that run on one machine.

| variable | default | meaning |
|---|---|---|
| ``AMQP_URI`` | ``amqp://guest:guest@127.0.0.1:5672/`` | the RabbitMQ broker and vhost |
| ``COMMUNS_DATA_DIR`` | ``./var`` | every byte of state: databases, logs, pid files |
| ``COMMUNS_DATABASE_URL`` | a SQLite file per service under the data dir | a URL; ``{service}`` in it is replaced by the service's name |
| ``<SERVICE>_DATABASE_URL`` | | overrides the URL of one service (``IDENTITY_DATABASE_URL``) |
| ``COMMUNS_HTTP_ADDRESS`` | ``127.0.0.1:8000`` | where the gateway listens |
| ``COMMUNS_LOG_FORMAT`` | ``json`` off a terminal, ``console`` on one | |
| ``COMMUNS_LOG_LEVEL`` | ``INFO`` | |
| ``COMMUNS_ADMIN_USERNAME`` / ``COMMUNS_ADMIN_PASSWORD`` | | the first Metropole admin, created at first start |
| ``COMMUNS_RPC_TIMEOUT`` | ``10`` | seconds the gateway waits for a service |
| ``COMMUNS_MIGRATE_ON_START`` | ``true`` | a service migrates its database when it starts; ``false`` where a one-shot ``communs migrate`` job does it |
"""

import os
from pathlib import Path

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_HTTP_ADDRESS = "127.0.0.1:8000"


def data_dir(config):
    return Path(config.get("DATA_DIR") or "./var").resolve()


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
    return {
        "AMQP_URI": environ.get("AMQP_URI") or DEFAULT_AMQP_URI,
        "WEB_SERVER_ADDRESS": environ.get("COMMUNS_HTTP_ADDRESS") or DEFAULT_HTTP_ADDRESS,
        "DATA_DIR": environ.get("COMMUNS_DATA_DIR") or "./var",
        "DATABASE_URL": environ.get("COMMUNS_DATABASE_URL"),
        "DATABASE_URLS": per_service,
        "ADMIN_USERNAME": environ.get("COMMUNS_ADMIN_USERNAME"),
        "ADMIN_PASSWORD": environ.get("COMMUNS_ADMIN_PASSWORD"),
        "RPC_TIMEOUT": float(environ.get("COMMUNS_RPC_TIMEOUT") or 10),
        "DB_MIGRATE_ON_START": _flag(environ, "COMMUNS_MIGRATE_ON_START", default=True),
        "LOG_FORMAT": environ.get("COMMUNS_LOG_FORMAT"),
        "LOG_LEVEL": environ.get("COMMUNS_LOG_LEVEL") or "INFO",
        # A service answers its own health check even when its pool is busy elsewhere.
        "max_workers": int(environ.get("COMMUNS_MAX_WORKERS") or 10),
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
