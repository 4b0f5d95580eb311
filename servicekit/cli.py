"""``communs``: run the suite or some of its services, ping one, migrate one.

    communs run                    # every service and the gateway, in one process, and the
                                   # local Chorus Pro and prefecture when none is configured
    communs run identity gateway   # only these (one container each in docker-compose)
    communs run chorus-sandbox     # the local Chorus Pro alone (chorus_sandbox)
    communs run prefecture-sandbox # the local prefecture alone (prefecture_sandbox)
    communs ping identity          # exit 0 if it answers its health RPC
    communs migrate identity       # bring its database to the latest revision
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from contextlib import suppress  # noqa: E402

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


def pid_file_of(config, names):
    data_dir = suite_config.data_dir(config)
    pid_file = data_dir / "run" / ("communs.pid" if len(names) > 1 else f"{names[0]}.pid")
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{os.getpid()}\n")
    return pid_file


def run(names, config, beside=()):
    """Runs the Nameko services ``names``, and the sandboxes ``beside`` each in a process of
    its own; the suite is pointed at a sandbox unless a real system is configured."""
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
    from nameko.standalone.rpc import ClusterRpcProxy

    with ClusterRpcProxy(config, timeout=5) as cluster:
        return getattr(cluster, name).health()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="communs", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run services (all by default)")
    run_parser.add_argument("services", nargs="*", metavar="SERVICE",
                            help=", ".join((*RUNNABLE, *SANDBOXES)))
    ping_parser = commands.add_parser("ping", help="call a service's health RPC")
    ping_parser.add_argument("service", choices=SERVICES)
    migrate_parser = commands.add_parser("migrate", help="migrate a service's database")
    migrate_parser.add_argument("service", choices=SERVICES)
    args = parser.parse_args(argv)
    unknown = set(getattr(args, "services", ())) - {*RUNNABLE, *SANDBOXES}
    if unknown:
        parser.error(f"unknown service(s): {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join((*RUNNABLE, *SANDBOXES))}")

    config = suite_config.from_environment()
    log_file = suite_config.data_dir(config) / "log" / "communs.log"
    configure_logging(config["LOG_FORMAT"], config["LOG_LEVEL"], log_file=log_file)

    if args.command == "migrate":
        from servicekit.database import make_engine, migrate

        engine = make_engine(suite_config.database_url(config, args.service))
        migrate(engine, f"services.{args.service}")
        log.info("database.migrated", service=args.service)
        return 0

    if args.command == "run" and len(args.services) == 1 and args.services[0] in SANDBOXES:
        run_sandbox(sandboxes.BY_COMMAND[args.services[0]], config)  # no broker needed
        return 0

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
        try:
            print(ping(args.service, config))
        except Exception as error:
            print(f"communs: {args.service} did not answer: {error}", file=sys.stderr)
            return 1
        return 0

    services = [name for name in args.services if name not in SANDBOXES] or list(RUNNABLE)
    beside = [sandbox for sandbox in sandboxes.SANDBOXES
              if sandbox.command in args.services
              or (not args.services and config[sandbox.enabled_key])]
    run(services, config, beside=beside)
    return 0


def _redacted(amqp_uri):
    from kombu.utils.url import maybe_sanitize_url

    return maybe_sanitize_url(amqp_uri)


if __name__ == "__main__":
    sys.exit(main())
