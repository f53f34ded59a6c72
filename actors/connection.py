"""One connected transport with its single reader thread (PROTOCOL.md P11).

The reader thread is the only code that reads the socket: it splits bytes into lines
(with the line-length cap enforced before buffering more) and ``tell``s them to the
owning actor in batches. The owning actor is the only writer. ``close`` aborts the
transport first so a blocked ``recv`` returns, then joins the reader.
"""

from __future__ import annotations

import threading

import pykka

from actors.messages import ConnectionLost, LinesIn
from actors.transport import Transport
from protocol.errors import LineTooLongError
from protocol.framing import LineBuffer

READ_SIZE = 65_536


class LineConnection:
    def __init__(self, transport: Transport, owner: pykka.ActorRef, conn_id: int,
                 max_line: int, name: str) -> None:
        self.transport = transport
        self.conn_id = conn_id
        self._owner = owner
        self._buffer = LineBuffer(max_line=max_line)
        self._closing = False
        self._thread = threading.Thread(target=self._read_loop, name=f"jm-reader-{name}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def send(self, data: bytes) -> None:
        self.transport.send(data)

    def _read_loop(self) -> None:
        try:
            while True:
                try:
                    data = self.transport.recv(READ_SIZE)
                except OSError as exc:
                    self._lost("network", f"read failed: {exc}")
                    return
                if not data:
                    self._lost("network", "connection closed by remote")
                    return
                try:
                    lines = self._buffer.feed(data)
                except LineTooLongError as exc:
                    self._lost("protocol", str(exc))
                    return
                if lines:
                    self._owner.tell(LinesIn(self.conn_id, tuple(lines)))
        except pykka.ActorDeadError:
            return  # the owner is gone; close() is on its way

    def _lost(self, kind: str, reason: str) -> None:
        if not self._closing:
            self._owner.tell(ConnectionLost(self.conn_id, kind, reason))

    def abort(self) -> None:
        """Make a blocked read return now (used by the supervisor's forced shutdown)."""
        self._closing = True
        self.transport.abort()

    def close(self) -> None:
        self._closing = True
        self.transport.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
