"""Start the suite, measure it beside same-run baselines, print and save the figures.

``python -m bench [--seconds N] [--only PART]``; ``--only rules`` times billing's rules alone,
without the suite, ``--only alerting`` a TéléAlerte campaign to 100,000 recipients alone,
``--only gateway|events|ramp|memory`` one part of the suite's figures (the suite started for
it, its memory measured idle and after)."""

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench import alerting, events, gateway, measures, opendata, report, say
from bench.broker import fresh_vhost
from bench.suite import SuiteFailed, running_suite

OUTPUT = measures.REPOSITORY / "var" / "bench"
# Half a core of someone else's work (a test run in the same tree) moves the figures visibly.
BUSY_SHARE = 0.25
# Parts of issue 12's figures that need the suite; ``--only`` runs one.
SUITE_PARTS = ("gateway", "events", "ramp", "memory")


def measure_floor(seconds):
    # Half windows: the floor is a reference, not the subject, and the bench stays under ~2 min.
    say(f"generator floor: a do-nothing eventlet WSGI server, {seconds / 2:g} s per concurrency")
    return measures.http_floor(seconds / 2)


def measure_billing_rules():
    # Before the suite starts: pure CPU in this process, which the suite would share.
    say(f"billing's rules: Annex 1 and every title for {measures.BILLING_COMMUNES:,} communes")
    return measures.billing_rules()


def measure_everything(suite, amqp_uri, seconds):
    say("creating a Lavérune agent through POST /api/v1/accounts")
    username, password = measures.create_agent(suite)
    token = measures.access_token(suite, username, password)
    say(f"GET /api/v1/me at c=1 for {seconds:g} s")
    figures = {"me_c1": measures.me_latency_at_concurrency_1(suite, token, seconds)}
    say(f"GET /api/v1/me at c=16 for {seconds:g} s")
    figures["me_c16"] = measures.me_throughput_at_concurrency_16(suite, token, seconds)
    say(f"GET /health at c=1 for {seconds:g} s")
    figures["health_c1"] = measures.health_latency_at_concurrency_1(suite, seconds)
    # Timed just before the logins, so that both see the same neighbours on the machine.
    say("timing argon2 while the suite idles")
    figures["argon2_verify_ms"] = measures.argon2_verify_ms()
    say(f"POST /api/v1/auth/token at c=4, GET /api/v1/me at c=1 beside, for {seconds:g} s")
    figures["logins_c4"] = measures.logins_at_concurrency_4(
        suite, username, password, token, seconds
    )
    say(f"raw RPC to identity.health from a standalone proxy for {seconds:g} s")
    figures["raw_rpc_c1"] = measures.raw_rpc_at_concurrency_1(amqp_uri, seconds)
    return figures, token


def measure_suite_parts(suite, amqp_uri, seconds, parts, token=None):
    """The parts of issue 12 named in ``parts``, with the suite's memory idle (before any of
    them, and before ``measure_everything`` if it ran) measured by the caller."""
    if token is None:
        say("creating a Lavérune agent through POST /api/v1/accounts")
        token = measures.access_token(suite, *measures.create_agent(suite))
    admin_token = measures.access_token(suite, measures.ADMIN_USERNAME, suite.admin_password)
    figures = {}
    if "gateway" in parts:
        figures["gateway"] = gateway.against_ceiling(suite, amqp_uri, token, admin_token,
                                                     seconds)
    if "ramp" in parts:
        figures["ramp"] = gateway.ramp(suite, amqp_uri, token, seconds / 2)
    if "events" in parts:
        say(f"{events.SAMPLES} change requests accepted, each followed to billing's database")
        figures["events"] = events.change_to_billing(suite, amqp_uri)
    if parts == {"memory"}:
        # Memory alone still needs a load to be "under load": both routes at c=16.
        for send in (gateway.read_route(suite, token), gateway.write_route(suite, admin_token)):
            measures.measured_load(suite, send, 16, seconds)
    return figures


def measure_suite(amqp_uri, seconds, parts, everything):
    """Starts the suite, measures it idle, then ``everything`` (the /me, login and raw RPC
    figures) if asked and the ``parts``, then its memory after them."""
    with running_suite(amqp_uri, OUTPUT / "suite") as suite:
        say("the suite's memory, idle")
        figures = {"suite_memory_idle": measures.suite_memory(suite)}
        token = None
        if everything:
            measured, token = measure_everything(suite, amqp_uri, seconds)
            figures.update(measured)
        figures.update(measure_suite_parts(suite, amqp_uri, seconds, parts, token))
        figures["suite_memory_loaded"] = measures.suite_memory(suite)
    return figures, suite.stop_outcome


def measure_alerting():
    say(f"TéléAlerte: campaigns to {alerting.SMALL_RECIPIENTS:,} then {alerting.RECIPIENTS:,} "
        "recipients by SMS and e-mail, the alerting service alone")
    figures = alerting.measure()
    failed = alerting.failed_checks(figures)
    for failure in failed:
        say(f"TéléAlerte check failed: {failure}")
    return figures, failed


def write_alerting(started_at, busy_share, figures):
    report.write_json(OUTPUT / "alerting.json", {
        "measured_at": started_at.isoformat(timespec="seconds"),
        "machine": {**machine(), "busy_share_before_start": busy_share},
        "figures": {"alerting": figures},
        "table": [dict(zip(report.COLUMNS, row, strict=True))
                  for row in report.alerting_rows(figures)],
    })


def run_suite_part(part, seconds, started_at, busy_share):
    """``--only gateway|events|ramp|memory``: the suite started for that part alone."""
    say("starting the suite, one process per service, in a fresh vhost and data folder")
    try:
        with fresh_vhost() as amqp_uri:
            figures, stop_outcome = measure_suite(amqp_uri, seconds, {part}, everything=False)
    except SuiteFailed as error:
        say(str(error))
        return 2
    write_suite_report(f"{part}.json", report.suite_rows(figures), figures, started_at,
                       busy_share, seconds, stop_outcome)
    failures = failed_requests(figures)
    for name, (count, first) in failures.items():
        say(f"{count} failed requests in {name}; first: {first}")
    return 1 if failures else 0


def failed_requests(figures, prefix=""):
    """Every load's failed requests, by dotted name: a figure made of errors is no figure."""
    found = {}
    for name, value in figures.items():
        if isinstance(value, dict):
            if value.get("failures"):
                found[prefix + name] = (value["failures"], value["first_failure"])
            found.update(failed_requests(value, f"{prefix}{name}."))
    return found


def _cpu_idle_and_total():
    # user nice system idle iowait irq softirq steal: guest time is already inside user.
    ticks = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
    return ticks[3] + ticks[4], sum(ticks)


def busy_share_of_machine(seconds=1.0):
    """How busy the machine is with other work just before the bench starts, 0 to 1."""
    idle_before, total_before = _cpu_idle_and_total()
    time.sleep(seconds)
    idle_after, total_after = _cpu_idle_and_total()
    return round(1 - (idle_after - idle_before) / (total_after - total_before), 2)


def machine():
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "nameko": version("nameko"),
        "eventlet": version("eventlet"),
        "load_generator": "python threads, one requests.Session each (wrk not used)",
    }


def write_suite_report(name, table_rows, figures, started_at, busy_share, seconds,
                       stop_outcome):
    """Prints the table and keeps it, with its figures, in ``var/bench/<name>``."""
    print(report.markdown_table(table_rows))
    report.write_json(OUTPUT / name, {
        "measured_at": started_at.isoformat(timespec="seconds"),
        # Other work on a 2-core machine moves every figure; this says how quiet it was.
        "machine": {**machine(), "busy_share_before_start": busy_share},
        "seconds_per_window": seconds,
        "figures": figures,
        "table": [dict(zip(report.COLUMNS, row, strict=True)) for row in table_rows],
        "suite_stop": stop_outcome,
    })


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="length of each measured window"
    )
    parser.add_argument(
        "--only", choices=("rules", "opendata", "alerting", *SUITE_PARTS),
        help="rules: billing's rules alone; opendata: the 1,000,000-row resource alone; "
             "alerting: a campaign to 100,000 recipients alone; gateway: a read and a write "
             "route at c=1, 16, 64 beside a bare Nameko @http → RPC → @rpc ceiling; events: "
             "an accepted change until billing committed it, beside a bare kombu publish → "
             "consume; ramp: the read route at c=1→64, its knee and deepest RPC queue; "
             "memory: each process's RSS idle and after a load (every suite part also "
             "measures it)"
    )
    args = parser.parse_args(argv)
    seconds = args.seconds

    started_at = datetime.now(UTC)
    busy_share = busy_share_of_machine()
    if busy_share > BUSY_SHARE:
        say(f"other work keeps {busy_share:.0%} of the machine busy: expect noisy figures")
    if args.only == "opendata":
        say(f"open data: {opendata.ROWS:,} rows ingested, queried and exported")
        figures = opendata.measure()
        print(report.markdown_table(report.opendata_rows(figures)))
        report.write_json(OUTPUT / "opendata.json", {
            "measured_at": started_at.isoformat(timespec="seconds"),
            "machine": {**machine(), "busy_share_before_start": busy_share},
            "figures": {"opendata": figures}})
        return 0
    if args.only in SUITE_PARTS:
        return run_suite_part(args.only, seconds, started_at, busy_share)
    if args.only == "alerting":
        alerting_figures, failed = measure_alerting()
        print(report.markdown_table(report.alerting_rows(alerting_figures)))
        write_alerting(started_at, busy_share, alerting_figures)
        return 1 if failed else 0
    billing_rules = measure_billing_rules()
    say(f"open data: {opendata.ROWS:,} rows ingested, queried and exported")
    opendata_figures = opendata.measure()
    if args.only == "rules":
        table_rows = report.billing_rules_rows(billing_rules)
        print(report.markdown_table(table_rows))
        report.write_json(OUTPUT / "rules.json", {
            "measured_at": started_at.isoformat(timespec="seconds"),
            "machine": {**machine(), "busy_share_before_start": busy_share},
            "figures": {"billing_rules": billing_rules},
            "table": [dict(zip(report.COLUMNS, row, strict=True)) for row in table_rows],
        })
        return 0
    # Its own service process, before the suite starts: the two would share the machine.
    alerting_figures, alerting_failed = measure_alerting()
    write_alerting(started_at, busy_share, alerting_figures)
    floor = measure_floor(seconds)
    say("starting the suite, one process per service, in a fresh vhost and data folder")
    try:
        with fresh_vhost() as amqp_uri:
            suite_figures, stop_outcome = measure_suite(amqp_uri, seconds, set(SUITE_PARTS),
                                                        everything=True)
        figures = {"http_floor": floor, **suite_figures, "billing_rules": billing_rules,
                   "opendata": opendata_figures, "alerting": alerting_figures}
    except SuiteFailed as error:
        say(str(error))
        return 2

    write_suite_report("latest.json", report.rows(figures), figures, started_at, busy_share,
                       seconds, stop_outcome)
    say(f"figures written to {(OUTPUT / 'latest.json').relative_to(measures.REPOSITORY)}")

    failures = failed_requests(figures)
    for name, (count, first) in failures.items():
        say(f"{count} failed requests in {name}; first: {first}")
    return 1 if failures or alerting_failed else 0


if __name__ == "__main__":
    sys.exit(main())
