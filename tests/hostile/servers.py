"""Our own hostile directory and hostile maker: small servers the tests script line by line.

They are deliberately not LocalNet's components: LocalNet's directory and makers behave
like REF/NG, and an attacker does not. These speak just enough of the protocol to be
accepted (a 795 answer, a 793 answer) and otherwise send whatever the test tells them,
exactly as bytes, and record what they receive. Each is published behind LocalNet's SOCKS
gateway under its own onion name, so the client reaches them the way it reaches any
directory or maker: over the real SOCKS path.

One thread accepts, one thread per connection reads; ``stop`` closes every socket and
joins every thread (the suite's leak check holds us to it).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable

from localnet.onion import random_onion_host
from protocol.crypto import NickIdentity
from protocol.envelope import MsgType, decode_envelope, encode_envelope
from protocol.errors import ProtocolError
from protocol.framing import LineBuffer
from protocol.handshake import build_directory_handshake, build_peer_handshake

PORT = 5222
MAX_RECORDED = 10_000


class _Server:
    """Listening socket, accept thread, one reader thread per connection."""

    def __init__(self) -> None:
        self.onion = random_onion_host()
        self.location = f"{self.onion}:{PORT}"
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopping = False
        self.received: list[bytes] = []

    @property
    def address(self) -> tuple[str, int]:
        return self._listener.getsockname()

    def start(self, net=None):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # close() does not wake a blocked accept()
        self._spawn(self._accept_loop, "hostile-accept")
        if net is not None:
            net.gateway.map(self.onion, PORT, self.address)
        return self

    def _spawn(self, target, name, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._lock:
                self._conns.append(conn)
            self._spawn(self._read_loop, "hostile-conn", conn)

    def _read_loop(self, conn: socket.socket) -> None:
        buffer = LineBuffer(max_line=10_000_000)
        try:
            while not self._stopping:
                data = conn.recv(65_536)
                if not data:
                    return
                for raw in buffer.feed(data):
                    if len(self.received) < MAX_RECORDED:
                        self.received.append(raw)
                    try:
                        envelope = decode_envelope(raw)
                    except ProtocolError:
                        continue
                    self.on_envelope(conn, envelope.type, envelope.line)
        except OSError:
            return
        finally:
            self._closed(conn)

    def _closed(self, conn: socket.socket) -> None:
        with self._lock:
            if conn in self._conns:
                self._conns.remove(conn)
        conn.close()

    @staticmethod
    def send(conn: socket.socket, msg_type: int, line: str) -> None:
        conn.sendall(encode_envelope(int(msg_type), line) + b"\r\n")

    def on_envelope(self, conn: socket.socket, msg_type: int, line: str) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stopping = True
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        for thread in threads:
            thread.join(timeout=5)


class HostileDirectory(_Server):
    """Answers a 793 with a 795 (``accept`` decides ``accepted``), answers GETPEERLIST with
    ``peerlist`` and then sends whatever the test says. ``on_orderbook(conn)`` runs when a
    client broadcasts ``!orderbook``."""

    def __init__(self, network: str = "regtest", accept: bool = True, peerlist: str = "") -> None:
        super().__init__()
        self.network = network
        self.accept = accept
        self.peerlist = peerlist
        self.identity = NickIdentity()
        self.handshakes = 0
        self.clients: dict[str, socket.socket] = {}  # accepted client nick -> socket
        self.on_orderbook: Callable[[socket.socket, str], None] | None = None

    def on_envelope(self, conn, msg_type, line) -> None:
        if msg_type == MsgType.HANDSHAKE:
            self.handshakes += 1
            nick = _nick_of(line)
            reply = build_directory_handshake(
                self.identity.nick, self.network, {"peerlist_features", "ping"}, self.accept,
                "hostile" if self.accept else "Rejected: directory full")
            self.send(conn, MsgType.DN_HANDSHAKE, reply)
            if self.accept:
                self.clients[nick] = conn
        elif msg_type == MsgType.GETPEERLIST and self.peerlist:
            self.send(conn, MsgType.PEERLIST, self.peerlist)
        elif msg_type == MsgType.PUBMSG and line.endswith("!orderbook") and self.on_orderbook:
            self.on_orderbook(conn, line.split("!", 1)[0])

    def send_raw(self, raw: bytes) -> int:
        """Send one raw line (terminator added) to every accepted client; how many got it."""
        sent = 0
        for conn in list(self.clients.values()):
            try:
                conn.sendall(raw + b"\r\n")
                sent += 1
            except OSError:
                pass
        return sent

    def send_all(self, msg_type: int, line: str) -> int:
        return self.send_raw(encode_envelope(int(msg_type), line))

    def flood(self, lines: Callable[[int], bytes], rate: float, seconds: float) -> threading.Thread:
        """Send ``lines(i)`` to every client at ``rate`` lines/s for ``seconds`` (a thread)."""
        def run() -> None:
            start, i, batch = time.monotonic(), 0, max(1, int(rate / 200))
            while not self._stopping and time.monotonic() - start < seconds:
                chunk = b"".join(lines(i + k) + b"\r\n" for k in range(batch))
                for conn in list(self.clients.values()):
                    try:
                        conn.sendall(chunk)
                    except OSError:
                        pass
                i += batch
                ahead = start + i / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            self.flooded = i
        self.flooded = 0
        self._spawn(run, "hostile-flood")
        return self._threads[-1]


class HostileMaker(_Server):
    """A peer that answers a 793 with a 793 claiming ``claim_nick`` (unsigned, as every 793
    is) and then only listens: it records the privmsgs a client sends it."""

    def __init__(self, claim_nick: str, network: str = "regtest") -> None:
        super().__init__()
        self.claim_nick = claim_nick
        self.network = network
        self.privmsgs: list[str] = []

    def on_envelope(self, conn, msg_type, line) -> None:
        if msg_type == MsgType.HANDSHAKE:
            self.send(conn, MsgType.HANDSHAKE,
                      build_peer_handshake(self.claim_nick, self.network, (), self.location))
        elif msg_type == MsgType.PRIVMSG:
            self.privmsgs.append(line)


def _nick_of(handshake_line: str) -> str:
    try:
        return str(json.loads(handshake_line).get("nick", ""))
    except (ValueError, AttributeError):
        return ""
