from servicekit.database import Database
from servicekit.service import CommunsService


class AlertingService(CommunsService):
    name = "alerting"
    db = Database()
