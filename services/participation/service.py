from servicekit.database import Database
from servicekit.service import CommunsService


class ParticipationService(CommunsService):
    name = "participation"
    db = Database()
