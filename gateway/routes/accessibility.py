"""Routes of the accessibility relay (Art. 1, seventh application; Art. 2): a commune's agents
keep its reception points and their telephone hours, make, rotate and revoke each point's
dedicated link and read a month's usage; the relay provider's interpreters say what they
interpret, read the queue and take, connect and end sessions; anyone with a link opens a
session from its page, an HTML page of its own, without an account, then follows it, writes in
its real-time transcription and hangs up with the secret the opening gave them."""

import html
from datetime import datetime
from string import Template
from urllib.parse import quote

from marshmallow import EXCLUDE, Schema
from werkzeug.wrappers import Response

from contracts.accessibility import (
    InterpreterAnswerSchema,
    InterpreterSchema,
    LinkSchema,
    NewLinkSchema,
    NewReceptionPointSchema,
    NewSessionSchema,
    NewTranscriptLineSchema,
    OpenedSessionSchema,
    QueueQuerySchema,
    ReceptionPointSchema,
    SessionSchema,
    SessionSecretHeaderSchema,
    TranscriptLineSchema,
    TranscriptQuerySchema,
    UsageQuerySchema,
    UsageSchema,
)
from contracts.errors import CommunsError, Forbidden, Gone, NotFound
from contracts.identity import METROPOLE_ADMIN, RELAY_INTERPRETER
from gateway.http import route
from gateway.routes import ADMIN_OR_AGENT
from servicekit.clock import LEGAL_TIME_ZONE
from servicekit.logging import get_logger

log = get_logger("gateway.accessibility")

COMMUNE = "/api/v1/communes/<insee>/accessibility"
PROVIDER = "/api/v1/accessibility"
SESSION = f"{PROVIDER}/sessions/<uuid:session_id>"
PERSON_SESSION = "/api/v1/relay/<token>/sessions/<uuid:session_id>"
REFUSALS = (403, 404)
INTERPRETERS = (RELAY_INTERPRETER,)
QUEUE_READERS = (RELAY_INTERPRETER, METROPOLE_ADMIN)
HTML = "text/html"


class PageQuerySchema(Schema):
    """A link's page is a link: what a website or a messaging app adds to it (``?utm_source=``)
    is ignored, not refused."""

    class Meta:
        unknown = EXCLUDE


class AccessibilityRoutes:
    # -- the commune

    @route("GET", f"{COMMUNE}/hours",
           summary="The commune's reception points and their telephone reception hours",
           tag="accessibility", response=ReceptionPointSchema, many=True,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def reception_points(self, request, insee, **_):
        return self.rpc("accessibility", "points", insee)

    @route("POST", f"{COMMUNE}/hours",
           summary="Add a reception point with its weekly telephone hours and closures",
           tag="accessibility", body=NewReceptionPointSchema, response=ReceptionPointSchema,
           status=201, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def create_reception_point(self, request, insee, body, **_):
        return self.rpc("accessibility", "create_point", insee, body)

    @route("GET", f"{COMMUNE}/links",
           summary="The commune's relay links, active, rotated and revoked (never a token)",
           tag="accessibility", response=LinkSchema, many=True, roles=ADMIN_OR_AGENT,
           errors=REFUSALS)
    def relay_links(self, request, insee, **_):
        return self.rpc("accessibility", "links", insee)

    @route("POST", f"{COMMUNE}/links",
           summary="A new link for a reception point, its former one rotated; the token is "
                   "in this answer only", tag="accessibility", body=NewLinkSchema,
           response=LinkSchema, status=201, roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def create_relay_link(self, request, insee, body, **_):
        return self.rpc("accessibility", "create_link", insee, body["point_id"])

    @route("POST", f"{COMMUNE}/links/<uuid:link_id>/revocation",
           summary="Revoke a link: its page then says it was replaced", tag="accessibility",
           response=LinkSchema, roles=ADMIN_OR_AGENT, errors=(*REFUSALS, 409))
    def revoke_relay_link(self, request, insee, link_id, **_):
        return self.rpc("accessibility", "revoke_link", insee, str(link_id))

    @route("GET", f"{COMMUNE}/usage",
           summary="The relay's use in a month: sessions, waits, talk minutes and the share "
                   "of reception hours covered beside the share the law requires",
           tag="accessibility", query=UsageQuerySchema, response=UsageSchema,
           roles=ADMIN_OR_AGENT, errors=REFUSALS)
    def relay_usage(self, request, insee, query, **_):
        return self.rpc("accessibility", "usage", insee, UsageQuerySchema().dump(query))

    # -- the provider's interpreters

    @route("PUT", f"{PROVIDER}/interpreters/me",
           summary="Say which modes one interprets and whether one is available",
           tag="accessibility", body=InterpreterSchema, response=InterpreterAnswerSchema,
           roles=INTERPRETERS)
    def set_interpreter(self, request, principal, body, **_):
        return self.rpc("accessibility", "set_interpreter", principal.id, body)

    @route("GET", f"{PROVIDER}/queue",
           summary="The sessions waiting for an interpreter, first asked first, by mode",
           tag="accessibility", query=QueueQuerySchema, response=SessionSchema, many=True,
           roles=QUEUE_READERS)
    def relay_queue(self, request, query, **_):
        return self.rpc("accessibility", "queue", modes=query["mode"] or None)

    @route("POST", f"{SESSION}/take", summary="Take a waiting session", tag="accessibility",
           response=SessionSchema, roles=INTERPRETERS, errors=(404, 409))
    def take_relay_session(self, request, principal, session_id, **_):
        return self.rpc("accessibility", "take_session", str(session_id), principal.id)

    @route("POST", f"{SESSION}/connect",
           summary="The session one took is connected to the commune's service",
           tag="accessibility", response=SessionSchema, roles=INTERPRETERS, errors=(404, 409))
    def connect_relay_session(self, request, principal, session_id, **_):
        return self.rpc("accessibility", "connect_session", str(session_id), principal.id)

    @route("POST", f"{SESSION}/end", summary="End the session one took", tag="accessibility",
           response=SessionSchema, roles=INTERPRETERS, errors=(404, 409))
    def end_relay_session(self, request, principal, session_id, **_):
        return self.rpc("accessibility", "end_session", str(session_id), principal.id)

    @route("GET", f"{SESSION}/transcript",
           summary="The lines of a connected transcription one took, after a line already "
                   "read; 410 once the session ended and its text was deleted",
           tag="accessibility", query=TranscriptQuerySchema, response=TranscriptLineSchema,
           many=True, roles=INTERPRETERS, errors=(404, 409, 410))
    def interpreter_transcript(self, request, principal, session_id, query, **_):
        return self.rpc("accessibility", "interpreter_transcript", str(session_id),
                        principal.id, TranscriptQuerySchema().dump(query))

    @route("POST", f"{SESSION}/transcript",
           summary="Write a line in a connected transcription one took (what the commune's "
                   "agent says)", tag="accessibility", body=NewTranscriptLineSchema,
           response=TranscriptLineSchema, status=201, roles=INTERPRETERS,
           errors=(404, 409, 410))
    def interpreter_says(self, request, principal, session_id, body, **_):
        return self.rpc("accessibility", "interpreter_says", str(session_id), principal.id,
                        body)

    # -- anyone with a link

    @route("POST", "/api/v1/relay/<token>/sessions",
           summary="Ask for the relay from a reception point's link, during its hours; the "
                   "answer's secret, given once, follows the session. A rotated or revoked "
                   "link is 410 Gone", tag="accessibility",
           body=NewSessionSchema, response=OpenedSessionSchema, status=201, public=True,
           errors=(403, 404, 409, 410))
    def open_relay_session(self, request, token, body, **_):
        return self.rpc("accessibility", "open_session", token, body)

    @route("GET", PERSON_SESSION,
           summary="Follow the session one asked for, with its secret", tag="accessibility",
           headers=SessionSecretHeaderSchema, response=SessionSchema, public=True,
           errors=(403, 404, 410))
    def person_session(self, request, token, session_id, headers, **_):
        return self.rpc("accessibility", "person_session", token, str(session_id),
                        headers["secret"])

    @route("POST", f"{PERSON_SESSION}/hang-up",
           summary="Leave the session one asked for: ended if connected, abandoned before",
           tag="accessibility", headers=SessionSecretHeaderSchema, response=SessionSchema,
           public=True, errors=(403, 404, 409, 410))
    def hang_up(self, request, token, session_id, headers, **_):
        return self.rpc("accessibility", "hang_up", token, str(session_id), headers["secret"])

    @route("GET", f"{PERSON_SESSION}/transcript",
           summary="The lines of one's connected transcription, after a line already read",
           tag="accessibility", headers=SessionSecretHeaderSchema,
           query=TranscriptQuerySchema, response=TranscriptLineSchema, many=True,
           public=True, errors=(403, 404, 409, 410))
    def person_transcript(self, request, token, session_id, headers, query, **_):
        return self.rpc("accessibility", "person_transcript", token, str(session_id),
                        headers["secret"], TranscriptQuerySchema().dump(query))

    @route("POST", f"{PERSON_SESSION}/transcript",
           summary="Write a line in one's connected transcription", tag="accessibility",
           headers=SessionSecretHeaderSchema, body=NewTranscriptLineSchema,
           response=TranscriptLineSchema, status=201, public=True,
           errors=(403, 404, 409, 410))
    def person_says(self, request, token, session_id, headers, body, **_):
        return self.rpc("accessibility", "person_says", token, str(session_id),
                        headers["secret"], body)

    @route("GET", "/relay/<token>",
           summary="A reception point's relay page (HTML, in French): the form that asks for "
                   "an interpreter while the reception is open, when it opens again otherwise; "
                   "its problems are HTML pages too (410 for a replaced link)",
           tag="accessibility", query=PageQuerySchema, public=True, errors=(403, 404, 410),
           media_type=HTML)
    def relay_page(self, request, token, **_):
        try:
            point = self.rpc("accessibility", "relay_point", token)
        except CommunsError as error:
            return problem_page(error)
        except Exception as error:
            log.warning("accessibility.relay_page_failed", error=type(error).__name__)
            return problem_page(error)
        return html_response(point_page(point, token))


# -- the relay page -----------------------------------------------------------------------

PAGE = Template("""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>$title</title>
<style>
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif;
       font-size: 1.125rem; line-height: 1.5; color: #1b1b1b; background: #ffffff; }
main { max-width: 40rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; line-height: 1.25; }
fieldset { border: 1px solid #595959; margin: 0 0 1rem; padding: 0.5rem 1rem; min-width: 0; }
legend { font-weight: bold; padding: 0 0.25rem; }
.choice { display: flex; gap: 0.5rem; align-items: flex-start; padding: 0.375rem 0; }
.choice input { width: 1.25rem; height: 1.25rem; margin-top: 0.2rem; flex: none; }
button { font: inherit; font-weight: bold; padding: 0.625rem 1.25rem; color: #ffffff;
         background: #00367a; border: 2px solid #00367a; border-radius: 0.25rem;
         cursor: pointer; max-width: 100%; }
button:disabled { color: #1b1b1b; background: #e5e5e5; border-color: #595959; }
:focus-visible { outline: 3px solid #1b1b1b; outline-offset: 3px; }
button:focus-visible { box-shadow: 0 0 0 2px #ffffff; }
#relay-status { font-weight: bold; min-height: 1.5em; }
h2 { font-size: 1.35rem; }
h3 { font-size: 1.15rem; }
#transcript-lines { padding-left: 1.5rem; }
#transcript-lines li { margin: 0.25rem 0; overflow-wrap: anywhere; }
label[for="transcript-text"] { display: block; font-weight: bold; }
textarea { font: inherit; width: 100%; box-sizing: border-box; margin: 0.25rem 0 0.5rem;
           padding: 0.5rem; border: 2px solid #595959; border-radius: 0.25rem; }
</style>
</head>
<body>
<main>
<h1>$heading</h1>
$content
</main>
</body>
</html>
""")

OPEN = Template("""<p>Le relais d'accessibilité vous met en relation avec cet accueil par un
interprète en langue des signes française, un codeur en langue française parlée complétée ou
une transcription écrite en temps réel.</p>
<form id="relay-form" action="$action" method="post">
<fieldset>
<legend>Mode de communication</legend>
<div class="choice"><input type="radio" id="mode-lsf" name="mode" value="lsf" required>
<label for="mode-lsf">Langue des signes française (LSF)</label></div>
<div class="choice"><input type="radio" id="mode-lfpc" name="mode" value="lfpc">
<label for="mode-lfpc">Langue française parlée complétée (LfPC)</label></div>
<div class="choice"><input type="radio" id="mode-transcription" name="mode"
value="transcription">
<label for="mode-transcription">Transcription écrite en temps réel</label></div>
</fieldset>
<fieldset>
<legend>Où êtes-vous ?</legend>
<div class="choice"><input type="radio" id="channel-telephone" name="channel"
value="telephone" checked>
<label for="channel-telephone">À distance, par téléphone</label></div>
<div class="choice"><input type="radio" id="channel-front-desk" name="channel"
value="front_desk">
<label for="channel-front-desk">Sur place, au guichet de l'accueil</label></div>
</fieldset>
<button type="submit" id="relay-submit">Demander un interprète</button>
</form>
<noscript><p>Pour envoyer votre demande, cette page a besoin de JavaScript.</p></noscript>
<p id="relay-status" role="status" aria-live="polite"></p>
<section id="relay-session" aria-labelledby="session-heading" hidden>
<h2 id="session-heading">Votre communication</h2>
<div id="transcript" hidden>
<h3 id="transcript-heading">Transcription</h3>
<ol id="transcript-lines" aria-labelledby="transcript-heading" aria-live="polite"></ol>
<form id="transcript-form">
<label for="transcript-text">Votre message</label>
<textarea id="transcript-text" name="text" rows="3" maxlength="2000" required></textarea>
<button type="submit" id="transcript-send">Envoyer</button>
</form>
</div>
<p><button type="button" id="relay-hang-up">Raccrocher</button></p>
</section>
<script>
(function () {
  var form = document.getElementById("relay-form");
  var button = document.getElementById("relay-submit");
  var status = document.getElementById("relay-status");
  var area = document.getElementById("relay-session");
  var transcript = document.getElementById("transcript");
  var lines = document.getElementById("transcript-lines");
  var lineForm = document.getElementById("transcript-form");
  var lineText = document.getElementById("transcript-text");
  var hangUp = document.getElementById("relay-hang-up");
  var STATUSES = {
    waiting: "Votre demande est en attente d'un interprète…",
    taken: "Un interprète a pris votre demande : la mise en relation arrive.",
    connected: "Vous êtes en relation avec l'accueil.",
    ended: "La communication est terminée.",
    abandoned: "Votre demande est annulée. Vous pouvez en faire une nouvelle."
  };
  var SPEAKERS = {person: "Vous", interpreter: "L'accueil"};
  var FOLLOW_EVERY = 2000;
  var current = null;
  var lastLine = 0;
  var reading = false;
  var follower = null;
  function say(text) { status.textContent = text; }
  function answerOf(answer) {
    return answer.json().catch(function () { return {}; }).then(function (body) {
      return {ok: answer.ok, status: answer.status, body: body};
    });
  }
  function call(method, path, body) {
    // The secret the opening gave: it stays in this page, never in its address.
    var headers = {"Accept": "application/json", "X-Relay-Session-Secret": current.secret};
    if (body) { headers["Content-Type"] = "application/json"; }
    return fetch(form.action + "/" + current.id + path, {
      method: method, headers: headers, body: body ? JSON.stringify(body) : undefined
    }).then(answerOf);
  }
  function show(session) {
    say(STATUSES[session.status] || "Votre demande est enregistrée.");
    var over = session.status === "ended" || session.status === "abandoned";
    transcript.hidden = over || !(session.status === "connected" &&
                                  current.mode === "transcription");
    if (!transcript.hidden) { readLines(); }
    if (over) {
      clearInterval(follower);
      current = null;
      area.hidden = true;
      button.disabled = false;
    }
  }
  function follow() {
    if (!current) { return; }
    call("GET", "").then(function (answer) { if (answer.ok && current) { show(answer.body); } });
  }
  function readLines() {
    if (reading || !current) { return; }
    reading = true;
    call("GET", "/transcript?after=" + lastLine).then(function (answer) {
      reading = false;
      if (!answer.ok) { return; }
      answer.body.forEach(function (line) {
        var item = document.createElement("li");
        var who = document.createElement("strong");
        who.textContent = SPEAKERS[line.speaker] + " : ";
        item.appendChild(who);
        item.appendChild(document.createTextNode(line.text));
        lines.appendChild(item);
        lastLine = Math.max(lastLine, line.id);
      });
    }).catch(function () { reading = false; });
  }
  lineForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!current || !lineText.value.trim()) { return; }
    call("POST", "/transcript", {text: lineText.value}).then(function (answer) {
      if (answer.ok) {
        lineText.value = "";
        readLines();
      } else {
        say("Votre message n'a pas pu être envoyé. Réessayez.");
      }
    });
  });
  hangUp.addEventListener("click", function () {
    if (!current) { return; }
    call("POST", "/hang-up").then(function (answer) {
      if (answer.ok) { show(answer.body); } else { follow(); }
    });
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    if (!data.get("mode")) {
      say("Choisissez un mode de communication.");
      return;
    }
    button.disabled = true;
    say("Envoi de votre demande…");
    fetch(form.action, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify({mode: data.get("mode"), channel: data.get("channel")})
    }).then(answerOf).then(function (answer) {
      var body = answer.body;
      if (answer.ok) {
        current = {id: body.id, secret: body.secret, mode: body.mode};
        lastLine = 0;
        lines.textContent = "";
        area.hidden = false;
        show(body);
        follower = setInterval(follow, FOLLOW_EVERY);
        return;
      }
      button.disabled = false;
      if (answer.status === 409) {
        var when = /(\\d{2}\\/\\d{2}\\/\\d{4}) à (\\d{2}:\\d{2})/.exec(body.detail || "");
        say(when ? "L'accueil est fermé ; le relais rouvre le " + when[1] + " à " +
                   when[2] + "."
                 : "L'accueil est fermé : le relais n'est pas ouvert en ce moment.");
      } else if (answer.status === 410) {
        say("Ce lien a été remplacé : le site internet de votre commune donne le nouveau.");
      } else {
        say("Votre demande n'a pas pu être envoyée. Réessayez dans un instant.");
      }
    }).catch(function () {
      button.disabled = false;
      say("Votre demande n'a pas pu être envoyée : vérifiez votre connexion et réessayez.");
    });
  });
})();
</script>""")

PROBLEMS = {
    Gone.status: ("Ce lien a été remplacé",
                  "Ce lien vers le relais d'accessibilité a été remplacé ou retiré. Le site "
                  "internet de votre commune donne le lien à utiliser désormais."),
    NotFound.status: ("Lien inconnu",
                      "Ce lien ne mène à aucun relais d'accessibilité. Vérifiez l'adresse, ou "
                      "cherchez le lien du relais sur le site internet de votre commune."),
    Forbidden.status: ("Relais indisponible",
                       "Cette commune ne propose plus le relais d'accessibilité par ce service. "
                       "Son site internet indique comment joindre son accueil."),
}
UNAVAILABLE = ("Relais momentanément indisponible",
               "Le relais d'accessibilité ne répond pas pour le moment. Réessayez dans quelques "
               "minutes.")


def html_response(page, status=200):
    # The token is the page's address: kept out of caches and of other sites' referrers.
    return Response(page, status=status, mimetype=HTML, headers={
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def page(heading, content, title=None):
    return PAGE.substitute(
        title=html.escape(f"{title or heading} — Relais d'accessibilité"),
        heading=html.escape(heading), content=content)


def point_page(point, token):
    if point["open_now"]:
        action = f"/api/v1/relay/{quote(token, safe='')}/sessions"
        content = OPEN.substitute(action=html.escape(action))
    else:
        content = f"<p>{html.escape(closed_sentence(point['next_opening']))}</p>"
    return page(point["name"], content)


def closed_sentence(next_opening):
    if not next_opening:
        return ("L'accueil est fermé ; la date à laquelle le relais rouvre n'est pas encore "
                "fixée.")
    opening = datetime.fromisoformat(next_opening).astimezone(LEGAL_TIME_ZONE)
    return (f"L'accueil est fermé ; le relais rouvre le {opening:%d/%m/%Y} "
            f"à {opening:%H:%M}.")


def problem_page(error):
    """The page of a link that opens nothing, or of a relay that did not answer (503, or 500
    for an unexpected error): HTML, as the page it stands for."""
    status = error.status if isinstance(error, CommunsError) else 500
    if status in PROBLEMS:
        heading, text = PROBLEMS[status]
    else:
        heading, text = UNAVAILABLE
        status = status if status >= 500 else 500
    return html_response(page(heading, f"<p>{html.escape(text)}</p>"), status)
