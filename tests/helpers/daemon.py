"""A hand-driven daemon control connection, for what the remote facades never send
(pre-auth abuse, malformed requests); used by tests/daemon."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from actors.daemon.wire import PROTOCOL_VERSION

__all__ = ["RawConn"]


class RawConn:
    """A hand-driven control connection, for what the facades never send."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(address["socket_path"])
        self.file = self.sock.makefile("rb")
        self.cookie = Path(address["cookie_path"]).read_text().strip()

    def send(self, obj):
        self.sock.sendall((obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n")

    def recv(self, kind=None):
        """The next line (skipping pushed events unless asked for), or None at EOF."""
        while True:
            line = self.file.readline()
            if not line:
                return None
            message = json.loads(line)
            if kind is not None or message["type"] != "event":
                return message

    def hello_line(self, cookie=None, version=PROTOCOL_VERSION) -> bytes:
        """Our hello as raw bytes, for tests that control how it is written."""
        return json.dumps({"type": "hello", "version": version,
                           "cookie_hex": self.cookie if cookie is None else cookie}).encode() + b"\n"

    def hello(self, cookie=None, version=PROTOCOL_VERSION):
        self.send(self.hello_line(cookie, version).rstrip(b"\n"))
        return self.recv()

    def close(self):
        self.file.close()
        self.sock.close()
