"""Running the sandbox: werkzeug's threaded server, in a process of its own.

``python -m chorus_sandbox`` serves it until SIGTERM or Ctrl-C; ``communs run chorus-sandbox``
does the same under the suite's name and pid file; ``communs run`` (the whole suite) starts
``python -m chorus_sandbox --parent-pid …`` beside its services (``start_beside``), which ends
with its parent even if that one is killed.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from werkzeug.serving import WSGIRequestHandler, make_server

from servicekit import config as suite_config
from servicekit.logging import configure_logging, get_logger

log = get_logger("chorus_sandbox")


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


def split_address(address):
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


class _Unlogged(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def make_wsgi_server(app, address, log_requests=True):
    host, port = split_address(address)
    return make_server(host, port, app, threaded=True,
                       request_handler=None if log_requests else _Unlogged)


def serve(config, address, parent_pid=None, **options):
    """Serves until SIGTERM, SIGINT, or the end of ``parent_pid``."""
    server = make_wsgi_server(make_app(config, **options), address)
    url = f"http://{server.host}:{server.port}"
    log.info("chorus_sandbox.listening", url=url, pid=os.getpid())

    stopping = []
    # Only a flag: under eventlet (``communs run chorus-sandbox``) the handler runs in the hub,
    # where nothing may block or switch. The loop below looks at it every 0.2 s.
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    if parent_pid is not None:
        threading.Thread(target=_end_with, args=(parent_pid,), daemon=True).start()
    server.timeout = 0.2
    try:
        while not stopping:
            server.handle_request()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        log.info("chorus_sandbox.stopped", url=url)


def _end_with(parent_pid):
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(0)


def free_address(address):
    """``address`` if nothing listens there, else a free port on the same host."""
    host, port = split_address(address)
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
            return address
        except OSError:
            probe.bind((host, 0))
            return f"{host}:{probe.getsockname()[1]}"


def start_beside(config, wait=15.0):
    """Starts the sandbox in a child process; ``(process, url)`` at once. Whether it came up
    is logged (``chorus_sandbox.started`` or ``chorus_sandbox.not_started``) while the suite
    starts: billing's deposits wait meanwhile for a Chorus Pro that answers."""
    wanted = config.get("CHORUS_SANDBOX_ADDRESS") or suite_config.DEFAULT_CHORUS_SANDBOX_ADDRESS
    address = free_address(wanted)
    if address != wanted:
        log.warning("chorus_sandbox.address_in_use", wanted=wanted, address=address)
    process = subprocess.Popen([
        sys.executable, "-m", "chorus_sandbox", "--address", address,
        "--parent-pid", str(os.getpid()),
    ])
    threading.Thread(target=_report_start, args=(process, address, wait), daemon=True).start()
    return process, f"http://{address}"


def _report_start(process, address, wait):
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(split_address(address), timeout=0.5):
                log.info("chorus_sandbox.started", url=f"http://{address}", pid=process.pid)
                return
        except OSError:
            time.sleep(0.1)
    log.error("chorus_sandbox.not_started", address=address, exit_code=process.poll())


def stop(process, wait=5.0):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv=None):
    config = suite_config.from_environment()
    parser = argparse.ArgumentParser(prog="python -m chorus_sandbox",
                                     description="A local Chorus Pro for tests and trials.")
    parser.add_argument("--address", default=config["CHORUS_SANDBOX_ADDRESS"],
                        help="host:port (default %(default)s)")
    parser.add_argument("--step-seconds", type=float,
                        default=config["CHORUS_SANDBOX_STEP_SECONDS"],
                        help="seconds between two statuses of an invoice (default %(default)s)")
    parser.add_argument("--token-lifetime", type=int, default=3600)
    parser.add_argument("--fault-seconds", type=float, default=30.0,
                        help="how long a 'timeout' fault keeps the caller waiting")
    parser.add_argument("--parent-pid", type=int, help="stop when this process ends")
    args = parser.parse_args(argv)
    log_file = suite_config.data_dir(config) / "log" / "chorus-sandbox.log"
    configure_logging(config["LOG_FORMAT"], config["LOG_LEVEL"], log_file=log_file)
    serve(config, args.address, parent_pid=args.parent_pid, step_seconds=args.step_seconds,
          token_lifetime=args.token_lifetime, fault_seconds=args.fault_seconds)
    return 0
