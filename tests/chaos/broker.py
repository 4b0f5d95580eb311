"""A RabbitMQ node of the fault tests' own, for the faults that stop, restart or starve the
broker: the shared broker on 5672 runs other people's tests and is never touched.

    node = ChaosBroker(tmp_path / "rabbit")
    node.start()                    # a fresh node on free ports, default vhost "/"
    node.amqp_uri                   # amqp://guest:guest@127.0.0.1:<port>/
    node.stop_app(); node.start_app()
    node.close_all_connections()
    node.set_memory_high_watermark(0.0000001); node.set_memory_high_watermark(0.4)
    node.restart()                  # the whole node: what it persisted survives
    node.stop()

``chaos_broker`` (a fixture of ``test_process_faults``) starts one per test and stops it at the
end. The node runs as the current user from the installed RabbitMQ, with its data, logs and
Erlang cookie under the given folder; the system wrapper in /usr/sbin is bypassed because, for
root, it switches to the ``rabbitmq`` user and that user's shared data folder.
"""

import os
import socket
import subprocess
import time
from pathlib import Path

from servicekit.broker import broker_problem

RABBIT_BIN = Path(os.environ.get("COMMUNS_CHAOS_RABBIT_BIN", "/usr/lib/rabbitmq/bin"))
START_TIMEOUT = 90.0


def free_port():
    """A TCP port nobody listens on now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ChaosBroker:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.node = f"chaos-{os.getpid()}-{free_port()}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.home = self.folder / "home"
        self._running = False

    # -- the node

    def start(self):
        """Starts the node and waits until it accepts AMQP connections."""
        for sub in ("home", "mnesia", "log"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(f"CHAOS{os.getpid()}{self.port}\n")
            cookie.chmod(0o400)
        (self.folder / "enabled_plugins").write_text("[].\n")
        (self.folder / "rabbitmq.conf").write_text("log.file.level = info\n")
        subprocess.run([str(RABBIT_BIN / "rabbitmq-server"), "-detached"], env=self._env(),
                       cwd=self.folder, check=True, capture_output=True, timeout=60)
        self._running = True
        self.wait_until_serving()
        return self

    def restart(self):
        """Stops the whole node (Erlang VM included) and starts it again on the same ports
        and data: durable queues and persistent messages must survive."""
        self.ctl("stop", timeout=120)
        self._running = False
        self.start()

    def stop(self):
        if self._running:
            self.ctl("stop", check=False, timeout=120)
            self._running = False

    def new_vhost(self, name):
        """A vhost of its own for one test, guest allowed everywhere; returns its AMQP URI."""
        self.ctl("add_vhost", name)
        self.ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{name}"

    # -- faults

    def stop_app(self):
        self.ctl("stop_app")

    def start_app(self):
        self.ctl("start_app")
        self.wait_until_serving()

    def close_all_connections(self, reason="chaos test"):
        self.ctl("close_all_connections", reason)

    def set_memory_high_watermark(self, fraction):
        """A tiny fraction raises the memory alarm: every publishing connection is blocked."""
        self.ctl("set_vm_memory_high_watermark", str(fraction))

    def list_queues(self, vhost="/"):
        """{queue name: (ready, unacknowledged)} on ``vhost``."""
        out = self.ctl("list_queues", "-p", vhost, "-q", "--no-table-headers", "name",
                       "messages_ready", "messages_unacknowledged").stdout
        queues = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3:
                queues[parts[0]] = (int(parts[1]), int(parts[2]))
        return queues

    # -- plumbing

    def wait_until_serving(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            problem = broker_problem(self.amqp_uri)
            if problem is None:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"chaos broker {self.node} did not start: {problem}; "
                                   f"see {self.folder / 'log'}")
            time.sleep(0.5)

    def ctl(self, *args, check=True, timeout=60):
        return subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args],
                              env=self._env(), capture_output=True, text=True, check=check,
                              timeout=timeout)

    def _env(self):
        return {
            **os.environ,
            "HOME": str(self.home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.folder / "advanced.config"),
            "RABBITMQ_PID_FILE": str(self.folder / "rabbit.pid"),
        }
