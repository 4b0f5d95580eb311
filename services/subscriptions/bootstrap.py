"""The 31 member communes and their populations, stored at the service's first start.

From ``data/communes-3m.csv`` (INSEE *population municipale*, vintage 2023), each population
announced by ``population.updated`` in the same transaction, so that billing learns them
through its events like any later update. A later start finds the communes and does nothing.
"""

import csv
from importlib import resources

from nameko.extensions import DependencyProvider
from sqlalchemy.exc import IntegrityError

from servicekit.clock import ClockProvider
from servicekit.database import Database
from servicekit.logging import get_logger
from servicekit.outbox import Outbox
from servicekit.providers import sibling
from services.subscriptions import registry

log = get_logger(__name__)

DATA_FILE = "data/communes-3m.csv"


def member_rows():
    data = resources.files("services.subscriptions").joinpath(DATA_FILE)
    with data.open(encoding="utf-8") as rows:
        return list(csv.DictReader(rows))


class MemberCommunes(DependencyProvider):
    def start(self):
        database = sibling(self.container, Database)
        outbox = sibling(self.container, Outbox)
        clock = sibling(self.container, ClockProvider).clock
        try:
            with database.access.transaction() as session:
                if registry.is_seeded(session):
                    return
                count = registry.seed_communes(
                    session, outbox.writer_outside_workers(), member_rows(), clock.now()
                )
        except IntegrityError:
            # Another replica, starting at the same moment, stored them first.
            log.info("communes.seeded_elsewhere")
            return
        log.info("communes.seeded", count=count)
