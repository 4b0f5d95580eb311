"""Running the local operator: its application from the suite's config, and its command line.

``python -m operator_sandbox`` serves it until SIGTERM or Ctrl-C; ``communs run
operator-sandbox`` does the same under the suite's name and pid file; ``communs run`` (the whole
suite) starts ``python -m operator_sandbox --parent-pid …`` beside its services. Serving,
starting and stopping are the toolkit's (``servicekit.sandboxes``).
"""

from dataclasses import dataclass

from servicekit import config as suite_config
from servicekit import sandboxes

SANDBOX = sandboxes.OPERATOR


@dataclass(frozen=True)
class Credentials:
    """What the sandbox accepts: the SMS service plan and its API token, the voice
    application's key and secret, and the senders registered for the account."""

    service_plan_id: str
    api_token: str
    voice_key: str
    voice_secret: str
    senders: tuple


def credentials(config):
    defaults = suite_config.OPERATOR_SANDBOX_CREDENTIALS
    value = {key: config.get(key) or default for key, default in defaults.items()}
    sender = config.get("OPERATOR_SENDER") or suite_config.DEFAULT_OPERATOR_SENDER
    return Credentials(value["OPERATOR_LOGIN"], value["OPERATOR_PASSWORD"],
                       value["OPERATOR_VOICE_KEY"], value["OPERATOR_VOICE_SECRET"], (sender,))


def make_app(config, **options):
    from operator_sandbox.app import OperatorSandbox

    options.setdefault("delay_seconds", config.get("OPERATOR_SANDBOX_DELAY_SECONDS", 2.0))
    options.setdefault("failure_rate", config.get("OPERATOR_SANDBOX_FAILURE_RATE", 0.0))
    return OperatorSandbox(credentials(config), **options)


def serve(config, address, parent_pid=None, **options):
    """Serves until SIGTERM, SIGINT, or the end of ``parent_pid``."""
    app = make_app(config, **options)
    try:
        sandboxes.serve(SANDBOX, app, address, parent_pid)
    finally:
        app.close()


def _arguments(parser, config):
    parser.add_argument("--delay-seconds", type=float,
                        default=config["OPERATOR_SANDBOX_DELAY_SECONDS"],
                        help="seconds before a message is delivered (default %(default)s)")
    parser.add_argument("--failure-rate", type=float,
                        default=config["OPERATOR_SANDBOX_FAILURE_RATE"],
                        help="share of messages that fail for a while (default %(default)s)")
    parser.add_argument("--fault-seconds", type=float, default=30.0,
                        help="how long a 'timeout' fault keeps the caller waiting")


def main(argv=None):
    config, args = sandboxes.command_line(
        SANDBOX, "A local SMS and voice operator (Sinch's APIs) for tests and trials.", argv,
        _arguments)
    serve(config, args.address, parent_pid=args.parent_pid, delay_seconds=args.delay_seconds,
          failure_rate=args.failure_rate, fault_seconds=args.fault_seconds)
    return 0
