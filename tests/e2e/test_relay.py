"""The accessibility relay over HTTP (issue 11): a subscribed commune sets its reception hours
and gets its link; a deaf person opens the link's page in a real headless browser (Chromium),
chooses a mode with the keyboard alone and asks for an interpreter; the provider's interpreter
takes, connects and ends the session; the commune's usage shows it. A rotated link answers
410; a commune that does not subscribe has no link; another commune's agent cannot see the
usage. In real-time transcription the person and the interpreter write to each other through
the page and the provider's API, and nothing of the text is left once the person hangs up."""

import shutil
from datetime import UTC, datetime

import pytest

from tests.e2e.support import (
    AGENT_PASSWORD,
    agent_of,
    assert_problem,
    clock_of,
    start_suite,
    wait_for,
)

pytestmark = pytest.mark.broker

LAVERUNE, GRABELS = "34134", "34116"
ALL_DAY = [{"start": "00:00", "end": "24:00"}]
# The relay's clock, whatever day the test runs: a Tuesday of reception, no public holiday.
TUESDAY_10H = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Montpellier
MONTH = "2026-11"
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# WCAG 2.1, 1.4.3: text and its background at least 4.5 to 1.
CONTRAST = """
function luminance(rgb) {
  const [r, g, b] = rgb.match(/\\d+/g).slice(0, 3).map(Number).map(v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function background(element) {
  for (let e = element; e; e = e.parentElement) {
    const colour = getComputedStyle(e).backgroundColor;
    if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') return colour;
  }
  return 'rgb(255, 255, 255)';
}
const ratios = [];
for (const e of document.querySelectorAll('h1, p, label, legend, button, a')) {
  if (!e.textContent.trim()) continue;
  const [l1, l2] = [luminance(getComputedStyle(e).color), luminance(background(e))]
    .sort((a, b) => b - a);
  ratios.push((l1 + 0.05) / (l2 + 0.05));
}
return Math.min(...ratios);
"""


def relay(insee):
    return f"/api/v1/communes/{insee}/accessibility"


@pytest.fixture
def browser():
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.fail("chromium and chromedriver are needed: .ci/run installs them")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=320,720"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def open_point_and_link(agent):
    """A reception point of Lavérune open all week, and its link's token."""
    point = wait_for(lambda: agent.post(f"{relay(LAVERUNE)}/hours", json={
        "name": "Accueil de la mairie", "kind": "town_hall",
        "weekly_hours": {day: ALL_DAY for day in DAYS}}),
        lambda answer: answer.status_code != 403)  # the subscription on its way
    assert point.status_code == 201, point.text
    assert point.json()["open_now"] is True
    link = agent.post(f"{relay(LAVERUNE)}/links", json={"point_id": point.json()["id"]})
    assert link.status_code == 201, link.text
    return point, link.json()["token"]


def interpreter_of(admin_api, api, username):
    """A new interpreter of the relay provider, available in every mode, logged in."""
    created = admin_api.post("/api/v1/accounts", json={
        "username": username, "password": AGENT_PASSWORD, "role": "relay_interpreter"})
    assert created.status_code == 201, created.text
    interpreter = api.as_user(username, AGENT_PASSWORD)
    assert interpreter.put("/api/v1/accessibility/interpreters/me", json={
        "name": "Inès", "modes": ["lsf", "lfpc", "transcription"], "available": True}).ok
    return interpreter


@pytest.fixture
def admin_api(api, start_services, smtp_server, web_config_port):
    admin, runner = start_suite(api, start_services, smtp_server, web_config_port,
                                extra_subscriptions=((LAVERUNE, "accessibility"),))
    clock_of(runner, "accessibility").set(TUESDAY_10H)
    return admin


def test_a_session_opened_from_the_link_is_relayed_and_counted(admin_api, api, browser,
                                                               web_config_port):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    agent = agent_of(admin_api, api, LAVERUNE, "agent.relais.laverune")
    point, token = open_point_and_link(agent)

    browser.get(f"http://127.0.0.1:{web_config_port}/relay/{token}")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert len(browser.find_elements(By.TAG_NAME, "h1")) == 1
    assert browser.find_elements(By.TAG_NAME, "main")
    inputs = browser.find_elements(By.CSS_SELECTOR, "input:not([type=hidden]), select")
    assert inputs
    for field in inputs:  # every input has its label
        labels = browser.find_elements(By.CSS_SELECTOR, f"label[for='{field.get_attribute('id')}']")
        assert labels or field.get_attribute("aria-label"), field.get_attribute("outerHTML")
    assert browser.execute_script(CONTRAST) >= 4.5
    # At 320 px nothing scrolls sideways (a tablet held upright, a phone).
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")

    # The keyboard alone: into the first choice, then to the button, and send.
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.tag_name in ("input", "select", "button")
    focused.send_keys(Keys.SPACE)
    for _ in range(10):
        if browser.switch_to.active_element.tag_name == "button":
            break
        browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.tag_name == "button"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    status = browser.find_element(By.CSS_SELECTOR, "[aria-live]")
    wait_for(lambda: status.text, lambda text: "attente" in text.lower(), seconds=10)
    assert "attente" in status.text.lower()

    interpreter = interpreter_of(admin_api, api, "interprete.lsf")
    (waiting,) = interpreter.get("/api/v1/accessibility/queue").json()
    for step in ("take", "connect", "end"):
        answer = interpreter.post(f"/api/v1/accessibility/sessions/{waiting['id']}/{step}")
        assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "ended"

    usage = agent.get(f"{relay(LAVERUNE)}/usage", params={"month": MONTH}).json()
    assert (usage["sessions"], usage["answered"], usage["unanswered"]) == (1, 1, 0)
    assert usage["reception_minutes"] > 0 and usage["coverage"] == "1.0000"

    rotated = agent.post(f"{relay(LAVERUNE)}/links", json={"point_id": point.json()["id"]})
    assert rotated.status_code == 201
    gone = api.get(f"/relay/{token}")
    assert gone.status_code == 410 and gone.headers["Content-Type"].startswith("text/html")
    assert api.get(f"/relay/{rotated.json()['token']}").status_code == 200
    assert_problem(api.post(f"/api/v1/relay/{token}/sessions", json={"mode": "lsf"}), 410)

    # A point whose reception is open another day only: its page says when the relay reopens.
    closed = agent.post(f"{relay(LAVERUNE)}/hours", json={
        "name": "Services techniques", "kind": "technical_services",
        "weekly_hours": {"thursday": [{"start": "10:00", "end": "11:00"}]}}).json()
    assert closed["open_now"] is False
    closed_link = agent.post(f"{relay(LAVERUNE)}/links", json={"point_id": closed["id"]}).json()
    page = api.get(f"/relay/{closed_link['token']}")
    assert page.status_code == 200 and "rouvre" in page.text
    assert "26/11/2026 à 10:00" in page.text
    assert_problem(api.post(f"/api/v1/relay/{closed_link['token']}/sessions",
                            json={"mode": "lsf"}), 409)

    grabels = agent_of(admin_api, api, GRABELS, "agent.relais.grabels")
    assert_problem(grabels.get(f"{relay(LAVERUNE)}/usage", params={"month": MONTH}), 404)
    assert_problem(grabels.get(f"{relay(GRABELS)}/links"), 403)  # Grabels does not subscribe


def test_a_transcription_is_written_from_the_page_and_deleted_when_the_person_hangs_up(
        admin_api, api, browser, web_config_port):
    from selenium.webdriver.common.by import By

    agent = agent_of(admin_api, api, LAVERUNE, "agent.transcription.laverune")
    _, token = open_point_and_link(agent)
    browser.get(f"http://127.0.0.1:{web_config_port}/relay/{token}")
    browser.find_element(By.CSS_SELECTOR, "label[for='mode-transcription']").click()
    browser.find_element(By.CSS_SELECTOR, "label[for='channel-front-desk']").click()
    browser.find_element(By.ID, "relay-submit").click()
    status = browser.find_element(By.ID, "relay-status")
    assert "attente" in wait_for(lambda: status.text, lambda text: "attente" in text, 10)

    interpreter = interpreter_of(admin_api, api, "interprete.transcription")
    (waiting,) = interpreter.get("/api/v1/accessibility/queue",
                                 params={"mode": "transcription"}).json()
    assert waiting["channel"] == "front_desk"
    session = f"/api/v1/accessibility/sessions/{waiting['id']}"
    for step in ("take", "connect"):
        assert interpreter.post(f"{session}/{step}").status_code == 200
    # The page follows the session by itself and opens its transcription.
    assert "en relation" in wait_for(lambda: status.text, lambda text: "en relation" in text,
                                     10)
    text = browser.find_element(By.ID, "transcript-text")
    assert wait_for(text.is_displayed, bool, 10)
    text.send_keys("Bonjour, je voudrais un rendez-vous pour une carte d'identité.")
    browser.find_element(By.ID, "transcript-send").click()
    lines = wait_for(lambda: interpreter.get(f"{session}/transcript").json(),
                     lambda lines: len(lines) == 1, 10)
    assert [(line["speaker"], line["text"]) for line in lines] == [
        ("person", "Bonjour, je voudrais un rendez-vous pour une carte d'identité.")]
    said = interpreter.post(f"{session}/transcript",
                            json={"text": "Mardi à 14 h, cela vous convient ?"})
    assert said.status_code == 201, said.text
    shown = browser.find_element(By.ID, "transcript-lines")
    assert "Mardi à 14 h" in wait_for(lambda: shown.text, lambda t: "Mardi à 14 h" in t, 10)
    assert shown.text.splitlines() == [
        "Vous : Bonjour, je voudrais un rendez-vous pour une carte d'identité.",
        "L'accueil : Mardi à 14 h, cela vous convient ?"]

    browser.find_element(By.ID, "relay-hang-up").click()
    assert "terminée" in wait_for(lambda: status.text, lambda text: "terminée" in text, 10)
    assert_problem(interpreter.get(f"{session}/transcript"), 410)
    assert_problem(interpreter.post(f"{session}/end"), 409)
    usage = agent.get(f"{relay(LAVERUNE)}/usage", params={"month": MONTH}).json()
    assert usage["by_mode"]["transcription"] == 1 and usage["answered"] == 1
