"""The figures beside their baselines: a Markdown table (the README quotes it) and JSON."""

import json
import os

# Measured with the same framework on this kind of machine: ../shared/reference/pins.md and
# reliability-perf-anchors.md §3. Medians; order-of-magnitude references, not targets, and not
# this run's: the table says so beside them. Issue 12's figures stand beside baselines measured
# in the same run (bench.gateway, bench.events).
NAMEKO_RPC_P50_MS = 1.79
NAMEKO_RPC_PER_S = 537
HTTP_RPC_C1_PER_S = 415
HTTP_RPC_C16_PER_S = 614
STACK_SATURATION_RPC_PER_S = "800–870"
NAMEKO_CPU_MS_PER_RPC = 0.9
# @http → RPC → @rpc at c=1 takes 1/415 s; less a bare RPC, that is what the HTTP hop adds.
HTTP_HOP_MS = 1000 / HTTP_RPC_C1_PER_S - NAMEKO_RPC_P50_MS

COLUMNS = ("measure", "value", "baseline", "verdict")

# Within this share of the baseline a figure counts as on par: one short run on a shared VM
# moves by at least that much from run to run.
TOLERANCE = 0.15
# Above this share of the machine's cores, CPU is what limits the suite's rate.
CPU_BOUND_SHARE = 0.9
# Logins reaching this share of the argon2 ceiling are limited by argon2 itself.
ARGON2_BOUND_SHARE = 0.7
# One year's computation for 35,000 communes, the scale billing must stay quick at.
BILLING_TARGET_S = 1.0
# The suite's processes together, idle and loaded (issue 12): 1.5 GB.
MEMORY_TARGET_MIB = 1.5e9 / 2**20


def _versus(value, baseline, higher_is_better):
    ratio = value / baseline
    gain = ratio if higher_is_better else 1 / ratio
    if abs(gain - 1) <= TOLERANCE:
        word = "on par with"
    elif gain > 1:
        word = "better than"
    else:
        word = "worse than"
    return f"{word} the baseline (×{ratio:.2f})"


def _floor_rows(floor):
    return [
        ("generator floor (do-nothing eventlet WSGI): c=1 p50, c=16 rate",
         f"{floor['c1']['p50_ms']:.2f} ms; {floor['c16']['per_second']:.0f} req/s", "—",
         "bounds every HTTP figure below"),
    ]


def _me_rows(me_c1, me_c16, raw_rpc, floor):
    hop_ms = me_c1["p50_ms"] - raw_rpc["p50_ms"]
    share_of_floor = me_c16["per_second"] / floor["c16"]["per_second"]
    cpu_ms = me_c16["suite_cpu_ms_per_request"]
    cpu_verdict = f"one RPC's CPU is ~{NAMEKO_CPU_MS_PER_RPC / cpu_ms:.0%} of it"
    if me_c16["suite_cpu_percent"] >= CPU_BOUND_SHARE * 100 * (os.cpu_count() or 1):
        cpu_verdict += "; the suite's processes are CPU-bound"
    return [
        ("GET /api/v1/me, c=1: p50 / p95 / p99",
         f"{me_c1['p50_ms']:.2f} / {me_c1['p95_ms']:.2f} / {me_c1['p99_ms']:.2f} ms", "—", ""),
        ("GET /api/v1/me, c=1: throughput", f"{me_c1['per_second']:.0f} req/s",
         f"{HTTP_RPC_C1_PER_S} req/s (@http → RPC → @rpc, c=1; pins.md, not this run)",
         _versus(me_c1["per_second"], HTTP_RPC_C1_PER_S, higher_is_better=True)),
        ("gateway hop: /me p50 − raw RPC p50", f"{hop_ms:.2f} ms",
         f"{HTTP_HOP_MS:.2f} ms (1/{HTTP_RPC_C1_PER_S} s − {NAMEKO_RPC_P50_MS} ms; pins.md)",
         _versus(hop_ms, HTTP_HOP_MS, higher_is_better=False)),
        ("GET /api/v1/me, c=16: throughput", f"{me_c16['per_second']:.0f} req/s",
         f"{HTTP_RPC_C16_PER_S} req/s (c=16); stack saturates at "
         f"{STACK_SATURATION_RPC_PER_S} RPC/s (pins.md, not this run)",
         _versus(me_c16["per_second"], HTTP_RPC_C16_PER_S, higher_is_better=True)
         + f"; {share_of_floor:.0%} of the generator floor"),
        ("GET /api/v1/me, c=16: p50 / p95",
         f"{me_c16['p50_ms']:.2f} / {me_c16['p95_ms']:.2f} ms", "—", ""),
        ("suite CPU per /me at c=16, every process",
         f"{cpu_ms:.2f} ms ({me_c16['suite_cpu_percent']:.0f} % of a core)",
         f"{NAMEKO_CPU_MS_PER_RPC} ms per Nameko RPC (pins.md)", cpu_verdict),
    ]


def _login_rows(logins, argon2_ms, me_c1):
    ceiling = 1000 / argon2_ms
    share = logins["per_second"] / ceiling
    bound = "argon2 dominates" if share >= ARGON2_BOUND_SHARE else "not argon2-bound"
    beside = logins["alongside"]
    return [
        ("POST /api/v1/auth/token, c=4", f"{logins['per_second']:.1f} logins/s",
         f"{ceiling:.1f}/s = 1 / argon2 verify ({argon2_ms:.1f} ms), identity's one hub",
         f"{share:.0%} of the argon2 ceiling: {bound}"),
        ("GET /api/v1/me, c=1, beside those logins: p50 / p95",
         f"{beside['p50_ms']:.2f} / {beside['p95_ms']:.2f} ms",
         f"{me_c1['p50_ms']:.2f} / {me_c1['p95_ms']:.2f} ms without logins",
         f"×{beside['p50_ms'] / me_c1['p50_ms']:.1f} at p50, "
         f"×{beside['p95_ms'] / me_c1['p95_ms']:.1f} at p95"),
    ]


def billing_rules_rows(billing):
    return [
        (f"Annex 1 + every title, {billing['communes']:,} communes × "
         f"{billing['applications']} applications ({billing['lines']:,} lines)",
         f"{billing['rules_s']:.3f} s",
         f"{billing['baseline_s']:.3f} s: plain integer largest remainder, "
         f"{billing['communes']:,} weights × {billing['applications']}",
         f"×{billing['rules_s'] / billing['baseline_s']:.1f} the bare allocation; "
         f"target < {BILLING_TARGET_S:g} s " + ("met" if billing["rules_s"] < BILLING_TARGET_S
                                                else "missed")),
    ]


def opendata_rows(figures):
    ingest, query = figures["ingest"], figures["query"]
    return [
        (f"open data: ingest {ingest['rows']:,} CSV rows ({figures['file_mib']} MiB, "
         "cp1252, ';') checked against a Table Schema, stored, indexed",
         f"{ingest['seconds']:.1f} s, {ingest['rows_per_second']:,} rows/s", "—",
         f"peak RSS {ingest['peak_rss_mib']} MiB (before: {ingest['rss_before_mib']} MiB)"),
        (f"open data: filtered (2 filters), sorted first page of 100, {query['queries']} "
         "queries: p50 / p99",
         f"{query['p50_ms']:.1f} / {query['p99_ms']:.1f} ms", "—", ""),
        (f"open data: export of {query['exported_rows']:,} records in slices",
         f"{query['export_seconds']:.1f} s, {query['export_rows_per_second']:,} rows/s", "—",
         f"peak RSS {query['peak_rss_mib']} MiB"),
    ]


def _seconds(value, digits=1):
    return "not reached" if value is None else f"{value:.{digits}f} s"


def _alerting_run_rows(run):
    sms, email, service = run["channels"]["sms"], run["channels"]["email"], run["service"]
    recipients = f"{run['recipients']:,}"
    completed = run["completed_seconds"]
    cpu_share = service["cpu_seconds"] / completed if completed else None
    return [
        (f"TéléAlerte, {recipients} recipients (SMS + e-mail, {run['deliveries']:,} "
         "deliveries): launch RPC, deliveries queued", _seconds(run["launch_seconds"], 2), "—",
         ""),
        (f"TéléAlerte, {recipients}: first delivery (any channel), after the launch",
         _seconds(run["first_delivery_seconds"], 2), "—", ""),
        (f"TéléAlerte, {recipients}: SMS all handed to the operator / every receipt in",
         f"{_seconds(sms['all_left_seconds'])} / {_seconds(sms['all_settled_seconds'])}", "—",
         f"{sms['delivered']:,} delivered, {sms['failed']:,} failed"),
        (f"TéléAlerte, {recipients}: e-mail all accepted by the SMTP server",
         _seconds(email["all_settled_seconds"]), "—",
         f"{email['delivered']:,} delivered, {email['failed']:,} failed"),
        (f"TéléAlerte, {recipients}: campaign completed (100 %), deliveries per second",
         f"{_seconds(completed)}, "
         + (f"{run['deliveries_per_second']:,}/s" if run["deliveries_per_second"] else "—"),
         "—", f"status {run['status']}; service CPU {service['cpu_seconds']:.0f} s"
         + (f" ({cpu_share:.0%} of a core)" if cpu_share is not None else "")),
    ]


def alerting_rows(figures):
    """The large campaign's timings, the service's memory beside the small one's, the checks."""
    small, large = figures["small"], figures["large"]
    failed = [f"{run['recipients']:,}: {name}" for run in (small, large)
              for name, check in run["checks"].items() if not check["ok"]]
    return [
        *_alerting_run_rows(large),
        (f"TéléAlerte: alerting's peak RSS, {small['recipients']:,} vs "
         f"{large['recipients']:,} recipients",
         f"{small['service']['peak_rss_mib']} vs {large['service']['peak_rss_mib']} MiB", "—",
         f"+{large['service']['peak_rss_mib'] - small['service']['peak_rss_mib']} MiB for "
         f"×{large['recipients'] / small['recipients']:g} recipients (RSS at start "
         f"{large['service']['rss_at_start_mib']} MiB)"),
        ("TéléAlerte: SMTP messages = e-mail delivered, operator SMS = SMS delivered",
         f"{large['smtp_messages']:,} = {large['channels']['email']['delivered']:,}, "
         f"{large['operator']['sms']:,} = {large['channels']['sms']['delivered']:,}", "—",
         "every check passes" if not failed else "FAILED: " + "; ".join(failed)),
    ]


def _load_cell(load):
    return (f"{load['per_second']:.0f} req/s, p50 {load['p50_ms']:.1f} / "
            f"p99 {load['p99_ms']:.1f} ms")


def gateway_rows(figures):
    """Each route at each concurrency beside the bare ``@http`` → RPC → ``@rpc`` ceiling."""
    table = []
    routes = {"read": "GET /api/v1/me", "write": "PATCH /api/v1/communes/{insee} (SIRET)"}
    for name, label in routes.items():
        for key, load in figures[name].items():
            ceiling = figures[f"ceiling_{name}"][key]
            share = load["per_second"] / ceiling["per_second"]
            verdict = f"×{share:.2f} the ceiling's rate"
            if name == "read":
                holds = share >= figures["read_target"]["target"]
                verdict += (f"; target ≥ ×{figures['read_target']['target']:g} "
                            + ("met" if holds else "MISSED"))
            table.append((
                f"gateway {name}: {label}, c={load['concurrency']}",
                f"{_load_cell(load)}; gateway CPU {load['gateway_cpu_ms_per_request']:.2f} "
                "ms/request",
                f"{_load_cell(ceiling)} bare @http → RPC → @rpc", verdict))
    return table


def events_rows(events):
    bare = events["bare_publish_consume"]
    claimed, committed = events["claimed"], events["committed"]
    met = (not events["failures"] and committed["p50_ms"] is not None
           and committed["p50_ms"] <= events["target_p50_ms"]
           and committed["p99_ms"] <= events["target_p99_ms"])
    baseline = (f"{bare['p50_ms']:.2f} / {bare['p99_ms']:.2f} ms: bare kombu publish "
                "(persistent, confirmed) → consume")
    return [
        (f"change accepted (outbox row committed) → billing's handler claims the event, "
         f"{claimed['samples']} changes: p50 / p99",
         f"{claimed['p50_ms']:.1f} / {claimed['p99_ms']:.1f} ms", baseline,
         f"×{claimed['p50_ms'] / bare['p50_ms']:.1f} the bare p50"),
        ("change accepted (outbox row committed) → billing's row committed (both polled every "
         f"2 ms, {events['bench_cpu_ms_per_sample']:.1f} ms of the bench's CPU per change): "
         "p50 / p99",
         f"{committed['p50_ms']:.1f} / {committed['p99_ms']:.1f} ms", baseline,
         f"target p50 ≤ {events['target_p50_ms']} ms, p99 ≤ {events['target_p99_ms']} ms "
         + ("met" if met else "MISSED")
         + (f"; {events['failures']} not committed" if events["failures"] else "")),
    ]


def _queue_label(name):
    # A reply queue's name ends with the proxy's uuid, which says nothing in a table.
    return "gateway replies" if name.startswith("rpc.reply-gateway") else name


def ramp_rows(ramp):
    steps = ramp["steps"]
    curve = ", ".join(f"c={step['concurrency']}: {step['per_second']:.0f}"
                      for step in steps.values())
    knee = ramp["knee"]
    return [
        ("ramp, GET /api/v1/me at c=1→64: req/s", curve, "—", ""),
        ("ramp: knee (first c at ≥ 90 % of the best rate), its p99; deepest RPC queue",
         f"c={knee['concurrency']}, {knee['per_second']:.0f} req/s, p99 "
         f"{knee['p99_ms']:.1f} ms; {ramp['max_queue_depth']} messages ready",
         f"{STACK_SATURATION_RPC_PER_S} RPC/s bare Nameko saturation",
         "deepest: " + ", ".join(f"{_queue_label(name)} {depth}"
                                 for name, depth in ramp["queue_depths"].items())
         # Each service runs at most max_workers (10) workers: beyond them, requests wait in
         # the gateway's process, where RabbitMQ cannot count them.
         + f"; at most {ramp['gateway_workers']} RPCs in flight, the rest wait in the "
         "gateway"),
    ]


def memory_rows(idle, loaded):
    def biggest(memory):
        name, figures = max(memory["processes"].items(), key=lambda item: item[1]["rss_mib"])
        return f"largest: {name}, {figures['rss_mib']:.0f} MiB"

    per_process = ", ".join(
        f"{name} {idle['processes'][name]['rss_mib']:.0f}→{figures['rss_mib']:.0f}"
        for name, figures in loaded["processes"].items())
    within = max(idle["total_pss_mib"], loaded["total_pss_mib"]) < MEMORY_TARGET_MIB
    return [
        ("RSS per process, idle → after the load (MiB)", per_process, "—", biggest(loaded)),
        (f"suite memory, {len(loaded['processes'])} processes: PSS idle / after the load",
         f"{idle['total_pss_mib']:.0f} / {loaded['total_pss_mib']:.0f} MiB",
         f"< 1.5 GB ({MEMORY_TARGET_MIB:.0f} MiB)", "target " + ("met" if within else "MISSED")),
        ("suite RSS summed (shared pages counted in each process): idle / after the load / "
         "peaks", f"{idle['total_rss_mib']:.0f} / {loaded['total_rss_mib']:.0f} / "
         f"{loaded['total_peak_rss_mib']:.0f} MiB", "—", "an upper bound of the above"),
    ]


def suite_rows(figures):
    """The rows of the suite's parts that were measured (``--only`` runs some)."""
    table = []
    if "gateway" in figures:
        table += gateway_rows(figures["gateway"])
    if "ramp" in figures:
        table += ramp_rows(figures["ramp"])
    if "events" in figures:
        table += events_rows(figures["events"])
    table += memory_rows(figures["suite_memory_idle"], figures["suite_memory_loaded"])
    return table


def rows(figures):
    """(measure, value, baseline, verdict) for each figure; "—" where there is no baseline."""
    me_c1, raw_rpc, health = figures["me_c1"], figures["raw_rpc_c1"], figures["health_c1"]
    return [
        *_floor_rows(figures["http_floor"]),
        *_me_rows(me_c1, figures["me_c16"], raw_rpc, figures["http_floor"]),
        ("GET /health (ten parallel RPCs), c=1: p50", f"{health['p50_ms']:.2f} ms", "—",
         # Parallel on the wire, and each service in its own process: what is left above one
         # RPC is the gateway's fan-out and the machine's two cores shared by ten services.
         f"{health['p50_ms'] / raw_rpc['p50_ms']:.1f}× one raw RPC p50"),
        *_login_rows(figures["logins_c4"], figures["argon2_verify_ms"], me_c1),
        ("raw RPC identity.health, c=1: p50",
         f"{raw_rpc['p50_ms']:.2f} ms ({raw_rpc['per_second']:.0f}/s)",
         f"{NAMEKO_RPC_P50_MS} ms ({NAMEKO_RPC_PER_S}/s), Nameko RPC (pins.md, not this run)",
         _versus(raw_rpc["p50_ms"], NAMEKO_RPC_P50_MS, higher_is_better=False)),
        *suite_rows(figures),
        *billing_rules_rows(figures["billing_rules"]),
        *opendata_rows(figures["opendata"]),
        *alerting_rows(figures["alerting"]),
    ]


def markdown_table(table_rows):
    widths = [max(len(row[column]) for row in (COLUMNS, *table_rows)) for column in range(4)]

    def line(cells):
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = line(["-" * width for width in widths])
    return "\n".join([line(COLUMNS), rule, *map(line, table_rows)])


def write_json(path, document):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
