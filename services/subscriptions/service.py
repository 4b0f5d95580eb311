from servicekit.database import Database
from servicekit.service import CommunsService


class SubscriptionsService(CommunsService):
    name = "subscriptions"
    db = Database()
