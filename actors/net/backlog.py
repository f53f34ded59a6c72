"""Per-connection backlog accounting, so backpressure pauses only the noisy connection.

ARCHITECTURE.md 9.6: a flooding connection slows only itself. The expensive work happens
downstream of the link actors (the Inbox verifies, the NickRegistry tracks), in mailboxes
shared by every connection, so a mailbox's size alone cannot say *whose* messages are
waiting. Each connection therefore counts the lines its reader passed on (``read``); the
link actor counts the lines it finished itself (``settled``: control messages, drops) and
each consumer the messages it finished (``done_inbox``, ``done_registry``). What is left
is that connection's own backlog, wherever it waits — in the link actor's mailbox or
downstream — and its reader compares it with its limits.

Every counter has exactly one writing thread (the reader writes ``read``, the link actor
``settled``, the Inbox ``done_inbox``, the NickRegistry ``done_registry``), so plain ints
are safe under the GIL; a value read a moment old only shifts a pause by a line or two.
"""

from __future__ import annotations

import threading

__all__ = ["Backlog", "Backlogs", "CONSUMERS", "LineRate"]

CONSUMERS = ("inbox", "registry")


class Backlog:
    """One connection's messages handed downstream and not yet handled."""

    __slots__ = ("read", "settled", "done_inbox", "done_registry")

    def __init__(self) -> None:
        self.read = 0
        self.settled = 0
        self.done_inbox = 0
        self.done_registry = 0

    def outstanding(self) -> int:
        # a message of a previous incarnation finished after the reset can make it negative
        return max(0, self.read - self.settled - self.done_inbox - self.done_registry)


class Backlogs:
    """The live connections' backlogs by link name (a directory's ``host:port``, a peer's
    ``peer:<nick>``); a new incarnation replaces its predecessor's entry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, Backlog] = {}

    def open(self, name: str) -> Backlog:
        backlog = Backlog()
        with self._lock:
            self._by_name[name] = backlog
        return backlog

    def close(self, name: str, backlog: Backlog) -> None:
        with self._lock:
            if self._by_name.get(name) is backlog:
                del self._by_name[name]

    def done(self, name: str, consumer: str) -> None:
        """``consumer`` (one of :data:`CONSUMERS`) finished one message from ``name``."""
        backlog = self._by_name.get(name)
        if backlog is None:
            return
        if consumer == "inbox":
            backlog.done_inbox += 1
        else:
            backlog.done_registry += 1


class LineRate:
    """A token bucket over lines read on one connection (``max_lines_per_second``).

    The Inbox verifies every privmsg on one thread, so a connection that is merely kept
    below ``connection_high_water`` can still keep that thread (and the GIL) busy all
    the time, and every other connection's messages wait for it. Pacing each connection
    to a rate makes a flood cost its sender throughput, not everyone latency. ``take``
    returns how long the reader should sleep before reading again; the clock is passed
    in, so the rule is testable without time.
    """

    __slots__ = ("rate", "burst", "_tokens", "_at")

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = rate if burst is None else burst
        self._tokens = self.burst
        self._at: float | None = None

    def take(self, lines: int, now: float) -> float:
        if self.rate <= 0:
            return 0.0
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= lines
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate
