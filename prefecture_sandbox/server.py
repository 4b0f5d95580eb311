"""Running the local prefecture: its application from the suite's config, and its command line.
Serving, starting and stopping are the toolkit's (``servicekit.sandboxes``)."""

from servicekit import config as suite_config
from servicekit import sandboxes

SANDBOX = sandboxes.PREFECTURE


def account(config):
    """``(login, password)`` the sandbox accepts: the suite's settings, or the sandbox's own."""
    defaults = suite_config.PREFECTURE_SANDBOX_CREDENTIALS
    return tuple(config.get(key) or default for key, default in defaults.items())


def make_app(config, **options):
    from prefecture_sandbox.app import PrefectureSandbox

    options.setdefault("step_seconds", config.get("PREFECTURE_SANDBOX_STEP_SECONDS", 2.0))
    return PrefectureSandbox(account(config), **options)


def serve(config, address, parent_pid=None, **options):
    """Serves until SIGTERM, SIGINT, or the end of ``parent_pid``."""
    sandboxes.serve(SANDBOX, make_app(config, **options), address, parent_pid)


def _arguments(parser, config):
    parser.add_argument("--step-seconds", type=float,
                        default=config["PREFECTURE_SANDBOX_STEP_SECONDS"],
                        help="seconds between two statuses of an act (default %(default)s)")
    parser.add_argument("--fault-seconds", type=float, default=30.0,
                        help="how long a 'timeout' fault keeps the caller waiting")


def main(argv=None):
    config, args = sandboxes.command_line(
        SANDBOX, "A local prefecture (@ctes and Hélios) for tests and trials.", argv, _arguments)
    serve(config, args.address, parent_pid=args.parent_pid, step_seconds=args.step_seconds,
          fault_seconds=args.fault_seconds)
    return 0
