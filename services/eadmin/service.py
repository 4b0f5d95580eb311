from servicekit.database import Database
from servicekit.service import CommunsService


class EadminService(CommunsService):
    name = "eadmin"
    db = Database()
