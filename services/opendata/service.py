from servicekit.database import Database
from servicekit.service import CommunsService


class OpendataService(CommunsService):
    name = "opendata"
    db = Database()
