"""Running the sandbox: its application from the suite's config, and its command line.

``python -m chorus_sandbox`` serves it until SIGTERM or Ctrl-C; ``communs run chorus-sandbox``
does the same under the suite's name and pid file; ``communs run`` (the whole suite) starts
``python -m chorus_sandbox --parent-pid …`` beside its services. Serving, starting and stopping
are the toolkit's, shared with the other sandboxes (``servicekit.sandboxes``).
"""

from dataclasses import dataclass

from servicekit import config as suite_config
from servicekit import sandboxes

SANDBOX = sandboxes.CHORUS


@dataclass(frozen=True)
class Credentials:
    """What the sandbox accepts: the PISTE application's and the technical account's."""

    client_id: str
    client_secret: str
    login: str
    password: str


def credentials(config):
    defaults = suite_config.CHORUS_SANDBOX_CREDENTIALS
    value = {key: config.get(key) or default for key, default in defaults.items()}
    return Credentials(value["CHORUS_CLIENT_ID"], value["CHORUS_CLIENT_SECRET"],
                       value["CHORUS_LOGIN"], value["CHORUS_PASSWORD"])


def make_app(config, **options):
    from chorus_sandbox.app import ChorusSandbox

    options.setdefault("step_seconds", config.get("CHORUS_SANDBOX_STEP_SECONDS", 2.0))
    return ChorusSandbox(credentials(config), **options)


def serve(config, address, parent_pid=None, **options):
    """Serves until SIGTERM, SIGINT, or the end of ``parent_pid``."""
    sandboxes.serve(SANDBOX, make_app(config, **options), address, parent_pid)


def _arguments(parser, config):
    parser.add_argument("--step-seconds", type=float,
                        default=config["CHORUS_SANDBOX_STEP_SECONDS"],
                        help="seconds between two statuses of an invoice (default %(default)s)")
    parser.add_argument("--token-lifetime", type=int, default=3600)
    parser.add_argument("--fault-seconds", type=float, default=30.0,
                        help="how long a 'timeout' fault keeps the caller waiting")


def main(argv=None):
    config, args = sandboxes.command_line(SANDBOX, "A local Chorus Pro for tests and trials.",
                                          argv, _arguments)
    serve(config, args.address, parent_pid=args.parent_pid, step_seconds=args.step_seconds,
          token_lifetime=args.token_lifetime, fault_seconds=args.fault_seconds)
    return 0
