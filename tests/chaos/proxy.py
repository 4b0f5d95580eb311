"""A TCP proxy between the services and a broker, to break the link without touching the
broker: the link fails the way a network does, not the way a stopped broker does.

    proxy = LinkProxy("127.0.0.1", broker_port).start()
    proxy.port                  # point AMQP_URI at 127.0.0.1:<proxy.port>
    proxy.blackhole()           # accept, never forward; open links go silent, nothing closes
    proxy.refuse()              # new links are closed at once; open ones keep working
    proxy.cut()                 # every open link is closed now
    proxy.pass_through()        # back to normal
    proxy.close()

It runs in the test's process on operating-system threads with the unpatched socket module:
tests run under ``nameko test``, whose eventlet hub would otherwise carry the proxy's sockets
too, and refuses two greenthreads waiting on one descriptor when a link is cut under them.
"""

from eventlet.patcher import original

socket = original("socket")
threading = original("threading")

PASS, BLACKHOLE, REFUSE = "pass", "blackhole", "refuse"
CHUNK = 65536


class LinkProxy:
    def __init__(self, target_host, target_port, listen_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.mode = PASS
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((listen_host, 0))
        self.port = self._listener.getsockname()[1]
        self._links = set()
        self._lock = threading.Lock()
        self._closed = False

    def start(self):
        self._listener.listen(128)
        threading.Thread(target=self._accept, daemon=True, name="chaos-proxy").start()
        return self

    def pass_through(self):
        self.mode = PASS

    def blackhole(self):
        self.mode = BLACKHOLE

    def refuse(self):
        self.mode = REFUSE

    def cut(self):
        """Closes every open link, both ends."""
        with self._lock:
            links, self._links = self._links, set()
        for pair in links:
            for end in pair:
                _close(end)

    def close(self):
        self._closed = True
        _close(self._listener)
        self.cut()

    def links(self):
        """The links open now (each a tuple of sockets), to tell later which have closed."""
        with self._lock:
            return set(self._links)

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == REFUSE:
                _close(client)
                continue
            if self.mode == BLACKHOLE:
                # Accepted and then silence: the client's connect succeeds, its handshake
                # never gets an answer.
                with self._lock:
                    self._links.add((client,))
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            pair = (client, upstream)
            with self._lock:
                self._links.add(pair)
            threading.Thread(target=self._pump, args=(client, upstream, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True).start()

    def _pump(self, source, sink, pair):
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    break
                if self.mode == BLACKHOLE:
                    continue  # read and dropped: the peer sees a link that went quiet
                sink.sendall(data)
        except (OSError, EOFError):
            pass
        with self._lock:
            self._links.discard(pair)
        for end in pair:
            _close(end)

    def _swallow(self, client):
        try:
            while client.recv(CHUNK):
                pass
        except (OSError, EOFError):
            pass
        with self._lock:
            self._links.discard((client,))
        _close(client)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
