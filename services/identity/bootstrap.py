"""The first Metropole admin, created at the service's first start.

From ``COMMUNS_ADMIN_USERNAME`` / ``COMMUNS_ADMIN_PASSWORD`` when they are set. Otherwise the
username is ``admin`` and a random password is written, readable by its owner only, to
``<data dir>/secrets/initial-admin-password`` — the log says where, never what. Settings that
break the rules of every account (a password under 12 characters) stop the first start with
a message naming the setting.
"""

import os
import secrets

from nameko.extensions import DependencyProvider

from contracts.errors import Invalid
from contracts.identity import METROPOLE_ADMIN, NewAccountSchema
from servicekit.clock import ClockProvider
from servicekit.config import data_dir
from servicekit.database import Database
from servicekit.logging import get_logger
from servicekit.outbox import Outbox
from servicekit.providers import sibling
from servicekit.validation import load
from services.identity import directory

log = get_logger(__name__)

# The settings the first admin comes from, as an operator knows them.
SETTINGS = {"username": "COMMUNS_ADMIN_USERNAME", "password": "COMMUNS_ADMIN_PASSWORD"}
DEFAULT_USERNAME = "admin"


class FirstAdminSettingsError(Exception):
    """The settings of the first admin break the rules every account follows."""


class FirstAdmin(DependencyProvider):
    def start(self):
        config = self.container.config
        database = sibling(self.container, Database)
        outbox = sibling(self.container, Outbox)
        clock = sibling(self.container, ClockProvider).clock
        with database.access.transaction() as session:
            if directory.has_metropole_admin(session):
                return
            username = config.get("ADMIN_USERNAME") or DEFAULT_USERNAME
            generated = not config.get("ADMIN_PASSWORD")
            password = secrets.token_urlsafe(18) if generated else config["ADMIN_PASSWORD"]
            new_account = self._checked(username, password)
            account = directory.create_account(
                session, outbox.writer_outside_workers(), new_account, "bootstrap", clock.now()
            )
            # Written before the commit: if it cannot be, no admin exists whose password
            # nobody knows.
            if generated:
                self._write_password(config, username, password)
        log.info("account.first_admin_created", account_id=str(account.id))

    @staticmethod
    def _checked(username, password):
        """The first admin follows the rules of every account (a password of 12 characters or
        more); otherwise the service refuses to start, naming the setting, never its value."""
        try:
            return load(
                NewAccountSchema(),
                {"username": username, "password": password, "role": METROPOLE_ADMIN},
            )
        except Invalid as error:
            problems = "; ".join(
                f"{SETTINGS.get(field, field)}: {' '.join(messages)}"
                for field, messages in sorted(error.errors.items())
            )
            raise FirstAdminSettingsError(f"Cannot create the first admin. {problems}") from None

    @staticmethod
    def _write_password(config, username, password):
        path = data_dir(config) / "secrets" / "initial-admin-password"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        # A file left by an earlier installation keeps its mode through O_TRUNC: reset it.
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as secret_file:
            secret_file.write(password + "\n")
        # The default username is no one's name; a chosen one may be, and stays out of logs.
        shown = username if username == DEFAULT_USERNAME else "$COMMUNS_ADMIN_USERNAME"
        log.warning("account.first_admin_password_written", path=str(path), username=shown)
