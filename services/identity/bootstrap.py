"""The first Metropole admin, created at the service's first start.

From ``COMMUNS_ADMIN_USERNAME`` / ``COMMUNS_ADMIN_PASSWORD`` when they are set. Otherwise the
username is ``admin`` and a random password is written, readable by its owner only, to
``<data dir>/secrets/initial-admin-password`` — the log says where, never what.
"""

import os
import secrets

from nameko.extensions import DependencyProvider

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


class FirstAdmin(DependencyProvider):
    def start(self):
        config = self.container.config
        database = sibling(self.container, Database)
        outbox = sibling(self.container, Outbox)
        clock = sibling(self.container, ClockProvider).clock
        with database.access.transaction() as session:
            if directory.has_metropole_admin(session):
                return
            username = config.get("ADMIN_USERNAME") or "admin"
            password = config.get("ADMIN_PASSWORD") or self._generated_password(config)
            new_account = load(
                NewAccountSchema(),
                {"username": username, "password": password, "role": METROPOLE_ADMIN},
            )
            account = directory.create_account(
                session, outbox.writer_outside_workers(), new_account, "bootstrap", clock.now()
            )
        log.info("account.first_admin_created", account_id=str(account.id))

    @staticmethod
    def _generated_password(config):
        path = data_dir(config) / "secrets" / "initial-admin-password"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        password = secrets.token_urlsafe(18)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as secret_file:
            secret_file.write(password + "\n")
        log.warning("account.first_admin_password_written", path=str(path), username="admin")
        return password
