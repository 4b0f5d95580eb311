from servicekit.database import Database
from servicekit.service import CommunsService


class ProcurementService(CommunsService):
    name = "procurement"
    db = Database()
