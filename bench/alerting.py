"""A TéléAlerte campaign at the scale of a large commune: 100,000 consenting recipients alerted
by SMS and e-mail (200,000 deliveries), timed from the launch until every receipt is in, with
the alerting service's memory at its peak.

Each run (``python -m bench.alerting RECIPIENTS``) is a process of its own, under eventlet as
the suite's tests run: it seeds a fresh alerting database (``servicekit.database.migrate``, then
bulk core inserts of the contacts, their group and the commune's subscription to alerting, the
row ``FollowsSubscriptions`` reads), serves an SMTP sink that counts what it accepts, the local
operator (``operator_sandbox``, a receipt 0.5 s after each SMS) and a forwarder of the
operator's receipts to the ``operator_callback`` RPC, as the gateway's callback route does;
then it starts the service alone (``communs run alerting``) in a vhost of its own, launches the
campaign by RPC and polls ``campaign`` every 0.5 s. A smaller run beside the large one shows
whether the service's memory grows with the recipients.

A figure made of lost or doubled messages is no figure: the SMTP sink must have accepted as
many messages as the campaign counts e-mails delivered, and the operator as many SMS as it
counts SMS delivered; ``measure`` says which checks failed.
"""

import sys

if __name__ == "__main__":
    # The standalone RPC proxies need eventlet's sockets (bench.raw_rpc); the sink, the
    # operator and the forwarder then run as greenthreads, as they do under ``nameko test``.
    import warnings

    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()

import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from contextlib import ExitStack, contextmanager  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from bench import say  # noqa: E402

RECIPIENTS = 100_000
SMALL_RECIPIENTS = 10_000
COMMUNE = "34134"  # Lavérune
GROUP = "bench"
CAMPAIGN = {"scenario": "inondation", "groups": [GROUP], "channels": ["sms", "email"]}
CHANNELS = tuple(CAMPAIGN["channels"])
POLL_SECONDS = 0.5
OPERATOR_DELAY_SECONDS = 0.5
STARTUP_TIMEOUT = 60.0
LAUNCH_TIMEOUT = 300.0
# A campaign still running after this is reported as such, with where it stood.
CAMPAIGN_TIMEOUT = 1800.0
STOP_TIMEOUT = 30.0
RPC_TIMEOUT = 60.0
# The timeline kept in the JSON: one sample every so many seconds.
TIMELINE_STEP_SECONDS = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LOGS = Path(__file__).resolve().parent.parent / "var" / "bench"


def phone(number):
    """A valid French mobile number (+33 6 12 …) for each ``number``, none ending in 98 or
    99: the operator sandbox fails those, for a while or for good."""
    return f"+33612{(number // 98) * 100 + number % 98:06d}"


# -- the database, seeded before the service starts --------------------------------------------

def seed(data_dir, recipients):
    """The alerting database of ``data_dir`` migrated, with ``recipients`` consenting contacts
    of Lavérune in one group and Lavérune's subscription to alerting; seconds it took."""
    from sqlalchemy import insert

    from servicekit.config import database_url
    from servicekit.database import make_engine, migrate
    from servicekit.tables import subscription_changes
    from services.alerting.models import Contact, ContactGroup

    started = time.perf_counter()
    engine = make_engine(database_url({"DATA_DIR": str(data_dir)}, "alerting"))
    migrate(engine, "services.alerting")
    now = datetime.now(UTC)
    slice_size = 10_000
    with engine.begin() as connection:
        connection.execute(insert(subscription_changes).values(
            event_id=uuid.uuid4(), commune=COMMUNE, application="alerting", change="added",
            effective_from=date(2022, 1, 1), occurred_at=now))
        for first in range(0, recipients, slice_size):
            contacts = [{
                "id": uuid.uuid4(), "commune": COMMUNE, "external_id": str(number),
                "name": f"Habitant {number}", "phone": phone(number),
                "email": f"habitant.{number}@example.org", "address": None, "language": "fr",
                "kind": "resident", "groups": [GROUP], "consent": True,
                "consent_method": "formulaire", "unsubscribed_at": None, "updated_at": now,
            } for number in range(first, min(first + slice_size, recipients))]
            connection.execute(insert(Contact.__table__), contacts)
            connection.execute(insert(ContactGroup.__table__), [
                {"contact_id": contact["id"], "commune": COMMUNE, "name": GROUP}
                for contact in contacts])
    engine.dispose()
    return time.perf_counter() - started


# -- what the service talks to, served in this process -----------------------------------------

class CountingSmtpHandler:
    """An SMTP sink that counts the messages and recipients it accepts, keeping no body."""

    def __init__(self):
        self.messages = 0
        self.recipients = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        self.recipients += len(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_sink():
    import socket

    from aiosmtpd.controller import Controller

    # aiosmtpd narrates every session at INFO: 500 sessions of 200 messages here.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    with socket.socket() as probe:  # aiosmtpd 1.4 does not report a port chosen for 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = CountingSmtpHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


class CallbackForwarder:
    """What the gateway's callback route does: the operator's JSON to ``operator_callback``,
    through RPC proxies kept open, one per request under way (a pool)."""

    def __init__(self, amqp_uri):
        from eventlet.queue import LightQueue

        self.config = {"AMQP_URI": amqp_uri}
        self._idle = LightQueue()
        self._proxies = []
        self.forwarded = 0
        self.refused = 0
        self.failed = 0
        self.first_failure = None

    def _proxy(self):
        from eventlet.queue import Empty
        from nameko.standalone.rpc import ServiceRpcProxy

        try:
            return self._idle.get_nowait()
        except Empty:
            proxy = ServiceRpcProxy("alerting", self.config, timeout=RPC_TIMEOUT)
            self._proxies.append(proxy)
            return proxy.start()

    def __call__(self, environ, start_response):
        from werkzeug.wrappers import Request, Response

        from contracts.errors import CommunsError

        request = Request(environ)
        token = request.path.rstrip("/").rpartition("/")[2]
        proxy = self._proxy()
        try:
            answer, status = proxy.operator_callback(token, json.loads(request.get_data())), 200
            self.forwarded += 1
        except CommunsError as refused:  # a wrong token, a body that is no receipt
            answer, status = {"detail": str(refused)}, 400
            self.refused += 1
        except Exception as error:  # noqa: BLE001 - the operator tries again after a 5xx
            answer, status = {"detail": type(error).__name__}, 502
            self.failed += 1
            self.first_failure = self.first_failure or repr(error)[:300]
        finally:
            self._idle.put(proxy)
        return Response(json.dumps(answer), status=status,
                        mimetype="application/json")(environ, start_response)

    def close(self):
        for proxy in self._proxies:
            proxy.stop()


class _Served:
    def __init__(self, url):
        self.url = url

    def close(self):
        pass


def status_reads(app):
    """How many times the service read an SMS's status (its late-receipt reader)."""
    with app._lock:  # noqa: SLF001 - the sandbox's own state, read in its process
        return app._calls["delivery_report"]  # noqa: SLF001


def operator_counts(app):
    """The SMS the operator took, by its final status, its receipts posted to us, and the
    status reads it answered."""
    with app._lock:  # noqa: SLF001 - the sandbox's own state, read in its process
        statuses = {}
        for message in app._messages:  # noqa: SLF001
            if message.channel == "sms":
                statuses[message.status] = statuses.get(message.status, 0) + 1
        callbacks = app._callbacks  # noqa: SLF001
        return {"sms": sum(statuses.values()), "sms_statuses": statuses,
                "receipts_posted": len(callbacks),
                "receipts_answered_2xx": sum(1 for c in callbacks if c["delivered"]),
                "receipt_attempts": sum(c["attempts"] for c in callbacks),
                "status_reads": app._calls["delivery_report"]}  # noqa: SLF001


# -- the service, in a process of its own ------------------------------------------------------

def _service_environment(amqp_uri, data_dir, smtp_port, operator_url, callback_url, token):
    environment = {name: value for name, value in os.environ.items()
                   if not name.endswith("_DATABASE_URL")}
    environment.update(
        AMQP_URI=amqp_uri,
        COMMUNS_DATA_DIR=str(data_dir),
        # Log lines cost CPU on the hot path; the figures are of the work, not of logging.
        COMMUNS_LOG_LEVEL="WARNING",
        COMMUNS_SMTP_HOST="127.0.0.1",
        COMMUNS_SMTP_PORT=str(smtp_port),
        COMMUNS_SMTP_SENDER="TeleAlerte Laverune <alerte@communs.test>",
        COMMUNS_OPERATOR_API_URL=operator_url,
        COMMUNS_OPERATOR_CALLBACK_URL=callback_url,
        COMMUNS_OPERATOR_CALLBACK_TOKEN=token,
    )
    return environment


class ServiceProcess:
    def __init__(self, process, log_path):
        self.process = process
        self.log_path = log_path

    def _status(self):
        lines = Path(f"/proc/{self.process.pid}/status").read_text().splitlines()
        values = dict(line.split(":", 1) for line in lines if line.startswith(("VmRSS", "VmHWM")))
        return {name: int(value.split()[0]) / 1024 for name, value in values.items()}

    def rss_mib(self):
        return self._status()["VmRSS"]

    def peak_rss_mib(self):
        return self._status()["VmHWM"]

    def cpu_seconds(self):
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def log_tail(self, lines=30):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self):
        if self.process.poll() is not None:
            return f"had exited with {self.process.returncode}"
        self.process.send_signal(signal.SIGTERM)
        try:
            return f"stopped on SIGTERM, exit {self.process.wait(STOP_TIMEOUT)}"
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return f"ignored SIGTERM for {STOP_TIMEOUT:g} s; killed"


@contextmanager
def alerting_service(environment, log_path):
    communs = Path(sys.executable).parent / "communs"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(communs), "run", "alerting"], env=environment,
                                   stdout=log, stderr=subprocess.STDOUT)
    service = ServiceProcess(process, log_path)
    try:
        yield service
    finally:
        say(f"alerting {service.stop()}")


def wait_until_healthy(service, rpc):
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"alerting exited with {service.process.returncode}:\n"
                               f"{service.log_tail()}")
        try:
            if rpc.health()["status"] == "ok":
                return
        except Exception:  # noqa: BLE001 - no queue yet, or still migrating
            time.sleep(0.2)
    raise RuntimeError(f"alerting did not answer health within {STARTUP_TIMEOUT:g} s:\n"
                       f"{service.log_tail()}")


# -- the campaign ----------------------------------------------------------------------------

def _bench_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def follow(rpc, campaign_id, service, forwarder, operator_app, started):
    """Polls the campaign until it completes (or ``CAMPAIGN_TIMEOUT``): the moment each
    milestone was first seen, in seconds after ``started``, the e-mail delivered by the time
    the last SMS receipt came in, and a timeline."""
    milestones = {"first_delivered": None, "completed": None}
    email_when_sms_settled = None
    for channel in CHANNELS:
        milestones[f"{channel}_all_left"] = None  # none queued: every message handed over
        milestones[f"{channel}_all_settled"] = None  # none queued nor sent: 100 %
    timeline, last_kept = [], None
    while True:
        time.sleep(POLL_SECONDS)
        campaign = rpc.campaign(COMMUNE, campaign_id)
        at = time.perf_counter() - started
        counts = campaign["counts"]
        if milestones["first_delivered"] is None and campaign["totals"]["delivered"]:
            milestones["first_delivered"] = at
        for channel in CHANNELS:
            if milestones[f"{channel}_all_left"] is None and not counts[channel]["queued"]:
                milestones[f"{channel}_all_left"] = at
            if (milestones[f"{channel}_all_settled"] is None
                    and not counts[channel]["queued"] and not counts[channel]["sent"]):
                milestones[f"{channel}_all_settled"] = at
                if channel == "sms":
                    email_when_sms_settled = counts["email"]["delivered"]
        done = campaign["status"] != "running"
        if done and milestones["completed"] is None and campaign["status"] == "completed":
            milestones["completed"] = at
        timed_out = at > CAMPAIGN_TIMEOUT
        if last_kept is None or at - last_kept >= TIMELINE_STEP_SECONDS or done or timed_out:
            last_kept = at
            timeline.append({
                "s": round(at, 1), "service_cpu_s": round(service.cpu_seconds(), 1),
                "bench_cpu_s": round(_bench_cpu_seconds(), 1),
                # Receipts the operator's callbacks brought; the others, the late reader.
                "receipts_forwarded": forwarder.forwarded,
                "status_reads": status_reads(operator_app),
                **{channel: {status: counts[channel][status]
                             for status in ("queued", "sent", "delivered", "failed")}
                   for channel in CHANNELS}})
            say(f"{at:6.1f} s: " + "; ".join(
                f"{channel} {counts[channel]['queued']} queued, {counts[channel]['sent']} sent, "
                f"{counts[channel]['delivered']} delivered" for channel in CHANNELS))
        if done or timed_out:
            return campaign, milestones, email_when_sms_settled, timeline


def _rounded(value, digits=1):
    return None if value is None else round(value, digits)


def run(recipients):
    """One campaign to ``recipients`` people, everything started and stopped here."""
    from nameko.standalone.rpc import ServiceRpcProxy

    import servicekit.errors  # noqa: F401 - contract errors cross RPC as themselves
    from bench.broker import fresh_vhost
    from operator_sandbox.server import make_app
    from servicekit.sandbox_testing import serving

    # amqp warns of each confirm that arrives while a proxy's channel closes (the health calls
    # made before the service's queue exists): nothing of the figures.
    logging.getLogger("amqp").setLevel(logging.ERROR)
    token = secrets.token_urlsafe(16)
    log_path = LOGS / f"alerting-{recipients}.log"
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="communs-bench-alerting-")))
        say(f"alerting {recipients:,}: seeding {recipients:,} contacts")
        seed_seconds = seed(data_dir, recipients)
        amqp_uri = stack.enter_context(fresh_vhost())
        smtp, smtp_port = stack.enter_context(smtp_sink())
        operator_app = make_app({}, delay_seconds=OPERATOR_DELAY_SECONDS)
        stack.callback(operator_app.close)
        operator = stack.enter_context(serving(operator_app, _Served))
        forwarder = CallbackForwarder(amqp_uri)
        stack.callback(forwarder.close)
        callbacks = stack.enter_context(serving(forwarder, _Served))
        service = stack.enter_context(alerting_service(_service_environment(
            amqp_uri, data_dir, smtp_port, operator.url, f"{callbacks.url}/callbacks", token),
            log_path))
        rpc = stack.enter_context(ServiceRpcProxy("alerting", {"AMQP_URI": amqp_uri},
                                                  timeout=RPC_TIMEOUT))
        wait_until_healthy(service, rpc)
        rss_at_start = service.rss_mib()
        cpu_at_start, bench_cpu_at_start = service.cpu_seconds(), _bench_cpu_seconds()

        say(f"alerting {recipients:,}: launching the campaign")
        started = time.perf_counter()
        with ServiceRpcProxy("alerting", {"AMQP_URI": amqp_uri},
                             timeout=LAUNCH_TIMEOUT) as launcher:
            launched = launcher.launch_campaign(COMMUNE, CAMPAIGN, "bench")
        launch_seconds = time.perf_counter() - started
        peak_after_launch = service.peak_rss_mib()
        campaign, milestones, email_when_sms_settled, timeline = follow(
            rpc, launched["id"], service, forwarder, operator_app, started)
        service_cpu = service.cpu_seconds() - cpu_at_start
        bench_cpu = _bench_cpu_seconds() - bench_cpu_at_start
        peak, rss_at_end = service.peak_rss_mib(), service.rss_mib()
        operator_seen = operator_counts(operator_app)
        smtp_messages = smtp.messages

    counts = campaign["counts"]
    deliveries = campaign["totals"]["total"]
    overall = milestones["completed"]
    checks = {
        "recipients": (launched["recipients"], recipients),
        "deliveries": (deliveries, recipients * len(CHANNELS)),
        "campaign completed": (campaign["status"], "completed"),
        "SMTP messages = e-mail delivered": (smtp_messages, counts["email"]["delivered"]),
        "operator SMS = SMS delivered": (operator_seen["sms"], counts["sms"]["delivered"]),
        "failed deliveries": (campaign["totals"]["failed"], 0),
    }
    return {
        "recipients": recipients,
        "deliveries": deliveries,
        "seed_seconds": round(seed_seconds, 1),
        "launch_seconds": round(launch_seconds, 2),
        "first_delivery_seconds": _rounded(milestones["first_delivered"], 2),
        "channels": {channel: {
            "total": counts[channel]["total"], "delivered": counts[channel]["delivered"],
            "failed": counts[channel]["failed"],
            "all_left_seconds": _rounded(milestones[f"{channel}_all_left"]),
            "all_settled_seconds": _rounded(milestones[f"{channel}_all_settled"]),
        } for channel in CHANNELS},
        "email_delivered_when_sms_settled": email_when_sms_settled,
        "completed_seconds": _rounded(overall),
        "deliveries_per_second": round(deliveries / overall) if overall else None,
        "status": campaign["status"],
        "sms_segments": campaign["sms_segments"], "cost": campaign["cost"],
        "service": {
            "rss_at_start_mib": round(rss_at_start), "peak_rss_after_launch_mib":
                round(peak_after_launch), "peak_rss_mib": round(peak),
            "rss_at_end_mib": round(rss_at_end), "cpu_seconds": round(service_cpu, 1),
        },
        "bench_process_cpu_seconds": round(bench_cpu, 1),
        "smtp_messages": smtp_messages,
        "operator": operator_seen,
        "forwarder": {"forwarded": forwarder.forwarded, "refused": forwarder.refused,
                      "failed": forwarder.failed, "first_failure": forwarder.first_failure,
                      "proxies": len(forwarder._proxies)},  # noqa: SLF001
        "checks": {name: {"value": value, "expected": expected, "ok": value == expected}
                   for name, (value, expected) in checks.items()},
        "timeline": timeline,
        "service_log": str(log_path),
    }


# -- from the bench ----------------------------------------------------------------------------

def _run_in_own_process(recipients):
    # stderr passes through: the run narrates its progress there.
    done = subprocess.run([sys.executable, "-m", "bench.alerting", str(recipients)],
                          stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"bench.alerting {recipients} failed with {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def failed_checks(figures):
    """``"run: check (value, expected)"`` for each check a run failed."""
    return [f"{name}: {check} ({result['value']!r}, expected {result['expected']!r})"
            for name, run_figures in figures.items() if isinstance(run_figures, dict)
            for check, result in run_figures.get("checks", {}).items() if not result["ok"]]


def measure(recipients=RECIPIENTS, small=SMALL_RECIPIENTS):
    """The small run, then the large one, each in a process of its own."""
    return {"small": _run_in_own_process(small), "large": _run_in_own_process(recipients)}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]))))
