"""What the accessibility relay's routes send to the service (the commune, the body as sent,
the month, the modes, the interpreter's own id); the public session route, open without a
token; and a link's HTML page — its form while the reception is open, when it opens again
otherwise, a page of its own for a replaced or unknown link — in French and accessible."""

import re
from html.parser import HTMLParser

import pytest

from contracts.errors import Conflict, Forbidden, Gone, NotFound, ServiceUnavailable
from gateway.routes.accessibility import closed_sentence
from gateway.tests.fakes import (
    INTERPRETER_ID,
    LAVERUNE,
    LINK_ID,
    NEW_POINT,
    POINT_ID,
    RELAY_SECRET,
    RELAY_SESSION_ID,
    RELAY_TOKEN,
    reception_point,
)

pytestmark = pytest.mark.broker

COMMUNE = f"/api/v1/communes/{LAVERUNE}/accessibility"
SESSION = f"/api/v1/accessibility/sessions/{RELAY_SESSION_ID}"
PAGE = f"/relay/{RELAY_TOKEN}"
SESSIONS = f"/api/v1/relay/{RELAY_TOKEN}/sessions"


@pytest.fixture
def fake_accessibility(fake_services):
    return fake_services["accessibility"]


def only_call(fake, method):
    calls = fake.called(method)
    assert len(calls) == 1, fake.calls
    return calls[0][1], calls[0][2]


class Page(HTMLParser):
    """What an accessibility check of the page needs: its tags with their attributes, the
    labels' targets and its text."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.label_targets, self.text, self.h1 = [], set(), [], []
        self._in = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "label" and attrs.get("for"):
            self.label_targets.add(attrs["for"])
        if tag in ("script", "style", "title", "h1"):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "h1":
            self.h1.append(data)
        if self._in not in ("script", "style", "title"):
            self.text.append(data)

    def all(self, tag):
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def visible_text(self):
        return " ".join(" ".join(self.text).split())


def assert_accessible_page(answer, status):
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert answer.headers["Cache-Control"] == "no-store"
    page = Page(answer.text)
    assert page.all("html") == [{"lang": "fr"}]
    assert len(page.all("main")) == 1
    assert len(page.all("h1")) == 1
    assert any(meta.get("name") == "viewport" and "width=device-width" in meta["content"]
               for meta in page.all("meta"))
    assert ":focus-visible" in answer.text
    for field in page.all("input") + page.all("textarea"):
        assert field["id"] in page.label_targets
    return page


# -- the commune


def test_the_reception_points_and_their_hours(gateway, api, agent_headers,
                                              fake_accessibility):
    created = api.post(f"{COMMUNE}/hours", headers=agent_headers, json=NEW_POINT)
    assert created.status_code == 201, created.text
    assert created.json()["id"] == POINT_ID
    assert only_call(fake_accessibility, "create_point") == ((LAVERUNE, NEW_POINT), {})

    listed = api.get(f"{COMMUNE}/hours", headers=agent_headers)
    assert listed.status_code == 200
    assert only_call(fake_accessibility, "points") == ((LAVERUNE,), {})


def test_invalid_hours_never_reach_the_service(gateway, api, agent_headers, fake_accessibility):
    answer = api.post(f"{COMMUNE}/hours", headers=agent_headers,
                      json={**NEW_POINT, "weekly_hours": {"monday": [{"start": "8h",
                                                                      "end": "12:00"}]}})
    assert answer.status_code == 422, answer.text
    assert fake_accessibility.calls == []


def test_a_link_is_made_for_a_point_listed_and_revoked(gateway, api, agent_headers,
                                                       fake_accessibility):
    made = api.post(f"{COMMUNE}/links", headers=agent_headers, json={"point_id": POINT_ID})
    assert made.status_code == 201, made.text
    assert made.json()["token"] == RELAY_TOKEN
    assert only_call(fake_accessibility, "create_link") == ((LAVERUNE, POINT_ID), {})

    assert api.get(f"{COMMUNE}/links", headers=agent_headers).status_code == 200
    assert only_call(fake_accessibility, "links") == ((LAVERUNE,), {})

    revoked = api.post(f"{COMMUNE}/links/{LINK_ID}/revocation", headers=agent_headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert only_call(fake_accessibility, "revoke_link") == ((LAVERUNE, LINK_ID), {})


def test_a_link_needs_its_point(gateway, api, agent_headers, fake_accessibility):
    answer = api.post(f"{COMMUNE}/links", headers=agent_headers, json={"point_id": "mairie"})
    assert answer.status_code == 422
    assert fake_accessibility.calls == []


def test_a_months_usage(gateway, api, agent_headers, fake_accessibility):
    answer = api.get(f"{COMMUNE}/usage", headers=agent_headers, params={"month": "2026-11"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["required_share"] == "0.5000"
    assert only_call(fake_accessibility, "usage") == ((LAVERUNE, {"month": "2026-11"}), {})


@pytest.mark.parametrize("params", [{}, {"month": "2026-13"}, {"month": "11/2026"}])
def test_the_usage_needs_a_month(gateway, api, agent_headers, fake_accessibility, params):
    answer = api.get(f"{COMMUNE}/usage", headers=agent_headers, params=params)
    assert answer.status_code == 422, answer.text
    assert fake_accessibility.calls == []


# -- the provider's interpreters


def test_an_interpreter_says_what_they_interpret(gateway, api, interpreter_headers,
                                                 fake_accessibility):
    body = {"name": "Camille Durand", "modes": ["lsf", "transcription"], "available": True}
    answer = api.put("/api/v1/accessibility/interpreters/me", headers=interpreter_headers,
                     json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {**body, "account_id": INTERPRETER_ID}
    assert only_call(fake_accessibility, "set_interpreter") == ((INTERPRETER_ID, body), {})


def test_an_interpreter_names_modes_of_the_relay(gateway, api, interpreter_headers,
                                                 fake_accessibility):
    answer = api.put("/api/v1/accessibility/interpreters/me", headers=interpreter_headers,
                     json={"name": "Camille", "modes": ["morse"], "available": True})
    assert answer.status_code == 422
    assert fake_accessibility.calls == []


@pytest.mark.parametrize(("params", "modes"), [
    ({}, None),
    ({"mode": "lsf"}, ["lsf"]),
    ({"mode": ["lsf", "lfpc"]}, ["lsf", "lfpc"]),
])
def test_the_queue_by_mode(gateway, api, interpreter_headers, fake_accessibility, params,
                           modes):
    answer = api.get("/api/v1/accessibility/queue", headers=interpreter_headers, params=params)
    assert answer.status_code == 200, answer.text
    assert [s["id"] for s in answer.json()] == [RELAY_SESSION_ID]
    assert only_call(fake_accessibility, "queue") == ((), {"modes": modes})


def test_the_queue_refuses_an_unknown_mode(gateway, api, interpreter_headers,
                                           fake_accessibility):
    answer = api.get("/api/v1/accessibility/queue", headers=interpreter_headers,
                     params={"mode": "morse"})
    assert answer.status_code == 422
    assert fake_accessibility.calls == []


def test_a_metropole_admin_reads_the_queue(gateway, api, admin_headers, fake_accessibility):
    assert api.get("/api/v1/accessibility/queue", headers=admin_headers).status_code == 200


@pytest.mark.parametrize(("step", "rpc", "status"), [
    ("take", "take_session", "taken"),
    ("connect", "connect_session", "connected"),
    ("end", "end_session", "ended"),
])
def test_an_interpreter_takes_connects_and_ends_a_session_as_themselves(
        gateway, api, interpreter_headers, fake_accessibility, step, rpc, status):
    answer = api.post(f"{SESSION}/{step}", headers=interpreter_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == status
    assert only_call(fake_accessibility, rpc) == ((RELAY_SESSION_ID, INTERPRETER_ID), {})


def test_a_session_taken_by_another_is_a_conflict(gateway, api, interpreter_headers,
                                                  fake_accessibility):
    def taken(session_id, account_id):
        raise Conflict("Another interpreter took this session.")

    fake_accessibility.answers["take_session"] = taken
    answer = api.post(f"{SESSION}/take", headers=interpreter_headers)
    assert answer.status_code == 409
    assert answer.headers["Content-Type"] == "application/problem+json"


# -- anyone with a link: the API


def test_a_session_is_opened_from_a_link_without_a_token(gateway, api, fake_accessibility):
    answer = api.post(SESSIONS, json={"mode": "lfpc", "channel": "front_desk"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "waiting"
    assert only_call(fake_accessibility, "open_session") == (
        (RELAY_TOKEN, {"mode": "lfpc", "channel": "front_desk"}), {})


def test_a_session_needs_a_mode_of_the_relay(gateway, api, fake_accessibility):
    answer = api.post(SESSIONS, json={"mode": "morse"})
    assert answer.status_code == 422
    assert fake_accessibility.calls == []


@pytest.mark.parametrize(("error", "status"), [
    (Conflict("The reception is closed; the relay opens again on 30/11/2026 à 08:30."), 409),
    (Gone("This relay link was replaced."), 410),
    (NotFound("No such relay link."), 404),
])
def test_the_api_answers_problems_as_json(gateway, api, fake_accessibility, error, status):
    def refuse(token, new):
        raise error

    fake_accessibility.answers["open_session"] = refuse
    answer = api.post(SESSIONS, json={"mode": "lsf"})
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["detail"] == error.detail


def test_an_interpreter_reads_and_writes_the_transcription_of_their_session(
        gateway, api, interpreter_headers, fake_accessibility):
    read = api.get(f"{SESSION}/transcript", params={"after": 4}, headers=interpreter_headers)
    assert read.status_code == 200, read.text
    assert read.json()[0]["speaker"] == "person"
    assert only_call(fake_accessibility, "interpreter_transcript") == (
        (RELAY_SESSION_ID, INTERPRETER_ID, {"after": 4}), {})
    said = api.post(f"{SESSION}/transcript", json={"text": "Mardi à 14 h ?"},
                    headers=interpreter_headers)
    assert said.status_code == 201, said.text
    assert only_call(fake_accessibility, "interpreter_says") == (
        (RELAY_SESSION_ID, INTERPRETER_ID, {"text": "Mardi à 14 h ?"}), {})


@pytest.mark.parametrize("line", [{"text": ""}, {"text": "x" * 2001}, {}, {"text": 3}])
def test_a_transcription_line_is_checked_before_the_service(gateway, api, interpreter_headers,
                                                            fake_accessibility, line):
    answer = api.post(f"{SESSION}/transcript", json=line, headers=interpreter_headers)
    assert answer.status_code == 422
    assert "text" in answer.json()["errors"]
    assert fake_accessibility.calls == []


def test_the_person_follows_writes_and_hangs_up_with_their_secret(gateway, api,
                                                                  fake_accessibility):
    person = f"{SESSIONS}/{RELAY_SESSION_ID}"
    secret = {"X-Relay-Session-Secret": RELAY_SECRET}
    assert api.get(person, headers=secret).json()["status"] == "waiting"
    assert only_call(fake_accessibility, "person_session") == (
        (RELAY_TOKEN, RELAY_SESSION_ID, RELAY_SECRET), {})
    assert api.get(f"{person}/transcript", headers=secret).status_code == 200
    assert only_call(fake_accessibility, "person_transcript") == (
        (RELAY_TOKEN, RELAY_SESSION_ID, RELAY_SECRET, {"after": 0}), {})
    said = api.post(f"{person}/transcript", json={"text": "Bonjour"}, headers=secret)
    assert (said.status_code, said.json()["speaker"]) == (201, "person")
    left = api.post(f"{person}/hang-up", headers=secret)
    assert (left.status_code, left.json()["status"]) == (200, "abandoned")
    assert only_call(fake_accessibility, "hang_up") == (
        (RELAY_TOKEN, RELAY_SESSION_ID, RELAY_SECRET), {})


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_person_needs_their_secret(gateway, api, fake_accessibility, method):
    answer = api.request(method, f"{SESSIONS}/{RELAY_SESSION_ID}/transcript",
                         json={"text": "Bonjour"} if method == "POST" else None)
    assert answer.status_code == 422
    assert "X-Relay-Session-Secret" in answer.json()["errors"]
    assert fake_accessibility.calls == []


def test_an_ended_session_has_no_text_left(gateway, api, fake_accessibility):
    def deleted(token, session_id, secret, query):
        raise Gone("The session is over: its text was deleted.")

    fake_accessibility.answers["person_transcript"] = deleted
    answer = api.get(f"{SESSIONS}/{RELAY_SESSION_ID}/transcript",
                     headers={"X-Relay-Session-Secret": RELAY_SECRET})
    assert answer.status_code == 410
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_the_opening_gives_the_persons_secret(gateway, api, fake_accessibility):
    answer = api.post(SESSIONS, json={"mode": "transcription"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["secret"] == RELAY_SECRET


# -- anyone with a link: the page


def test_the_page_of_an_open_reception_has_the_form(gateway, api, fake_accessibility):
    answer = api.get(PAGE)
    page = assert_accessible_page(answer, 200)
    assert only_call(fake_accessibility, "relay_point") == ((RELAY_TOKEN,), {})
    assert page.h1 == ["Accueil de la mairie"]
    form, transcript_form = page.all("form")
    assert form["action"] == SESSIONS and transcript_form["id"] == "transcript-form"
    radios = {(field["name"], field["value"]) for field in page.all("input")
              if field["type"] == "radio"}
    assert radios == {("mode", "lsf"), ("mode", "lfpc"), ("mode", "transcription"),
                      ("channel", "telephone"), ("channel", "front_desk")}
    assert len(page.all("fieldset")) == len(page.all("legend")) == 2
    assert [b.get("type") for b in page.all("button")] == ["submit", "submit", "button"]
    [live] = [p for p in page.all("p") if p.get("aria-live")]
    assert live == {"id": "relay-status", "role": "status", "aria-live": "polite"}
    # The session's part shows once a session is open; its lines are read out as they come.
    assert {"id": "relay-session", "aria-labelledby": "session-heading", "hidden": None} in (
        page.all("section"))
    assert page.all("ol") == [{"id": "transcript-lines", "aria-labelledby": "transcript-heading",
                               "aria-live": "polite"}]
    assert page.all("textarea")[0]["maxlength"] == "2000"
    assert "X-Relay-Session-Secret" in answer.text
    assert "Votre demande est en attente d'un interprète…" in answer.text
    assert "fetch(form.action" in answer.text
    assert "fermé" not in page.visible_text


def test_the_page_of_a_closed_reception_says_when_it_opens_again(gateway, api,
                                                                 fake_accessibility):
    fake_accessibility.answers["relay_point"] = lambda token: reception_point(
        open_now=False, next_opening="2026-11-30T07:30:00+00:00")
    page = assert_accessible_page(api.get(PAGE), 200)
    assert page.all("form") == [] and page.all("input") == []
    assert "L'accueil est fermé ; le relais rouvre le 30/11/2026 à 08:30." in page.visible_text


def test_the_page_escapes_what_it_shows(gateway, api, fake_accessibility):
    fake_accessibility.answers["relay_point"] = lambda token: reception_point(
        name='<script>alert("x")</script> & Cie')
    answer = api.get(PAGE)
    assert answer.status_code == 200
    assert '<script>alert("x")</script>' not in answer.text
    assert Page(answer.text).h1 == ['<script>alert("x")</script> & Cie']
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Cie" in answer.text


@pytest.mark.parametrize(("error", "status", "says"), [
    (Gone("This relay link was replaced: the commune's website gives its new link."), 410,
     "site internet de votre commune"),
    (NotFound("No such relay link."), 404, "Lien inconnu"),
    (Forbidden("Lavérune does not subscribe to accessibility."), 403,
     "ne propose plus le relais"),
    (ServiceUnavailable("The accessibility service did not answer within 10 s."), 503,
     "momentanément indisponible"),
])
def test_a_link_that_opens_nothing_is_an_html_page(gateway, api, fake_accessibility, error,
                                                   status, says):
    def refuse(token):
        raise error

    fake_accessibility.answers["relay_point"] = refuse
    page = assert_accessible_page(api.get(PAGE), status)
    assert page.all("form") == []
    assert says in page.visible_text


def test_the_page_of_a_replaced_link_says_so(gateway, api, fake_accessibility):
    def gone(token):
        raise Gone("This relay link was replaced.")

    fake_accessibility.answers["relay_point"] = gone
    page = assert_accessible_page(api.get(PAGE), 410)
    assert re.search(r"lien a été remplacé", page.visible_text)


def test_the_page_ignores_what_is_added_to_its_link(gateway, api, fake_accessibility):
    assert_accessible_page(api.get(PAGE, params={"utm_source": "site"}), 200)


# -- without HTTP


@pytest.mark.parametrize(("next_opening", "sentence"), [
    ("2026-11-30T07:30:00+00:00", "L'accueil est fermé ; le relais rouvre le 30/11/2026 à 08:30."),
    ("2026-07-01T06:00:00+00:00", "L'accueil est fermé ; le relais rouvre le 01/07/2026 à 08:00."),
    (None, "L'accueil est fermé ; la date à laquelle le relais rouvre n'est pas encore fixée."),
])
def test_the_closed_sentence_is_in_montpellier_time(next_opening, sentence):
    assert closed_sentence(next_opening) == sentence
