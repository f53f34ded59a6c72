"""One connected transport with its single reader thread (PROTOCOL.md P11).

The reader thread is the only code that reads the socket: it splits bytes into lines
(with the line-length cap enforced before buffering more) and ``tell``s them to the
owning actor in batches. The owning actor is the only writer. ``close`` aborts the
transport first so a blocked ``recv`` returns, then joins the reader.

Backpressure is per connection (docs/limits.md, ARCHITECTURE.md 9.6): before each
``recv`` the reader looks at what *this* connection has queued — its batches in the
owner's mailbox (``max_queued_batches``) and its lines not yet handled anywhere, by the
owner, the Inbox or the NickRegistry (its :class:`~actors.net.backlog.Backlog`,
``connection_high_water``). Above either mark the reader stops reading — TCP flow
control then pushes back on that sender alone — until they drain below the low-water
marks; and it reads at most ``max_lines_per_second`` (a token bucket, two seconds of
burst), so a flood costs its sender throughput, not everyone else latency. The shared
mailboxes are a last resort: above ``mailbox_high_water`` only
connections with more than ``connection_low_water`` messages outstanding pause, so a
quiet connection is never held up by a noisy one. Pauses are counted
(``reader_pauses``) and timed (``reader_paused_ms``). So one connection holds at most
``max_line + 1`` bytes of partial line, one ``READ_SIZE`` chunk and
``max_queued_batches`` batches in memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import pykka

from actors.core.messages import ConnectionLost, LinesIn
from actors.net.backlog import Backlog, LineRate
from actors.net.transport import Transport
from protocol.errors import LineTooLongError
from protocol.framing import LineBuffer

__all__ = ["LineConnection", "READ_SIZE"]

READ_SIZE = 65_536
#: A connection that already has lines outstanding reads in small chunks, so one read
#: cannot overshoot its ``connection_high_water`` by more than ~30 typical lines.
BACKLOGGED_READ_SIZE = 8_192
PAUSE_POLL = 0.005  # seconds between mailbox checks while paused


def _qsize(ref: pykka.ActorRef | None) -> int:
    inbox = getattr(ref, "actor_inbox", None)
    try:
        return inbox.qsize() if inbox is not None else 0
    except (AttributeError, NotImplementedError):  # a queue without qsize: no backpressure
        return 0


class LineConnection:
    def __init__(self, transport: Transport, owner: pykka.ActorRef, conn_id: int,
                 max_line: int, name: str, *, limits=None, stats=None,
                 downstream: Callable[[], Iterable[pykka.ActorRef | None]] | None = None,
                 backlog: Backlog | None = None) -> None:
        self.transport = transport
        self.conn_id = conn_id
        self._owner = owner
        self._buffer = LineBuffer(max_line=max_line)
        self._closing = False
        self._stats = stats
        self._downstream = downstream or (lambda: ())
        self._high = getattr(limits, "mailbox_high_water", 0)
        self._low = min(getattr(limits, "mailbox_low_water", 0), self._high)
        self._batch_high = getattr(limits, "max_queued_batches", 0)
        self._batch_low = self._batch_high // 2
        self.backlog = backlog or Backlog()
        self._own_high = getattr(limits, "connection_high_water", 0)
        self._own_low = min(getattr(limits, "connection_low_water", 0), self._own_high)
        rate = getattr(limits, "max_lines_per_second", 0)
        self._rate = LineRate(rate, burst=2 * rate)  # an orderbook burst passes unpaced
        self.pauses = 0
        self._thread = threading.Thread(target=self._read_loop, name=f"jm-reader-{name}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def send(self, data: bytes) -> None:
        self.transport.send(data)

    def _backlogged(self, owner_mark: int, own_mark: int, downstream_mark: int) -> bool:
        if self._batch_high and _qsize(self._owner) > owner_mark:
            return True
        if not self._own_high:
            return False
        mine = self.backlog.outstanding()
        if mine > own_mark:
            return True
        if self._high and mine > self._own_low:
            return any(_qsize(ref) > downstream_mark for ref in self._downstream())
        return False

    def _wait_for_drain(self) -> None:
        """Stop reading while this connection's own backlog is high (TCP pushes back on it)."""
        if not self._backlogged(self._batch_high, self._own_high, self._high):
            return
        self.pauses += 1
        started = time.monotonic()
        if self._stats is not None:
            self._stats.inc("reader_pauses")
        while not self._closing and self._backlogged(self._batch_low, self._own_low, self._low):
            time.sleep(PAUSE_POLL)
        if self._stats is not None:
            self._stats.inc("reader_paused_ms", int((time.monotonic() - started) * 1000))

    def _pace(self, lines: int) -> None:
        """Sleep off lines read beyond ``max_lines_per_second`` (TCP pushes back meanwhile)."""
        delay = self._rate.take(lines, time.monotonic())
        if delay > 0 and not self._closing:
            if self._stats is not None:
                self._stats.inc("reader_throttled_ms", int(delay * 1000))
            time.sleep(delay)

    def _read_loop(self) -> None:
        try:
            while True:
                self._wait_for_drain()
                if self._closing:
                    return
                size = BACKLOGGED_READ_SIZE if self.backlog.outstanding() else READ_SIZE
                try:
                    data = self.transport.recv(size)
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
                    self.backlog.read += len(lines)
                    self._owner.tell(LinesIn(self.conn_id, tuple(lines)))
                    self._pace(len(lines))
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
