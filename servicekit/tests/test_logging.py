"""Log lines: JSON off a terminal, and every line of a worker says which service, entrypoint
and request it belongs to."""

import json
import logging

import eventlet
import pytest
from eventlet.event import Event
from nameko.testing.services import dummy, entrypoint_hook

from contracts.errors import NotFound
from servicekit.logging import CORRELATION_ID, LoggingContext, current_correlation_id, get_logger

log = get_logger(__name__)
framework_log = logging.getLogger("kombu.example")  # how a library's lines arrive


class LoggedService:
    name = "logged"
    log_context = LoggingContext()

    @dummy
    def work(self):
        log.info("work.done", parcels=3)
        framework_log.warning("a library warns")
        return current_correlation_id()

    @dummy
    def meet(self, label, arrived, other_arrived):
        """Logs once, waits until the other worker has bound its own context, logs again."""
        log.info("meeting.arrived", label=label)
        arrived.send()
        other_arrived.wait()
        log.info("meeting.leaving", label=label)

    @dummy(expected_exceptions=NotFound)
    def refuse(self):
        raise NotFound("No such parcel.")

    @dummy
    def crash(self):
        raise RuntimeError("a bug")


@pytest.fixture
def logged(container_factory):
    container = container_factory(LoggedService, {})
    container.start()
    return container


def test_off_a_terminal_each_line_is_a_json_object(configured_logging):
    stream = configured_logging()
    log.info("parcel.registered", area_m2=120)
    logging.getLogger("nameko.example").warning("from %s", "the standard library")
    structured, foreign = stream.records()
    assert structured["event"] == "parcel.registered" and structured["area_m2"] == 120
    assert structured["level"] == "info" and structured["timestamp"].endswith("Z")
    assert structured["logger"] == __name__
    assert (foreign["event"], foreign["level"]) == ("from the standard library", "warning")


def test_on_a_terminal_lines_are_for_people(configured_logging):
    stream = configured_logging(tty=True)
    log.info("parcel.registered", area_m2=120)
    line = stream.getvalue()
    assert "parcel.registered" in line and "area_m2" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_the_log_file_gets_json_lines_whatever_the_console_shows(configured_logging, tmp_path):
    log_file = tmp_path / "log" / "communs.log"
    configured_logging(tty=True, log_file=log_file)
    log.info("parcel.registered", area_m2=120)
    (line,) = log_file.read_text().splitlines()
    assert json.loads(line)["event"] == "parcel.registered"


def test_the_level_setting_and_the_quiet_libraries_drop_lines(configured_logging):
    stream = configured_logging(level="WARNING")
    log.info("not shown at warning level")
    logging.getLogger("kombu.connection").info("connected")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade")
    log.warning("shown")
    assert [record["event"] for record in stream.records()] == ["shown"]


def test_every_line_a_worker_writes_says_its_service_entrypoint_and_request(
    configured_logging, logged
):
    stream = configured_logging()
    with entrypoint_hook(logged, "work", context_data={CORRELATION_ID: "req-1234"}) as work:
        assert work() == "req-1234"
    lines = [line for line in stream.records() if line["event"] in ("work.done", "a library warns")]
    assert len(lines) == 2
    for line in lines:
        assert (line["service"], line["entrypoint"], line["correlation_id"]) == (
            "logged",
            "work",
            "req-1234",
        )
    # Outside any worker, nothing of the request lingers.
    assert current_correlation_id() is None
    log.info("between.requests")
    assert "correlation_id" not in stream.records()[-1]


def test_a_worker_no_request_started_begins_its_own_correlation_id(configured_logging, logged):
    stream = configured_logging()
    with entrypoint_hook(logged, "work") as work:
        first = work()
        second = work()
    assert first and second and first != second
    done = [line["correlation_id"] for line in stream.records() if line["event"] == "work.done"]
    assert done == [first, second]


def test_concurrent_workers_never_see_each_others_correlation_id(configured_logging, logged):
    stream = configured_logging()
    a_arrived, b_arrived = Event(), Event()

    def meet(label, arrived, other_arrived):
        with entrypoint_hook(logged, "meet", context_data={CORRELATION_ID: f"req-{label}"}) as hook:
            hook(label, arrived, other_arrived)

    workers = [
        eventlet.spawn(meet, "a", a_arrived, b_arrived),
        eventlet.spawn(meet, "b", b_arrived, a_arrived),
    ]
    for worker in workers:
        worker.wait()
    lines = [line for line in stream.records() if line["event"].startswith("meeting.")]
    assert sorted((line["event"], line["label"]) for line in lines) == [
        ("meeting.arrived", "a"),
        ("meeting.arrived", "b"),
        ("meeting.leaving", "a"),
        ("meeting.leaving", "b"),
    ]
    for line in lines:
        assert line["correlation_id"] == f"req-{line['label']}"


def test_an_expected_error_is_one_line_and_a_bug_keeps_its_traceback(configured_logging, logged):
    stream = configured_logging()
    with entrypoint_hook(logged, "refuse") as refuse, pytest.raises(NotFound):
        refuse()
    with entrypoint_hook(logged, "crash") as crash, pytest.raises(RuntimeError):
        crash()
    (expected,) = [line for line in stream.records() if "(expected)" in line["event"]]
    assert expected["level"] == "warning"
    assert "exception" not in expected and "Traceback" not in json.dumps(expected)
    (bug,) = [line for line in stream.records() if line["level"] == "error"]
    assert "RuntimeError: a bug" in bug["exception"]
    assert bug["correlation_id"] and bug["entrypoint"] == "crash"


def test_each_worker_ends_with_its_outcome_and_duration(configured_logging, logged):
    stream = configured_logging()
    with entrypoint_hook(logged, "work", context_data={CORRELATION_ID: "req-5678"}) as work:
        work()
    with entrypoint_hook(logged, "refuse") as refuse, pytest.raises(NotFound):
        refuse()
    with entrypoint_hook(logged, "crash") as crash, pytest.raises(RuntimeError):
        crash()
    finished = [line for line in stream.records() if line["event"] == "worker.finished"]
    assert [(line["entrypoint"], line["outcome"]) for line in finished] == [
        ("work", "ok"), ("refuse", "expected_error"), ("crash", "failure")]
    assert finished[0]["correlation_id"] == "req-5678" and finished[0]["service"] == "logged"
    assert all(line["duration_ms"] >= 0 for line in finished)
