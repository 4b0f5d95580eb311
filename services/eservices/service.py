from servicekit.database import Database
from servicekit.service import CommunsService


class EservicesService(CommunsService):
    name = "eservices"
    db = Database()
