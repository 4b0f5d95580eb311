"""A title's life through the gateway, against our Chorus Pro server (issue 4): the 2022 titles
are issued and deposited as e-invoices that pass the EN 16931 schema, Chorus Pro makes them
available, a contestation within 8 jours francs is recorded and a late one refused, the
Metropole corrects the contested title by a credit note and a new title, and a payment closes
it. Chorus Pro failing at the first attempt still ends with one deposit per title."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from facturx import xml_check_xsd
from stdnum.fr import siret

import demo
from contracts.communes import MEMBER_COMMUNES
from servicekit.clock import LEGAL_TIME_ZONE
from tests.e2e.support import wait_for

pytestmark = pytest.mark.broker

LAVERUNE, MONTPELLIER = "34134", "34172"
# A valid SIRET of SIREN 243400017 (the Metropole sets its own in COMMUNS_METROPOLE_SIRET).
METROPOLE_SIRET = "24340001700006"


def a_siret_of(siren):
    """The first establishment number that makes a valid SIRET of ``siren``."""
    return next(candidate for nic in range(1, 100)
                if siret.is_valid(candidate := f"{siren}{nic:05d}"))


@pytest.fixture
def suite(start_services, chorus_sandbox):
    """The whole suite, billing pointed at our Chorus Pro server, a round every 0.2 s."""
    from servicekit.cli import RUNNABLE, service_class

    return start_services(
        *(service_class(name) for name in RUNNABLE),
        **chorus_sandbox.billing_config(),
        BILLING_ROUND_SECONDS=0.2,
        METROPOLE_SIRET=METROPOLE_SIRET,
    )


@pytest.fixture
def admin_api(api, suite):
    from conftest import ADMIN_PASSWORD, ADMIN_USERNAME

    return api.as_user(ADMIN_USERNAME, ADMIN_PASSWORD)


@pytest.fixture
def issued_2022(admin_api):
    """The reference convention registered, every commune also on e-administration so that each
    has a title, every commune's SIRET set, 2022's titles issued."""
    reference = json.loads(demo.CONVENTION_FILE.read_text(encoding="utf-8"))
    convention = demo.convention_from(reference)
    for subscribed in convention["initial_subscriptions"].values():
        subscribed += [] if "eadmin" in subscribed else ["eadmin"]
    registered = admin_api.post("/api/v1/conventions", json=convention)
    assert registered.status_code == 201, registered.text
    for insee, commune in MEMBER_COMMUNES.items():
        answer = admin_api.patch(f"/api/v1/communes/{insee}",
                                 json={"siret": a_siret_of(commune.siren)})
        assert answer.status_code == 200, answer.text
    laverune_draft = wait_for(lambda: titles(admin_api, LAVERUNE, 2022),
                              lambda found: found and found[0]["total"] == "150.11")
    assert laverune_draft[0]["total"] == "150.11"
    issued = admin_api.post("/api/v1/billing/titles/issue", json={"year": 2022})
    assert issued.status_code == 200, issued.text
    return {t["commune"]: t["number"] for t in issued.json()["issued"]}


def titles(api, insee, year):
    answer = api.get(f"/api/v1/communes/{insee}/billing/titles", params={"year": year})
    assert answer.status_code == 200, answer.text
    return answer.json()


def title(api, insee, number):
    answer = api.get(f"/api/v1/communes/{insee}/billing/titles/{number}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_for_state(api, insee, number, state):
    found = wait_for(lambda: title(api, insee, number), lambda t: t["state"] == state)
    assert found["state"] == state, found
    return found


def deposit(api, year=2022):
    answer = api.post("/api/v1/billing/titles/deposit", json={"year": year})
    assert answer.status_code == 202, answer.text
    return answer.json()


def paris_noon(day):
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=LEGAL_TIME_ZONE).astimezone(UTC)


def test_titles_live_from_deposit_to_payment(admin_api, issued_2022, chorus_sandbox):
    numbers = issued_2022
    assert deposit(admin_api)["requested"] == sorted(numbers.values())
    assert deposit(admin_api)["requested"] == []  # once

    for insee, number in numbers.items():
        deposited = wait_for_state(admin_api, insee, number, "deposited")
        assert deposited["flow_number"]
        xml = admin_api.get(f"/api/v1/communes/{insee}/billing/titles/{number}/invoice.xml")
        assert xml.status_code == 200
        assert xml.headers["Content-Type"].startswith("application/xml")
        assert xml_check_xsd(xml.content, flavor="factur-x", level="en16931")
    assert sorted(i["numeroFacture"] for i in chorus_sandbox.invoices()) == sorted(
        numbers.values())

    # Chorus Pro makes them available: Lavérune today, Montpellier three weeks ago.
    today = datetime.now(LEGAL_TIME_ZONE).date()
    long_ago = today - timedelta(days=21)
    laverune, montpellier = numbers[LAVERUNE], numbers[MONTPELLIER]
    chorus_sandbox.set_status(laverune, "MISE_A_DISPOSITION", at=paris_noon(today))
    chorus_sandbox.set_status(montpellier, "MISE_A_DISPOSITION", at=paris_noon(long_ago))
    received = wait_for_state(admin_api, LAVERUNE, laverune, "received")
    assert received["received_on"] == today.isoformat()
    deadlines = admin_api.get("/api/v1/billing/deadlines",
                              params={"received_on": today.isoformat()}).json()
    assert (received["contest_until"], received["due_on"]) == (
        deadlines["contest_until"], deadlines["due_on"])

    # A late contestation is refused with the day the window closed.
    late = wait_for_state(admin_api, MONTPELLIER, montpellier, "accepted")
    refused = admin_api.post(
        f"/api/v1/communes/{MONTPELLIER}/billing/titles/{montpellier}/contestation",
        json={"emailed_on": today.isoformat(), "reason": "Trop tard"})
    assert refused.status_code == 422, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    closed_on = date.fromisoformat(late["contest_until"]).strftime("%d/%m/%Y")
    assert closed_on in refused.json()["detail"]

    # Lavérune contests in time; the Metropole corrects its population, then the title.
    contested = admin_api.post(
        f"/api/v1/communes/{LAVERUNE}/billing/titles/{laverune}/contestation",
        json={"emailed_on": today.isoformat(), "reason": "Population 2023 erronée"})
    assert contested.status_code == 201, contested.text
    assert contested.json()["state"] == "contested"
    corrected_population = admin_api.put(f"/api/v1/communes/{LAVERUNE}/populations/2023",
                                         json={"population": 3000})
    assert corrected_population.status_code == 200, corrected_population.text
    needs = wait_for(lambda: title(admin_api, LAVERUNE, laverune),
                     lambda t: t["needs_correction"])
    assert needs["needs_correction"]
    decided = admin_api.post(
        f"/api/v1/communes/{LAVERUNE}/billing/titles/{laverune}/decision",
        json={"decision": "correct"})
    assert decided.status_code == 200, decided.text
    correction = decided.json()["correction"]
    credit_note = correction["credit_note"]["number"]
    corrected = correction["corrected_title"]["number"]
    assert decided.json()["title"]["state"] == "cancelled"
    wait_for_state(admin_api, LAVERUNE, credit_note, "deposited")
    wait_for_state(admin_api, LAVERUNE, corrected, "deposited")
    credit_xml = admin_api.get(
        f"/api/v1/communes/{LAVERUNE}/billing/titles/{credit_note}/invoice.xml").content
    assert xml_check_xsd(credit_xml, flavor="factur-x", level="en16931")
    assert b">381<" in credit_xml and laverune.encode() in credit_xml

    # The corrected title is received, then paid in two parts.
    chorus_sandbox.set_status(corrected, "MISE_A_DISPOSITION", at=paris_noon(today))
    new_title = wait_for_state(admin_api, LAVERUNE, corrected, "received")
    total = new_title["total"]
    first = admin_api.post(f"/api/v1/communes/{LAVERUNE}/billing/titles/{corrected}/payments",
                           json={"paid_on": today.isoformat(), "amount": "10.00"})
    assert first.status_code == 201, first.text
    assert first.json()["state"] == "received"
    rest = f"{float(total) - 10:.2f}"
    last = admin_api.post(f"/api/v1/communes/{LAVERUNE}/billing/titles/{corrected}/payments",
                          json={"paid_on": today.isoformat(), "amount": rest})
    assert last.status_code == 201, last.text
    assert (last.json()["state"], last.json()["outstanding"]) == ("paid", "0.00")
    assert [h["state"] for h in last.json()["history"]][:3] == ["issued", "deposited",
                                                               "received"]


@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_chorus_failing_at_first_still_gets_each_title_once(
        admin_api, issued_2022, chorus_sandbox, fault):
    chorus_sandbox.fail("deposer/flux", fault, times=1, after_store=fault == "timeout")
    deposit(admin_api)
    for insee, number in issued_2022.items():
        deposited = wait_for_state(admin_api, insee, number, "deposited")
        assert deposited["exchanges"], "every call is kept against the title"
    deposited_numbers = [i["numeroFacture"] for i in chorus_sandbox.invoices()]
    assert sorted(deposited_numbers) == sorted(issued_2022.values())


def test_bad_contestations_and_payments_are_refused_naming_the_field(admin_api, issued_2022):
    number = issued_2022[LAVERUNE]
    path = f"/api/v1/communes/{LAVERUNE}/billing/titles/{number}"
    for body, field in (({"emailed_on": "2022-13-01", "reason": "x"}, "emailed_on"),
                        ({"emailed_on": "2022-03-01"}, "reason")):
        answer = admin_api.post(f"{path}/contestation", json=body)
        assert answer.status_code == 422, answer.text
        assert field in answer.json()["errors"]
    answer = admin_api.post(f"{path}/payments", json={"paid_on": "2022-03-01", "amount": 10.5})
    assert answer.status_code == 422 and "amount" in answer.json()["errors"], answer.text
    other = admin_api.get(f"/api/v1/communes/{MONTPELLIER}/billing/titles/{number}")
    assert other.status_code == 404
    assert title(admin_api, LAVERUNE, number)["contestations"] == []
