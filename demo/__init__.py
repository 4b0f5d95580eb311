"""``make demo``: the 2022–2024 convention registered through the gateway of a running suite,
then Annex 1 of 2022 and Lavérune's 2022 title, checked against the agreement's example
(67.34 + 46.49 + 36.28 = 150.11 €, Art. 4).

Everything goes through the public API, as a Metropole operator would do it: log in, check the
31 member communes, register the convention (a 409 means it already is, so the demo runs
twice), wait for billing to follow subscriptions' events, print. Exit status: 0 when the
figures are the agreement's, 1 when they differ, 2 when the demo could not get that far.
"""

import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import requests

from contracts.communes import MEMBER_COMMUNES

REPOSITORY = Path(__file__).resolve().parent.parent
CONVENTION_FILE = REPOSITORY / "services" / "subscriptions" / "data" / "convention-2022-2024.json"
DEFAULT_GATEWAY_URL = "http://127.0.0.1:8000"
EVERY_COMMUNE = "*"
LAVERUNE = "34134"
HTTP_TIMEOUT = 15
# Billing follows subscriptions through events: a draft shows up within a second or so.
TITLE_WAIT_SECONDS = 30
POLL_INTERVAL = 0.25


class DemoFailed(Exception):
    """The demo could not get as far as the figures; the message says what to do."""


def settings(environ):
    """Where the gateway is and whose credentials to use, as README explains them."""
    username = environ.get("COMMUNS_ADMIN_USERNAME") or "admin"
    password = environ.get("COMMUNS_ADMIN_PASSWORD")
    if not password:
        secret = Path(environ.get("COMMUNS_DATA_DIR") or "./var") / "secrets" / \
            "initial-admin-password"
        try:
            password = secret.read_text().strip()
        except OSError as error:
            raise DemoFailed(
                f"No admin password: COMMUNS_ADMIN_PASSWORD is not set and {secret} cannot be "
                f"read ({error.strerror}). Start the suite once with `make run`, or set "
                "COMMUNS_DATA_DIR to its data folder."
            ) from None
    base_url = (environ.get("COMMUNS_GATEWAY_URL") or DEFAULT_GATEWAY_URL).rstrip("/")
    return base_url, username, password


class Gateway:
    """The suite's public API, with the admin's token once logged in."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.session = requests.Session()

    def request(self, method, path, **kwargs):
        try:
            return self.session.request(method, self.base_url + path, timeout=HTTP_TIMEOUT,
                                        **kwargs)
        except requests.ConnectionError:
            raise DemoFailed(
                f"The gateway at {self.base_url} does not answer. Start the suite with "
                "`make run` (or set COMMUNS_GATEWAY_URL to where it listens)."
            ) from None
        except requests.Timeout:
            raise DemoFailed(f"{method} {path} got no answer within {HTTP_TIMEOUT} s.") from None

    def log_in(self, username, password):
        answer = self.request("POST", "/api/v1/auth/token",
                              json={"username": username, "password": password})
        if answer.status_code != 200:
            raise DemoFailed(
                f"Logging in as {username!r} failed ({answer.status_code}: {detail(answer)}). "
                "Check COMMUNS_ADMIN_USERNAME and COMMUNS_ADMIN_PASSWORD, or the password in "
                "$COMMUNS_DATA_DIR/secrets/initial-admin-password."
            )
        self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def get(self, path, **params):
        answer = self.request("GET", path, params=params)
        if answer.status_code != 200:
            raise DemoFailed(f"GET {path} answered {answer.status_code}: {detail(answer)}")
        return answer.json()


def detail(answer):
    try:
        return answer.json().get("detail") or answer.text[:300]
    except ValueError:
        return answer.text[:300]


def convention_from(reference):
    """The reference file as ``POST /api/v1/conventions`` takes it: "*" stands for every
    member commune, so each commune gets what "*" lists plus its own."""
    for_everyone = reference["initial_subscriptions"].get(EVERY_COMMUNE, [])
    subscriptions = {insee: list(for_everyone) for insee in sorted(MEMBER_COMMUNES)}
    for insee, applications in reference["initial_subscriptions"].items():
        if insee != EVERY_COMMUNE:
            subscriptions[insee] += [code for code in applications if code not in for_everyone]
    return {
        "title": reference["title"],
        "period_start": reference["period"]["start"],
        "period_end": reference["period"]["end"],
        "population_vintage": reference["population_basis"]["vintage"],
        "applications": [{"application": app["code"], "annual_cost": app["annual_cost"]}
                         for app in reference["applications"]],
        "initial_subscriptions": subscriptions,
    }


def check_communes(gateway, out):
    communes = gateway.get("/api/v1/communes")
    found = {commune["insee"] for commune in communes}
    missing = sorted(set(MEMBER_COMMUNES) - found)
    if missing:
        raise DemoFailed(f"{len(found)} communes answered; missing: {', '.join(missing)}.")
    print(f"The {len(found)} member communes are there.", file=out)


def register(gateway, convention, out):
    answer = gateway.request("POST", "/api/v1/conventions", json=convention)
    if answer.status_code == 201:
        print(f"Registered «{convention['title']}» {convention['period_start']} – "
              f"{convention['period_end']} ({answer.json()['id']}).", file=out)
    elif answer.status_code == 409:
        print(f"A convention already covers {convention['period_start']} – "
              f"{convention['period_end']}: {detail(answer)}", file=out)
    else:
        raise DemoFailed(f"Registering the convention answered {answer.status_code}: "
                         f"{detail(answer)}")


def billed_title(titles):
    """The title in force among a commune's documents of one year: the issued one, or the
    draft while none is."""
    in_force = [t for t in titles if t["kind"] == "title" and t["status"] != "cancelled"]
    issued = [t for t in in_force if t["status"] == "issued"]
    return (issued or in_force or [None])[0]


def wait_for_title(gateway, insee, year, lines, seconds=TITLE_WAIT_SECONDS):
    """The commune's title of ``year`` once it bills ``lines`` lines: billing builds its view
    from events, so it may lag the registration a little."""
    path = f"/api/v1/communes/{insee}/billing/titles"
    deadline = time.monotonic() + seconds
    title = None
    while time.monotonic() < deadline:
        answer = gateway.request("GET", path, params={"year": year})
        # 404 until billing has heard of a convention covering the year.
        if answer.status_code == 200:
            title = billed_title(answer.json())
            if title is not None and len(title["lines"]) == lines:
                return title
        elif answer.status_code != 404:
            raise DemoFailed(f"GET {path} answered {answer.status_code}: {detail(answer)}")
        time.sleep(POLL_INTERVAL)
    shown = "no title" if title is None else f"a title of {len(title['lines'])} line(s)"
    raise DemoFailed(f"After {seconds} s billing shows {shown} for {insee} in {year}, not "
                     f"{lines} lines: is the billing service running?")


def table(headers, rows, align_right):
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells):
        return "  ".join(str(cell).rjust(width) if right else str(cell).ljust(width)
                         for cell, width, right in zip(cells, widths, align_right, strict=True))

    return "\n".join([line(headers), line(["-" * width for width in widths]), *map(line, rows)])


def print_annex(annex, out):
    inhabitants = f"{annex['total_population']:,}".replace(",", "\u202f")
    print(f"\nAnnex 1 — {annex['year']}: populations of vintage {annex['population_vintage']}, "
          f"{inhabitants} inhabitants in the 31 communes", file=out)
    rows = [(a["application"], a["annual_cost"], a["metropole_share"], a["per_inhabitant"],
             a["subscribed_share"], a["unsubscribed_share"]) for a in annex["applications"]]
    print(table(("application", "annual cost", "Metropole's half", "per inhabitant",
                 "subscribers pay", "Metropole bears"),
                rows, (False, True, True, True, True, True)), file=out)
    print("(euros; what communes that do not subscribe would pay, the Metropole bears)",
          file=out)


def print_title(title, commune_name, out):
    print(f"\n{commune_name}'s title for {title['year']} ({title['status']}"
          f"{', ' + title['number'] if title['number'] else ''}):", file=out)
    rows = [(line["description"], line["amount"]) for line in title["lines"]]
    print(table(("line", "amount €"), rows, (False, True)), file=out)
    amounts = " + ".join(line["amount"] for line in title["lines"])
    print(f"{amounts} = {title['total']} €", file=out)


def differences(title, expected):
    """What differs from the agreement's example, in words; nothing when it matches."""
    billed = {line["application"]: Decimal(line["amount"]) for line in title["lines"]}
    wanted = {code: Decimal(amount) for code, amount in expected["lines"].items()}
    found = [f"{code}: billed {billed.get(code)}, expected {wanted.get(code)}"
             for code in sorted(billed.keys() | wanted.keys())
             if billed.get(code) != wanted.get(code)]
    if Decimal(title["total"]) != Decimal(expected["total"]):
        found.append(f"total: billed {title['total']}, expected {expected['total']}")
    return found


def run(base_url, username, password, out=sys.stdout):
    reference = json.loads(CONVENTION_FILE.read_text(encoding="utf-8"))
    expected = reference["expected"][LAVERUNE]
    gateway = Gateway(base_url)
    gateway.log_in(username, password)
    print(f"Logged in to {base_url} as {username}.", file=out)
    check_communes(gateway, out)
    register(gateway, convention_from(reference), out)
    title = wait_for_title(gateway, LAVERUNE, expected["year"], len(expected["lines"]))
    print_annex(gateway.get("/api/v1/billing/shares", year=expected["year"]), out)
    print_title(title, MEMBER_COMMUNES[LAVERUNE].name, out)
    wrong = differences(title, expected)
    if wrong:
        print("\nThe figures differ from the agreement's (Art. 4):", file=out)
        for difference in wrong:
            print(f"  {difference}", file=out)
        return 1
    print("\nThe agreement's example, to the cent (Art. 4).", file=out)
    return 0


def main(environ=None, out=sys.stdout):
    try:
        return run(*settings(os.environ if environ is None else environ), out=out)
    except DemoFailed as error:
        print(f"demo: {error}", file=sys.stderr)
        return 2
