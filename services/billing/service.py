from servicekit.database import Database
from servicekit.service import CommunsService


class BillingService(CommunsService):
    name = "billing"
    db = Database()
