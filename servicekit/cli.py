"""``communs``: run the suite or some of its services, ping one, migrate one, declare the bus.

    communs run                    # every service and the gateway, in one process, and the
                                   # local Chorus Pro and prefecture when none is configured
    communs run identity gateway   # only these (one container each in docker-compose)
    communs run chorus-sandbox     # the local Chorus Pro alone (chorus_sandbox)
    communs run prefecture-sandbox # the local prefecture alone (prefecture_sandbox)
    communs ping identity          # exit 0 if it answers its health RPC (gateway: GET /health)
    communs migrate identity       # bring its database to the latest revision (none: all)
    communs topology               # declare every event exchange and subscriber queue

One process per service, as compose runs them (``make run-split``, ``make restart-service``),
each with its pid in ``$COMMUNS_DATA_DIR/pids/<name>.pid``:

    communs start identity gateway # each as a process of its own, in the background
    communs stop identity          # SIGTERM, then SIGKILL after the grace period (none: all)
    communs ping identity --wait 60
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from contextlib import suppress  # noqa: E402
from pathlib import Path  # noqa: E402

from contracts.catalogue import SERVICES  # noqa: E402
from servicekit import config as suite_config  # noqa: E402
from servicekit import sandboxes  # noqa: E402
from servicekit.broker import broker_problem  # noqa: E402
from servicekit.logging import configure_logging, get_logger  # noqa: E402

GATEWAY = "gateway"
RUNNABLE = (*SERVICES, GATEWAY)
# Not Nameko services: stand-ins for the outside systems (servicekit.sandboxes).
SANDBOXES = tuple(sandboxes.BY_COMMAND)

log = get_logger("communs")


def service_class(name):
    from nameko.cli.run import import_service

    module = "gateway.service" if name == GATEWAY else f"services.{name}.service"
    # The module also holds the base classes it imports; the service is the one named so.
    (cls,) = [found for found in import_service(module) if getattr(found, "name", None) == name]
    return cls


WHOLE_SUITE = "communs"
# Compose gives a container 30 s between SIGTERM and SIGKILL: Nameko lets running workers end.
STOP_GRACE = 30.0


def pid_path(config, name):
    """``$COMMUNS_DATA_DIR/pids/<name>.pid``; ``communs.pid`` for several services in one."""
    return suite_config.data_dir(config) / "pids" / f"{name}.pid"


def pid_file_of(config, names):
    pid_file = pid_path(config, WHOLE_SUITE if len(names) > 1 else names[0])
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{os.getpid()}\n")
    return pid_file


def run(names, config, beside=(), topology_api_uri=None):
    """Runs the Nameko services ``names``, and the sandboxes ``beside`` each in a process of
    its own; the suite is pointed at a sandbox unless a real system is configured. With
    ``topology_api_uri``, declares the bus topology first (``declare_topology``)."""
    from nameko.cli.run import run as run_services

    pid_file = pid_file_of(config, names)
    log.info("suite.starting", services=list(names), data_dir=str(suite_config.data_dir(config)),
             pid=os.getpid())
    started = []
    try:
        for sandbox in beside:
            process, url = sandboxes.start_beside(sandbox, config)
            started.append(process)
            if config[sandbox.enabled_key]:
                config = {**config, sandbox.url_key: url}
        if topology_api_uri:
            declare_topology(config, topology_api_uri, policy_required=False)
        run_services([service_class(name) for name in names], config)
    except KeyboardInterrupt:
        log.info("suite.interrupted")
    finally:
        for process in started:
            sandboxes.stop(process)
        with suppress(FileNotFoundError):
            pid_file.unlink()
        log.info("suite.stopped", services=list(names))


def run_sandbox(sandbox, config):
    """``communs run <sandbox>``: that stand-in alone, until SIGTERM."""
    pid_file = pid_file_of(config, [sandbox.command])
    try:
        sandbox.server().serve(config, config[sandbox.address_key])
    finally:
        with suppress(FileNotFoundError):
            pid_file.unlink()


def ping(name, config):
    """What ``name`` answers to its health check: a service's health RPC, the gateway's and a
    sandbox's health route."""
    if name in SERVICES:
        from nameko.standalone.rpc import ClusterRpcProxy

        with ClusterRpcProxy(config, timeout=5) as cluster:
            return getattr(cluster, name).health()
    import requests

    if name == GATEWAY:
        url = f"http://{_reachable(config['WEB_SERVER_ADDRESS'])}/health"
    else:
        url = f"http://{_reachable(config[sandboxes.BY_COMMAND[name].address_key])}/_sandbox/health"
    answer = requests.get(url, timeout=5)
    answer.raise_for_status()
    return answer.json()


def _reachable(address):
    """A listening address as a client on this machine reaches it."""
    host, port = sandboxes.split_address(address)
    return f"{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"


def ping_until_answered(names, config, wait):
    """Pings each of ``names`` until it answers, for ``wait`` seconds in all; 1 as soon as one
    started by ``communs start`` is no longer running, or when time runs out."""
    give_up_at = time.monotonic() + wait
    # While a service starts, each ping's request comes back unroutable and py-amqp warns of
    # the confirmation that follows it, once a ping: the answer is what tells.
    logging.getLogger("amqp").setLevel(logging.ERROR)
    for name in names:
        started_here = pid_path(config, name).exists()
        while True:
            try:
                answer = ping(name, config)
            except Exception as error:
                ended = started_here and running_pid(config, name) is None
                if ended or time.monotonic() > give_up_at:
                    why = "is not running" if ended else f"did not answer: {error}"
                    where = f"; see {log_path(config, name)}" if started_here else ""
                    print(f"communs: {name} {why}{where}", file=sys.stderr)
                    return 1
                time.sleep(0.5)
                continue
            print(f"{name}: {answer}")
            break
    return 0


def declare_topology(config, api_uri, policy_required=True):
    """``communs topology``: the exchanges and subscriber queues, then the policy that keeps
    unroutable events. ``communs run`` goes on without the policy (a broker without its
    management plugin), saying so: the outbox still declares a subscriber's queue before it
    publishes, so only events with no subscriber at all would be dropped."""
    import requests

    from contracts.events import EVENT_TYPES
    from servicekit import topology

    try:
        return topology.declare(config["AMQP_URI"], EVENT_TYPES.values(), api_uri)
    except (RuntimeError, requests.RequestException) as error:
        if policy_required:
            raise
        log.warning("topology.unrouted_policy_not_set", error=str(error)[:300])
        return None


# -- one process per service ----------------------------------------------------------------


def log_path(config, name):
    return suite_config.data_dir(config) / "log" / f"{name}.out"


def running_pid(config, name):
    """The pid of ``name``'s process if its pid file names one that runs it, else None."""
    try:
        pid = int(pid_path(config, name).read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    return pid if _runs(pid, name) else None


def _runs(pid, name):
    """Whether ``pid`` is ``communs run <name>``: after a SIGKILL its pid file stays, and the
    system may since have given the number to another process."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():  # no /proc (macOS): alive is all that can be told
        return True
    try:
        arguments = cmdline.read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return False
    # A zombie has no command line: it has ended.
    return b"run" in arguments and (name == WHOLE_SUITE or name.encode() in arguments)


def _wait_for_end(pid, name, seconds=5.0):
    give_up_at = time.monotonic() + seconds
    while _runs(pid, name) and time.monotonic() < give_up_at:
        time.sleep(0.05)


def _communs_command():
    installed = Path(sys.executable).with_name("communs")
    return [str(installed)] if installed.is_file() else [sys.executable, "-m", "servicekit.cli"]


def start(names, config, environ=None):
    """``communs start``: each of ``names`` as ``communs run <name>`` in a process of its own,
    in the background, its output in ``log/<name>.out``. Services do not migrate at start: in
    a split deployment ``communs migrate`` does it once, before them."""
    environ = dict(os.environ if environ is None else environ)
    for name in names:
        pid_file = pid_path(config, name)
        running = running_pid(config, name)
        if running:
            print(f"{name} already runs (pid {running})")
            continue
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        log_path(config, name).parent.mkdir(parents=True, exist_ok=True)
        env = {**environ, "COMMUNS_MIGRATE_ON_START": "false"} if name in SERVICES else environ
        with log_path(config, name).open("ab") as output:
            process = subprocess.Popen(
                [*_communs_command(), "run", name], env=env, stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT,
                # Its own session: the terminal's Ctrl-C, or the end of make, must not reach it.
                start_new_session=True,
            )
        # Written at once, so that a stop right after finds it; the process writes the same.
        pid_file.write_text(f"{process.pid}\n")
        print(f"started {name} (pid {process.pid})")
    return 0


def stop(names, config, grace=STOP_GRACE):
    """``communs stop``: SIGTERM to each, then SIGKILL to those still running after
    ``grace`` seconds. Without names, every process with a pid file."""
    if not names:
        names = sorted(path.stem for path in (suite_config.data_dir(config) / "pids").glob("*.pid"))
    running = {}
    for name in names:
        pid = running_pid(config, name)
        if pid is None:
            print(f"{name} is not running")
            with suppress(FileNotFoundError):
                pid_path(config, name).unlink()
            continue
        os.kill(pid, signal.SIGTERM)
        running[name] = pid
    give_up_at = time.monotonic() + grace
    while running:
        for name, pid in list(running.items()):
            if not _runs(pid, name):
                print(f"stopped {name} (pid {pid})")
                del running[name]
        if running and time.monotonic() > give_up_at:
            for name, pid in running.items():
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _wait_for_end(pid, name)
                print(f"killed {name} (pid {pid}): still running {grace:g} s after SIGTERM")
            running = {}
        time.sleep(0.1)
    for name in names:
        # A killed process leaves its pid file behind.
        with suppress(FileNotFoundError):
            pid_path(config, name).unlink()
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="communs", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run services (all by default)")
    run_parser.add_argument("services", nargs="*", metavar="SERVICE",
                            help=", ".join((*RUNNABLE, *SANDBOXES)))
    ping_parser = commands.add_parser("ping", help="call a service's health check")
    ping_parser.add_argument("services", nargs="+", metavar="SERVICE",
                             help=", ".join((*RUNNABLE, *SANDBOXES)))
    ping_parser.add_argument("--wait", type=float, metavar="SECONDS",
                             help="ping again until each answers, for this long in all")
    migrate_parser = commands.add_parser("migrate", help="migrate services' databases (all "
                                                         "by default)")
    migrate_parser.add_argument("services", nargs="*", metavar="SERVICE", help=", ".join(SERVICES))
    commands.add_parser("topology", help="declare every event exchange and subscriber queue, "
                                         "and keep unroutable events in communs.unrouted")
    start_parser = commands.add_parser("start", help="start each in a background process")
    start_parser.add_argument("services", nargs="+", metavar="SERVICE",
                              help=", ".join((*RUNNABLE, *SANDBOXES)))
    stop_parser = commands.add_parser("stop", help="stop processes (all with a pid file by "
                                                   "default)")
    stop_parser.add_argument("services", nargs="*", metavar="SERVICE",
                             help=", ".join((*RUNNABLE, *SANDBOXES)))
    stop_parser.add_argument("--grace", type=float, default=STOP_GRACE, metavar="SECONDS",
                             help="SIGKILL after this long (default %(default)g)")
    args = parser.parse_args(argv)
    known = {*SERVICES} if args.command == "migrate" else {*RUNNABLE, *SANDBOXES}
    if args.command == "stop":
        known.add(WHOLE_SUITE)
    unknown = set(getattr(args, "services", ())) - known
    if unknown:
        parser.error(f"unknown service(s): {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join(sorted(known))}")

    config = suite_config.from_environment()
    log_file = suite_config.data_dir(config) / "log" / "communs.log"
    configure_logging(config["LOG_FORMAT"], config["LOG_LEVEL"], log_file=log_file)

    if args.command == "migrate":
        from servicekit.database import make_engine, migrate

        for service in args.services or SERVICES:
            engine = make_engine(suite_config.database_url(config, service))
            migrate(engine, f"services.{service}")
            engine.dispose()
            log.info("database.migrated", service=service)
        return 0
    if args.command == "start":
        return start(args.services, config)
    if args.command == "stop":
        return stop(args.services, config, args.grace)

    if args.command == "run" and len(args.services) == 1 and args.services[0] in SANDBOXES:
        run_sandbox(sandboxes.BY_COMMAND[args.services[0]], config)  # no broker needed
        return 0
    if args.command == "ping" and set(args.services) <= set(SANDBOXES):
        return ping_until_answered(args.services, config, args.wait or 0)

    problem = broker_problem(config["AMQP_URI"])
    if problem:
        print(
            f"communs: cannot reach RabbitMQ at {_redacted(config['AMQP_URI'])} ({problem}).\n"
            "Start one with `rabbitmq-server -detached` (or `docker compose up -d rabbitmq`),\n"
            "or point AMQP_URI at a running broker.",
            file=sys.stderr,
        )
        return 2

    if args.command == "ping":
        return ping_until_answered(args.services, config, args.wait or 0)
    if args.command == "topology":
        import requests

        try:
            declare_topology(config, management_uri(config))
        except (RuntimeError, requests.RequestException) as error:
            print(f"communs: the unrouted-event policy is not set: {error}", file=sys.stderr)
            return 1
        return 0

    services = [name for name in args.services if name not in SANDBOXES] or list(RUNNABLE)
    beside = [sandbox for sandbox in sandboxes.SANDBOXES
              if sandbox.command in args.services
              or (not args.services and config[sandbox.enabled_key])]
    # The whole suite is a deployment of its own; a part of it runs after the topology step.
    run(services, config, beside=beside,
        topology_api_uri=None if args.services else management_uri(config))
    return 0


def management_uri(config):
    """The broker's management API, which sets policies: ``RABBIT_API_URI`` (as the tests and
    the Makefile name it), else the broker's host on port 15672 with the same account."""
    from servicekit.topology import management_uri as derived

    return derived(config["AMQP_URI"], os.environ.get("RABBIT_API_URI"))


def _redacted(amqp_uri):
    from kombu.utils.url import maybe_sanitize_url

    return maybe_sanitize_url(amqp_uri)


if __name__ == "__main__":
    sys.exit(main())
