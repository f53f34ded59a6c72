"""Test doubles for transports: an in-memory connection pair, no sockets needed.

NOT used by the client itself. It is here, public, so that an application's own tests
(and ours, tests/faults/test_injector.py) can drive a :class:`FaultyTransport` or any
code that takes a :class:`~actors.net.transport.Transport` without a network.
"""

from __future__ import annotations

import threading

__all__ = ["MemoryTransport", "memory_pair"]


class _Pipe:
    """One direction of an in-memory stream."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.cond = threading.Condition()
        self.writer_done = False   # EOF once the buffer is drained
        self.reader_done = False   # the reading end is shut: nothing more is delivered


class MemoryTransport:
    """One end of :func:`memory_pair`; behaves like :class:`SocketTransport` on a
    socketpair (``abort`` shuts both ways: the local ``recv`` returns ``b""`` at once,
    the other end reads what was already sent and then ``b""``)."""

    def __init__(self, rx: _Pipe, tx: _Pipe) -> None:
        self._rx = rx
        self._tx = tx

    def send(self, data: bytes) -> None:
        with self._tx.cond:
            if self._tx.writer_done or self._tx.reader_done:
                raise BrokenPipeError("memory transport is closed")
            self._tx.buffer += data
            self._tx.cond.notify_all()

    def recv(self, bufsize: int) -> bytes:
        rx = self._rx
        with rx.cond:
            while not rx.buffer and not rx.writer_done and not rx.reader_done:
                rx.cond.wait()
            if rx.reader_done:
                return b""
            data = bytes(rx.buffer[:bufsize])
            del rx.buffer[:bufsize]
            return data

    def abort(self) -> None:
        for pipe, flag in ((self._rx, "reader_done"), (self._tx, "writer_done")):
            with pipe.cond:
                setattr(pipe, flag, True)
                pipe.cond.notify_all()

    def close(self) -> None:
        self.abort()


def memory_pair() -> tuple[MemoryTransport, MemoryTransport]:
    """Two connected in-memory transports, for tests that need no sockets."""
    a_to_b, b_to_a = _Pipe(), _Pipe()
    return MemoryTransport(b_to_a, a_to_b), MemoryTransport(a_to_b, b_to_a)
