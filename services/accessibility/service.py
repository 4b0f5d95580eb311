from servicekit.database import Database
from servicekit.service import CommunsService


class AccessibilityService(CommunsService):
    name = "accessibility"
    db = Database()
