"""Fault tests, part 1: processes and the broker (rows 1, 2, 4, 5, 10, 11 and 25 of the test
list in reliability-perf-anchors.md §4, and the split suite's acceptance point).

Each test runs a split suite (tests/chaos/suite.py) on a RabbitMQ node of the tests' own
(tests/chaos/broker.py), in a vhost of its own, injects one fault, records its row in the
report, then asserts that nothing was lost and nothing was applied twice.

The stream of subscription changes is published as subscriptions' outbox relay publishes it
(``publish_event``): a thousand changes through the gateway would need a thousand distinct
requests the Articles 9 and 10 accept, and what is under test is billing's inbox, not
subscriptions' rules. The acceptance point goes through the gateway end to end.
"""

import json
import signal
import time
import uuid
from datetime import UTC, date, datetime

import eventlet
import pytest
import requests
from sqlalchemy import create_engine, insert

import demo
from contracts.catalogue import APPLICATION_CODES
from contracts.communes import MEMBER_COMMUNES
from contracts.events import POPULATION_UPDATED, SUBSCRIPTION_CHANGED
from servicekit.outbox import make_envelope
from servicekit.tables import outbox
from tests.chaos.broker import ChaosBroker
from tests.chaos.conftest import scale
from tests.chaos.proxy import LinkProxy
from tests.chaos.suite import SplitSuite, publish_event

# The signal method fails the test where it stands, so that the fixtures still stop the
# processes and the broker node; full scale runs for minutes.
pytestmark = [pytest.mark.broker, pytest.mark.timeout(scale(240, 1800), method="signal")]

CHANGES = "billing.on_subscription_changed"
POPULATIONS = "billing.on_population_updated"
RPC_TIMEOUT = 3.0
COMMUNES = sorted(MEMBER_COMMUNES)


@pytest.fixture(scope="module")
def chaos_broker(tmp_path_factory):
    node = ChaosBroker(tmp_path_factory.mktemp("rabbit")).start()
    yield node
    node.stop()


@pytest.fixture
def vhost(chaos_broker, request):
    name = f"chaos-{request.node.name[:40]}-{uuid.uuid4().hex[:6]}"
    return name, chaos_broker.new_vhost(name)


@pytest.fixture
def split_suite(tmp_path, vhost):
    """``split_suite(**env)``: a suite on the test's vhost; every process stopped at the end."""
    suites = []

    def make(amqp_uri=None, **env):
        suite = SplitSuite(tmp_path / "var", amqp_uri or vhost[1],
                           COMMUNS_RPC_TIMEOUT=RPC_TIMEOUT, **env)
        suites.append(suite)
        return suite

    yield make
    for suite in suites:
        suite.stop_all()


# -- what billing did with what was sent


def changes(count, start=0):
    """``count`` distinct subscription changes, spread over the 31 communes."""
    return [{"commune": COMMUNES[i % len(COMMUNES)],
             "application": APPLICATION_CODES[i % len(APPLICATION_CODES)],
             "change": ("added", "removed")[(i // len(COMMUNES)) % 2],
             "effective_from": date(2023 + i % 2, 1, 1).isoformat(),
             "convention_id": str(uuid.uuid4()), "request_id": None}
            for i in range(start, start + count)]


def processed(suite, consumer):
    """{event id (hex): rows} of billing's inbox for ``consumer``."""
    suite.check_alive()
    return dict(suite.rows("billing", "SELECT event_id, count(*) FROM processed_events "
                           "WHERE consumer = ? GROUP BY event_id", consumer))


def applied_changes(suite):
    return dict(suite.rows("billing", "SELECT event_id, count(*) FROM subscription_changes "
                           "GROUP BY event_id"))


def outcome(sent_ids, inbox, effects=None):
    """(lost, duplicated): sent but never applied, and applied more than once, by the inbox
    and, when given, by the side effect's own rows."""
    sent = {uuid.UUID(event_id).hex for event_id in sent_ids}
    lost = len([e for e in sent if e not in inbox or (effects is not None and e not in effects)])
    duplicated = sum(n - 1 for e, n in inbox.items() if e in sent and n > 1)
    if effects is not None:
        duplicated += sum(n - 1 for e, n in effects.items() if e in sent and n > 1)
    return lost, duplicated


def wait_until(condition, seconds, interval=0.1):
    """Seconds until ``condition()`` held, or None if it did not within ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(interval)
    return None


def all_in(suite, sent_ids, consumer):
    wanted = {uuid.UUID(event_id).hex for event_id in sent_ids}
    return lambda: wanted <= set(processed(suite, consumer))


def stream(amqp_uri, event_type, datas, per_second):
    """Publishes ``datas`` in a greenthread at about ``per_second``; ``.wait()`` gives the ids."""
    def run():
        ids = []
        for start in range(0, len(datas), 10):
            ids += publish_event(amqp_uri, event_type, datas[start:start + 10])
            time.sleep(10 / per_second)
        return ids
    return eventlet.spawn(run)


def duplicates_refused(suite):
    return len(suite.log_events("billing", "event.duplicate_ignored"))


# -- row 1: billing killed while it handles a stream of changes


def test_billing_killed_mid_stream_applies_every_change_once(split_suite, vhost, chaos_report):
    count = scale(100, 1000)
    suite = split_suite()
    suite.start("billing")
    publishing = stream(suite.amqp_uri, SUBSCRIPTION_CHANGED, changes(count), per_second=50)
    wait_until(lambda: len(processed(suite, CHANGES)) >= count // 3, 60, interval=0.02)
    suite.kill("billing", signal.SIGKILL)
    seen_before_kill = len(processed(suite, CHANGES))
    time.sleep(1)
    restarted_at = time.monotonic()
    suite.start("billing")
    resumed = time.monotonic() - restarted_at
    sent = publishing.wait()
    redelivery = wait_until(lambda: len(processed(suite, CHANGES)) > seen_before_kill, 30)
    took = wait_until(all_in(suite, sent, CHANGES), 120)
    lost, duplicated = outcome(sent, processed(suite, CHANGES), applied_changes(suite))

    chaos_report.row(1, "SIGKILL billing mid-stream of subscription changes",
                     sent=f"{len(sent)} changes", found=f"{len(sent) - lost} applied",
                     lost=lost, duplicated=duplicated,
                     applied_before_kill=seen_before_kill,
                     redelivery_delay_s=_s(None if redelivery is None else resumed + redelivery),
                     caught_up_s=_s(took), redeliveries_refused=duplicates_refused(suite))
    assert (lost, duplicated) == (0, 0)


# -- the acceptance point: billing down, the rest answers, its changes wait for it


def test_billing_down_answers_503_while_the_rest_answers_and_its_changes_wait(
        split_suite, chaos_report):
    suite = split_suite()
    suite.start("identity", "subscriptions", "billing", "gateway")
    admin = suite.client()
    convention = demo.convention_from(json.loads(demo.CONVENTION_FILE.read_text("utf-8")))
    registered = admin.post(f"{suite.gateway_url}/api/v1/conventions", json=convention,
                            timeout=30)
    assert registered.status_code == 201, registered.text
    initial = sum(len(apps) for apps in convention["initial_subscriptions"].values())
    followed = wait_until(lambda: len(applied_changes(suite)) >= initial, 60)
    assert followed is not None, "billing never followed the convention"
    before = set(applied_changes(suite))

    suite.kill("billing", signal.SIGKILL)
    asked_at = time.monotonic()
    billing = admin.get(f"{suite.gateway_url}/api/v1/communes/34134/billing/titles",
                        params={"year": 2023}, timeout=30)
    billing_took = time.monotonic() - asked_at
    others = {path: admin.get(f"{suite.gateway_url}{path}", timeout=30).status_code
              for path in ("/api/v1/me", "/api/v1/communes", "/api/v1/communes/34134")}
    accepted = []
    for insee in COMMUNES:
        filed = admin.post(f"{suite.gateway_url}/api/v1/communes/{insee}/subscription-requests",
                           json={"application": "participation", "action": "add",
                                 "received_on": "2022-06-15"}, timeout=30)
        assert filed.status_code == 201, filed.text
        decided = admin.post(f"{suite.gateway_url}/api/v1/communes/{insee}/subscription-requests/"
                             f"{filed.json()['id']}/decision", json={"decision": "accept"},
                             timeout=30)
        assert decided.status_code == 200, decided.text
        accepted.append(decided.json()["id"])
    suite.start("billing")
    new = lambda: set(applied_changes(suite)) - before  # noqa: E731
    took = wait_until(lambda: len(new()) >= len(accepted), 60)
    time.sleep(1)  # room for a duplicate to show
    lost = len(accepted) - len(new())
    per_request = suite.rows("billing", "SELECT count(*) FROM subscription_changes WHERE "
                             "application = 'participation' GROUP BY commune")
    duplicated = sum(n - 1 for (n,) in per_request if n > 1)
    problem = billing.json() if billing.headers.get("Content-Type", "").startswith(
        "application/problem+json") else {}

    chaos_report.row("1b", "billing SIGKILLed in a split suite: gateway and catch-up",
                     sent=f"{len(accepted)} accepted requests while billing was down",
                     found=f"{len(new())} applied after its restart", lost=lost,
                     duplicated=duplicated, billing_status=billing.status_code,
                     billing_answer_s=_s(billing_took),
                     names_billing="billing" in problem.get("detail", ""),
                     other_statuses="/".join(str(s) for s in others.values()),
                     caught_up_s=_s(took))
    assert billing.status_code == 503, billing.text
    assert billing.headers["Content-Type"] == "application/problem+json"
    assert "billing" in problem.get("detail", ""), problem
    assert billing_took <= RPC_TIMEOUT + 1.0
    assert set(others.values()) == {200}, others
    assert (lost, duplicated) == (0, 0)


# -- row 2: every connection closed by the broker while handlers run


def test_connections_closed_mid_stream_commit_no_duplicate(split_suite, chaos_broker,
                                                           chaos_report):
    count = scale(100, 1000)
    suite = split_suite()
    suite.start("billing")
    publishing = stream(suite.amqp_uri, SUBSCRIPTION_CHANGED, changes(count), per_second=50)
    wait_until(lambda: len(processed(suite, CHANGES)) >= count // 3, 60, interval=0.02)
    seen = len(processed(suite, CHANGES))
    closed_at = time.monotonic()
    chaos_broker.close_all_connections()
    # Back to work: the first change billing records after every connection was closed.
    reconnect = wait_until(lambda: len(processed(suite, CHANGES)) > seen, 60, interval=0.02)
    reconnect = None if reconnect is None else time.monotonic() - closed_at
    sent = publishing.wait()
    took = wait_until(all_in(suite, sent, CHANGES), 120)
    lost, duplicated = outcome(sent, processed(suite, CHANGES), applied_changes(suite))

    chaos_report.row(2, "close_all_connections during billing's handlers",
                     sent=f"{len(sent)} changes", found=f"{len(sent) - lost} applied",
                     lost=lost, duplicated=duplicated,
                     reconnect_ms=None if reconnect is None else round(reconnect * 1000),
                     redeliveries_refused=duplicates_refused(suite), caught_up_s=_s(took),
                     billing_alive=suite.processes["billing"].poll() is None)
    assert suite.processes["billing"].poll() is None, "billing died with its connection"
    assert (lost, duplicated) == (0, 0)


# -- row 4: the broker's application stopped while subscriptions' outbox publishes


def test_broker_stopped_while_the_outbox_publishes_loses_nothing(split_suite, chaos_broker,
                                                                  chaos_report):
    count, outage = scale(100, 1000), scale(5, 30)
    suite = split_suite()
    suite.start("identity", "subscriptions", "billing", "gateway")
    admin = suite.client()
    # Half is written before the outage, the relay under way with it; half during the outage,
    # for the relay to retry.
    sent = _write_population_events(suite, count // 2)
    wait_until(lambda: _published(suite, sent) > 0, 30, interval=0.02)
    chaos_broker.stop_app()
    stopped_at = time.monotonic()
    sent += _write_population_events(suite, count - count // 2, first=count // 2)
    statuses, slowest = [], 0.0
    while time.monotonic() - stopped_at < outage:
        asked_at = time.monotonic()
        try:
            statuses.append(admin.get(f"{suite.gateway_url}/api/v1/communes",
                                      timeout=RPC_TIMEOUT + 10).status_code)
        except requests.RequestException:
            statuses.append("no answer")
        slowest = max(slowest, time.monotonic() - asked_at)
        time.sleep(0.5)
    during = {"published": _published(suite, sent)}
    chaos_broker.start_app()
    started_at = time.monotonic()
    first_handled = wait_until(lambda: len(processed(suite, POPULATIONS)) > 0
                               and _handled_since(suite, started_at), 180)
    took = wait_until(all_in(suite, sent, POPULATIONS), 300)
    gateway_back = wait_until(lambda: _answers(admin, suite), 60)
    lost, duplicated = outcome(sent, processed(suite, POPULATIONS))
    lag = suite.rows("subscriptions", "SELECT max(julianday(published_at) - "
                     "julianday(created_at)) * 86400 FROM outbox WHERE event_type = ?",
                     POPULATION_UPDATED.name)[0][0]
    errors = [s for s in statuses if s == "no answer" or (isinstance(s, int) and s >= 500
                                                            and s != 503)]

    chaos_report.row(4, f"stop_app {outage} s while subscriptions' outbox publishes",
                     sent=f"{count} outbox events", found=f"{count - lost} handled once",
                     lost=lost, duplicated=duplicated,
                     published_before_start_app=during["published"],
                     max_outbox_lag_s=_s(lag), recovery_to_first_handled_s=_s(first_handled),
                     all_handled_s=_s(took),
                     gateway_answers=_counts(statuses), gateway_slowest_s=_s(slowest),
                     gateway_recovered_s=_s(gateway_back))
    assert (lost, duplicated) == (0, 0)
    assert errors == [], statuses
    assert set(statuses) <= {503}, statuses
    assert gateway_back is not None


def _write_population_events(suite, count, first=0):
    """``count`` population.updated events written straight into subscriptions' outbox, as its
    service writes them; their event ids."""
    engine = create_engine(f"sqlite:///{suite.database('subscriptions')}",
                           connect_args={"timeout": 30})
    now = datetime.now(UTC)
    rows = []
    for i in range(first, first + count):
        data = {"commune": COMMUNES[i % len(COMMUNES)], "vintage": 2030 + i // len(COMMUNES),
                "population": 1000 + i}
        envelope = make_envelope(POPULATION_UPDATED, data, now, data["commune"])
        rows.append({"event_id": uuid.UUID(envelope["event_id"]),
                     "event_type": POPULATION_UPDATED.name, "envelope": envelope,
                     "correlation_id": None, "created_at": now, "attempts": 0,
                     "next_attempt_at": now})
    with engine.begin() as connection:
        connection.execute(insert(outbox), rows)
    engine.dispose()
    return [row["envelope"]["event_id"] for row in rows]


def _published(suite, sent):
    wanted = {uuid.UUID(event_id).hex for event_id in sent}
    return len([e for (e,) in suite.rows("subscriptions", "SELECT event_id FROM outbox WHERE "
                                          "published_at IS NOT NULL") if e in wanted])


def _handled_since(suite, started_at):
    since = datetime.now(UTC).timestamp() - (time.monotonic() - started_at)
    (latest,) = suite.rows("billing", "SELECT max(processed_at) FROM processed_events "
                           "WHERE consumer = ?", POPULATIONS)[0]
    return latest is not None and datetime.fromisoformat(latest).replace(
        tzinfo=UTC).timestamp() >= since


def _answers(admin, suite):
    try:
        return admin.get(f"{suite.gateway_url}/api/v1/communes", timeout=10).status_code == 200
    except requests.RequestException:
        return False


# -- row 5: the node restarted with persistent messages ready


def test_broker_restart_keeps_ready_persistent_messages(split_suite, chaos_broker, vhost,
                                                        chaos_report):
    count = scale(100, 500)
    suite = split_suite()
    suite.start("billing")  # declares its durable queues
    suite.kill("billing", signal.SIGTERM)
    sent = publish_event(suite.amqp_uri, SUBSCRIPTION_CHANGED, changes(count))
    (billing,) = [s for s in SUBSCRIPTION_CHANGED.subscribers if s.service == "billing"]
    queue = SUBSCRIPTION_CHANGED.queue_name(billing)
    before = chaos_broker.list_queues(vhost[0]).get(queue, (0, 0))[0]
    chaos_broker.restart()
    after = chaos_broker.list_queues(vhost[0]).get(queue, (0, 0))[0]
    suite.start("billing")
    took = wait_until(all_in(suite, sent, CHANGES), 120)
    lost, duplicated = outcome(sent, processed(suite, CHANGES), applied_changes(suite))

    chaos_report.row(5, "broker node restarted, billing's queue holding messages",
                     sent=f"{count} persistent changes", found=f"{count - lost} applied",
                     lost=lost, duplicated=duplicated,
                     ready_after_restart_over_before=f"{after}/{before}", applied_s=_s(took))
    assert before == after == count
    assert (lost, duplicated) == (0, 0)


# -- row 10: the broker link goes silent (accepts, never forwards)


def test_blackholed_link_is_detected_by_heartbeat_and_nothing_is_lost(
        split_suite, chaos_broker, vhost, chaos_report):
    heartbeat = scale(5, 60)
    # A silent peer is given up after about three heartbeat intervals (measured: 14 s for 5 s):
    # a shorter silence would end before anyone noticed it.
    silence = 3 * heartbeat
    count = scale(100, 1000)
    proxy = LinkProxy("127.0.0.1", chaos_broker.port).start()
    try:
        through_proxy = vhost[1].replace(f":{chaos_broker.port}/", f":{proxy.port}/")
        suite = split_suite(amqp_uri=through_proxy, COMMUNS_HEARTBEAT=heartbeat)
        suite.start("billing")
        direct = vhost[1]
        first = publish_event(direct, SUBSCRIPTION_CHANGED, changes(count // 2))
        wait_until(all_in(suite, first, CHANGES), 60)
        links = proxy.links()
        proxy.blackhole()
        blackholed_at = time.monotonic()
        during = publish_event(direct, SUBSCRIPTION_CHANGED, changes(count - count // 2,
                                                                     start=count // 2))
        # Noticed: billing (its heartbeat) or the broker (its own) gave up a link gone silent.
        detected = wait_until(lambda: not links <= proxy.links(), silence)
        time.sleep(max(0.0, silence - (time.monotonic() - blackholed_at)))
        proxy.pass_through()
        sent = first + during
        resumed = wait_until(all_in(suite, sent, CHANGES), 120)
        lost, duplicated = outcome(sent, processed(suite, CHANGES), applied_changes(suite))
        alive = suite.processes["billing"].poll() is None
        suite.stop_all()  # before the proxy goes: the link cut, billing would not stop cleanly
    finally:
        proxy.close()

    chaos_report.row(10, f"broker link blackholed {silence:g} s, heartbeat {heartbeat} s",
                     sent=f"{count} changes", found=f"{count - lost} applied", lost=lost,
                     duplicated=duplicated, time_to_detect_s=_s(detected),
                     time_to_resume_s=_s(resumed),
                     billing_alive=alive)
    assert detected is not None, "the silent link was never noticed"
    assert alive
    assert (lost, duplicated) == (0, 0)


# -- row 11: the memory alarm blocks publishers during gateway writes


def test_memory_alarm_answers_503_within_the_deadline_then_recovers(split_suite, chaos_broker,
                                                                    chaos_report):
    alarm = scale(5, 20)
    suite = split_suite()
    suite.start("identity", "subscriptions", "gateway")
    admin = suite.client()

    def write(population):
        asked_at = time.monotonic()
        try:
            status = admin.put(f"{suite.gateway_url}/api/v1/communes/34134/populations/2031",
                               json={"population": population},
                               timeout=RPC_TIMEOUT + 30).status_code
        except requests.RequestException:
            status = "no answer"
        return status, time.monotonic() - asked_at

    assert write(3000)[0] == 200
    chaos_broker.set_memory_high_watermark(0.0000001)
    try:
        raised_at = time.monotonic()
        answers = []
        while time.monotonic() - raised_at < alarm:
            answers.append(write(3001 + len(answers)))
    finally:
        chaos_broker.set_memory_high_watermark(0.4)
    reset_at = time.monotonic()
    recovered = wait_until(lambda: write(4000)[0] == 200, 60, interval=0.5)
    recovered = None if recovered is None else time.monotonic() - reset_at
    statuses = [status for status, _ in answers]
    slowest = max((took for _, took in answers), default=0.0)
    failed = [s for s in statuses if s != 503]

    chaos_report.row(11, f"memory alarm {alarm} s during gateway writes",
                     sent=f"{len(answers)} writes", found=_counts(statuses), lost=0,
                     duplicated=0, error_rate=f"{len(failed)}/{len(statuses)} not 503",
                     slowest_answer_s=_s(slowest), recovery_s=_s(recovered))
    assert failed == [], statuses
    assert slowest <= RPC_TIMEOUT + 1.0
    assert recovered is not None


# -- row 25: SIGTERM while workers are busy


def test_sigterm_while_handlers_run_stops_gracefully_without_redelivery(split_suite,
                                                                       chaos_report):
    count = scale(100, 1000)
    suite = split_suite()
    suite.start("billing")
    publishing = stream(suite.amqp_uri, SUBSCRIPTION_CHANGED, changes(count), per_second=100)
    wait_until(lambda: len(processed(suite, CHANGES)) >= count // 3, 60, interval=0.02)
    shutdown = suite.kill("billing", signal.SIGTERM)
    exit_code = suite.exit_codes["billing"]
    sent = publishing.wait()
    suite.start("billing")
    took = wait_until(all_in(suite, sent, CHANGES), 120)
    lost, duplicated = outcome(sent, processed(suite, CHANGES), applied_changes(suite))
    redelivered = duplicates_refused(suite)

    chaos_report.row(25, "SIGTERM billing while its handlers run",
                     sent=f"{count} changes", found=f"{count - lost} applied", lost=lost,
                     duplicated=duplicated, shutdown_s=_s(shutdown), exit_code=exit_code,
                     redeliveries=redelivered, caught_up_s=_s(took))
    assert exit_code == 0
    assert shutdown < 30
    assert redelivered == 0
    assert (lost, duplicated) == (0, 0)


def _s(seconds):
    return None if seconds is None else round(seconds, 2)


def _counts(statuses):
    counted = {}
    for status in statuses:
        counted[status] = counted.get(status, 0) + 1
    return ", ".join(f"{n}×{status}" for status, n in sorted(counted.items(), key=str))
