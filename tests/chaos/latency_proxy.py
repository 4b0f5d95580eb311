"""A TCP proxy for the fault tests, in the test process: it adds latency to every chunk it
forwards (in order, each direction on its own), or refuses connections and cuts the open ones,
as a network or a server going away would.

    with TcpProxy(("127.0.0.1", 5672)) as proxy:
        proxy.latency, proxy.jitter = 0.2, 0.05   # 200 ms ± 50 each way
        proxy.cut()                                # refused, open connections reset
        proxy.restore()

It runs on eventlet's hub (``nameko test`` patches the standard library), so it forwards while
the test waits on a socket or sleeps.
"""

import random
import socket
import time

import eventlet
from eventlet.queue import LightQueue

CHUNK = 65536


class TcpProxy:
    def __init__(self, target, latency=0.0, jitter=0.0, seed=12):
        self.target = target
        self.latency = latency
        self.jitter = jitter
        self._random = random.Random(seed)
        self._links = set()
        self._listener = eventlet.listen(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._acceptor = eventlet.spawn(self._accept, self._listener)

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def cut(self):
        """Connections are refused from now on, and the open ones are reset."""
        self._acceptor.kill()
        self._listener.close()
        for link in list(self._links):
            link.close()

    def restore(self):
        """Connections are accepted again, on the same port."""
        self._listener = eventlet.listen(("127.0.0.1", self.port))
        self._acceptor = eventlet.spawn(self._accept, self._listener)

    def close(self):
        self.cut()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _accept(self, listener):
        while True:
            client, _ = listener.accept()
            try:
                upstream = eventlet.connect(self.target)
            except OSError:
                client.close()
                continue
            link = _Link(client, upstream, self._links)
            link.start(self._forward(client, upstream, link), self._forward(upstream, client, link))

    def _delay(self):
        spread = self._random.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return max(self.latency + spread, 0.0)

    def _forward(self, source, sink, link):
        """Reads ``source`` and hands each chunk to a sender that writes it to ``sink`` once
        its delay has passed; a chunk never overtakes the one before it."""

        def forward():
            chunks = LightQueue()
            sender = link.spawn(_send, chunks, sink)
            due = 0.0
            try:
                while data := source.recv(CHUNK):
                    due = max(due, time.monotonic() + self._delay())
                    chunks.put((due, data))
            except OSError:
                pass
            chunks.put(None)
            sender.wait()
            link.close()

        return forward


class _Link:
    """A client's connection and the proxy's to the target, with the greenthreads that forward
    between them. Closing kills those greenthreads before closing the sockets: a greenthread
    still waiting on a closed socket would be woken by whatever socket takes its number next."""

    def __init__(self, client, upstream, links):
        self.sockets = (client, upstream)
        self.threads = []
        self.links = links
        links.add(self)

    def spawn(self, function, *args):
        thread = eventlet.spawn(function, *args)
        self.threads.append(thread)
        return thread

    def start(self, *forwards):
        for forward in forwards:
            self.spawn(forward)

    def close(self):
        self.links.discard(self)
        current = eventlet.getcurrent()
        for thread in self.threads:
            if thread is not current:
                thread.kill()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def _send(chunks, sink):
    while (item := chunks.get()) is not None:
        due, data = item
        eventlet.sleep(max(due - time.monotonic(), 0.0))
        try:
            sink.sendall(data)
        except OSError:
            return
