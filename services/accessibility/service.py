"""The accessibility relay, the seventh application of Article 1: each subscribed commune's
reception points with their telephone reception hours, a dedicated link per point (Art. 2),
relay sessions in LSF, LfPC or real-time transcription opened from a link during those hours,
queued by mode, taken by the relay provider's interpreters, connected to the commune's service
and ended with their durations only. In real-time transcription the person and the interpreter
write to each other while the session is connected; the text is deleted when it ends.

Only communes that subscribe to the relay have links; a link of a commune that left stops
opening sessions.
"""

import calendar
from datetime import date

from nameko.timer import timer

from contracts.accessibility import (
    InterpreterAnswerSchema,
    InterpreterSchema,
    LinkSchema,
    NewReceptionPointSchema,
    NewSessionSchema,
    NewTranscriptLineSchema,
    OpenedSessionSchema,
    ReceptionPointSchema,
    SessionSchema,
    TranscriptLineSchema,
    TranscriptQuerySchema,
    UsageQuerySchema,
    UsageSchema,
)
from servicekit.database import Database
from servicekit.logging import get_logger
from servicekit.service import CommunsService, rpc
from servicekit.subscribed import FollowsSubscriptions
from servicekit.validation import load
from services.accessibility import relay
from services.accessibility.models import Base

log = get_logger(__name__)


class AccessibilityService(FollowsSubscriptions, CommunsService):
    name = "accessibility"
    application = "accessibility"
    db = Database(Base.metadata)

    @timer(interval=300)
    def abandon_idle_sessions(self):
        """Closes the sessions left idle, and deletes their text, within minutes of the limit."""
        with self.db.transaction() as session:
            closed = relay.abandon_idle_sessions(session, self.clock.now())
            for relayed in closed:
                log.info("relay_session.left_idle", commune=relayed.commune,
                         session_id=str(relayed.id), status=relayed.status)

    @rpc
    def create_point(self, insee, new):
        new = load(NewReceptionPointSchema(), new)
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            point = relay.create_point(session, insee, NewReceptionPointSchema().dump(new),
                                       self.clock.now())
            return ReceptionPointSchema().dump(relay.point_view(point, self.clock.now()))

    @rpc
    def points(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return ReceptionPointSchema(many=True).dump(
                [relay.point_view(p, self.clock.now()) for p in relay.points(session, insee)])

    @rpc
    def create_link(self, insee, point_id):
        """A point's link, made or rotated: its token is in this answer only."""
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            link, token = relay.create_link(session, relay.point_of(session, insee, point_id),
                                            self.clock.now())
            log.info("relay_link.created", commune=insee, link_id=str(link.id))
            return LinkSchema().dump(relay.link_view(link, token))

    @rpc
    def revoke_link(self, insee, link_id):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return LinkSchema().dump(relay.link_view(
                relay.revoke_link(session, insee, link_id, self.clock.now())))

    @rpc
    def links(self, insee):
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            return LinkSchema(many=True).dump(
                [relay.link_view(link) for link in relay.links(session, insee)])

    @rpc(sensitive_arguments=("token",))
    def relay_point(self, token):
        """What a link's page shows: its reception point, whether the relay is open now and
        when it opens next."""
        with self.db.transaction() as session:
            point = relay.point_of_token(session, token)
            self.require_subscribed(session, point.commune)
            return ReceptionPointSchema().dump(relay.point_view(point, self.clock.now()))

    @rpc(sensitive_arguments=("token",))
    def open_session(self, token, new):
        new = load(NewSessionSchema(), new)
        with self.db.transaction() as session:
            point = relay.point_of_token(session, token)
            self.require_subscribed(session, point.commune)
            relayed, secret = relay.open_session(session, point, new, self.clock.now())
            log.info("relay_session.opened", commune=point.commune,
                     session_id=str(relayed.id), mode=relayed.mode)
            return OpenedSessionSchema().dump({**relay.session_view(relayed), "secret": secret})

    @rpc(sensitive_arguments=("token", "secret"))
    def person_session(self, token, session_id, secret):
        """The session as the person who asked follows it."""
        with self.db.transaction() as session:
            relayed = relay.session_of_person(session, token, session_id, secret)
            return SessionSchema().dump(relay.session_view(relayed))

    @rpc(sensitive_arguments=("token", "secret"))
    def hang_up(self, token, session_id, secret):
        with self.db.transaction() as session:
            relayed = relay.session_of_person(session, token, session_id, secret)
            relay.hang_up(session, relayed, self.clock.now())
            log.info("relay_session.hung_up", commune=relayed.commune,
                     session_id=str(relayed.id), status=relayed.status)
            return SessionSchema().dump(relay.session_view(relayed))

    @rpc(sensitive_arguments=("token", "secret", "line"))
    def person_says(self, token, session_id, secret, line):
        line = load(NewTranscriptLineSchema(), line)
        with self.db.transaction() as session:
            relayed = relay.session_of_person(session, token, session_id, secret)
            return TranscriptLineSchema().dump(relay.line_view(relay.say(
                session, relayed, relay.PERSON, line["text"], self.clock.now())))

    @rpc(sensitive_arguments=("token", "secret"))
    def person_transcript(self, token, session_id, secret, query):
        after = load(TranscriptQuerySchema(), query)["after"]
        with self.db.transaction() as session:
            relayed = relay.session_of_person(session, token, session_id, secret)
            return TranscriptLineSchema(many=True).dump(
                [relay.line_view(line) for line in relay.transcript(session, relayed, after)])

    @rpc(sensitive_arguments=("line",))
    def interpreter_says(self, session_id, account_id, line):
        line = load(NewTranscriptLineSchema(), line)
        with self.db.transaction() as session:
            relayed = relay.session_of_interpreter(session, session_id, account_id)
            return TranscriptLineSchema().dump(relay.line_view(relay.say(
                session, relayed, relay.INTERPRETER, line["text"], self.clock.now())))

    @rpc
    def interpreter_transcript(self, session_id, account_id, query):
        after = load(TranscriptQuerySchema(), query)["after"]
        with self.db.transaction() as session:
            relayed = relay.session_of_interpreter(session, session_id, account_id)
            return TranscriptLineSchema(many=True).dump(
                [relay.line_view(line) for line in relay.transcript(session, relayed, after)])

    @rpc
    def usage(self, insee, query):
        """The commune's usage in a month, for its report (art. 78 loi 2005-102)."""
        month = load(UsageQuerySchema(), query)["month"]
        year, number = map(int, month.split("-"))
        first_day = date(year, number, 1)
        last_day = date(year, number, calendar.monthrange(year, number)[1])
        with self.db.transaction() as session:
            self.require_subscribed(session, insee)
            figures = relay.usage(session, insee, first_day, last_day)
            return UsageSchema().dump({**figures, "commune": insee, "month": month})

    @rpc
    def queue(self, modes=None):
        with self.db.transaction() as session:
            return SessionSchema(many=True).dump(
                [relay.session_view(s) for s in relay.queue(session, modes)])

    @rpc
    def set_interpreter(self, account_id, profile):
        profile = load(InterpreterSchema(), profile)
        with self.db.transaction() as session:
            found = relay.interpreter(session, account_id, profile["name"], profile["modes"],
                                      profile["available"])
            return InterpreterAnswerSchema().dump(
                {"account_id": found.account_id, "name": found.name, "modes": found.modes,
                 "available": found.available})

    @rpc
    def take_session(self, session_id, account_id):
        with self.db.transaction() as session:
            relayed = relay.session_of(session, session_id)
            interpreter = relay.interpreter_of(session, account_id)
            relay.take(session, relayed, interpreter, self.clock.now())
            return SessionSchema().dump(relay.session_view(relayed))

    @rpc
    def connect_session(self, session_id, account_id):
        with self.db.transaction() as session:
            relayed = relay.session_of(session, session_id)
            relay.connect(relayed, account_id, self.clock.now())
            return SessionSchema().dump(relay.session_view(relayed))

    @rpc
    def end_session(self, session_id, account_id):
        with self.db.transaction() as session:
            relayed = relay.session_of(session, session_id)
            relay.end(session, relayed, account_id, self.clock.now())
            log.info("relay_session.ended", commune=relayed.commune,
                     session_id=str(relayed.id))
            return SessionSchema().dump(relay.session_view(relayed))
