"""Local stand-ins for the outside systems the suite talks to: a werkzeug application served
in a process of its own, for tests, trials and demonstrations, never in a deployment.

    chorus-sandbox       Chorus Pro on PISTE, where billing deposits titles (chorus_sandbox)
    prefecture-sandbox   the prefecture's @ctes and Hélios platform (prefecture_sandbox)
    operator-sandbox     the SMS and voice operator alerting sends through (operator_sandbox)

Each is run three ways: ``python -m <module>`` alone; ``communs run <command>`` under the suite's
name and pid file; and by ``communs run`` (the whole suite) beside its services, when no real
system is configured (``start_beside``), ending with its parent even if that one is killed.
A sandbox package gives ``server.make_app(config, **options)`` and ``server.main(argv)``; the
serving, starting and stopping are here, once.
"""

import argparse
import importlib
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


@dataclass(frozen=True)
class Sandbox:
    """How the suite knows one sandbox: its command, its package, and its config keys."""

    command: str  # ``communs run <command>``; its pid and log files are named so
    module: str  # ``python -m <module>``; its log events are ``<module>.<what>``
    address_key: str  # where it listens
    enabled_key: str  # true: ``communs run`` starts it beside the suite
    url_key: str  # the suite's setting pointed at it once started

    @property
    def log(self):
        return get_logger(self.module)

    def server(self):
        return importlib.import_module(f"{self.module}.server")


CHORUS = Sandbox("chorus-sandbox", "chorus_sandbox", "CHORUS_SANDBOX_ADDRESS", "CHORUS_SANDBOX",
                 "CHORUS_API_URL")
PREFECTURE = Sandbox("prefecture-sandbox", "prefecture_sandbox", "PREFECTURE_SANDBOX_ADDRESS",
                     "PREFECTURE_SANDBOX", "PREFECTURE_URL")
OPERATOR = Sandbox("operator-sandbox", "operator_sandbox", "OPERATOR_SANDBOX_ADDRESS",
                   "OPERATOR_SANDBOX", "OPERATOR_API_URL")
SANDBOXES = (CHORUS, PREFECTURE, OPERATOR)
BY_COMMAND = {sandbox.command: sandbox for sandbox in SANDBOXES}


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


def serve(sandbox, app, address, parent_pid=None):
    """Serves ``app`` until SIGTERM, SIGINT, or the end of ``parent_pid``."""
    log = sandbox.log
    server = make_wsgi_server(app, address)
    url = f"http://{server.host}:{server.port}"
    log.info(f"{sandbox.module}.listening", url=url, pid=os.getpid())

    stopping = []
    # Only a flag: under eventlet (``communs run <sandbox>``) the handler runs in the hub,
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
        log.info(f"{sandbox.module}.stopped", url=url)


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


def start_beside(sandbox, config, wait=15.0):
    """Starts the sandbox in a child process; ``(process, url)`` at once. Whether it came up
    is logged (``<module>.started`` or ``<module>.not_started``) while the suite starts: the
    services that call it retry meanwhile."""
    wanted = config[sandbox.address_key]
    address = free_address(wanted)
    if address != wanted:
        sandbox.log.warning(f"{sandbox.module}.address_in_use", wanted=wanted, address=address)
    process = subprocess.Popen([
        sys.executable, "-m", sandbox.module, "--address", address,
        "--parent-pid", str(os.getpid()),
    ])
    threading.Thread(target=_report_start, args=(sandbox, process, address, wait),
                     daemon=True).start()
    return process, f"http://{address}"


def _report_start(sandbox, process, address, wait):
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(split_address(address), timeout=0.5):
                sandbox.log.info(f"{sandbox.module}.started", url=f"http://{address}",
                                 pid=process.pid)
                return
        except OSError:
            time.sleep(0.1)
    sandbox.log.error(f"{sandbox.module}.not_started", address=address,
                      exit_code=process.poll())


def stop(process, wait=5.0):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def command_line(sandbox, description, argv, add_arguments):
    """``(config, arguments)`` of ``python -m <module>``, its logging set up: ``--address``
    and ``--parent-pid`` for every sandbox, ``add_arguments(parser, config)`` for its own."""
    config = suite_config.from_environment()
    parser = argparse.ArgumentParser(prog=f"python -m {sandbox.module}", description=description)
    parser.add_argument("--address", default=config[sandbox.address_key],
                        help="host:port (default %(default)s)")
    parser.add_argument("--parent-pid", type=int, help="stop when this process ends")
    add_arguments(parser, config)
    arguments = parser.parse_args(argv)
    log_file = suite_config.data_dir(config) / "log" / f"{sandbox.command}.log"
    configure_logging(config["LOG_FORMAT"], config["LOG_LEVEL"], log_file=log_file)
    return config, arguments
