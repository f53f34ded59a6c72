"""The run's trace: one bounded, thread-safe log of injected faults and protocol events.

The actors write their protocol events here too (``SystemContext.trace``), so a test
asserts invariants over a whole run instead of sleeping, and a failing one prints
:func:`fault_plan_report`: the replay hint and the tail of the trace.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import msgspec

from actors.faults.plan import FaultPlan, replay_hint

__all__ = ["Trace", "TraceEvent", "fault_plan_report"]


class TraceEvent(msgspec.Struct, frozen=True):
    t: float
    source: str
    kind: str
    detail: str = ""


class Trace:
    """Thread-safe, bounded, append-only log of injected faults and protocol events.

    Sources are ``"<kind>:<name>"`` (``"directory:abc.onion:5222"``); kinds are dotted
    (``"fault.drop"``, ``"directory.connected"``, ``"reply.attributed"``). When full the
    oldest events are discarded and counted in :attr:`dropped`, so a long run cannot
    exhaust memory.
    """

    def __init__(self, max_events: int = 100_000) -> None:
        self._events: deque[TraceEvent] = deque(maxlen=max_events)
        self._lock = threading.Lock()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._events)

    def record(self, source: str, kind: str, detail: str = "") -> TraceEvent:
        event = TraceEvent(time.monotonic(), source, kind, detail)
        with self._lock:
            if len(self._events) == self._events.maxlen:
                self.dropped += 1
            self._events.append(event)
        return event

    def events(self, kind: str | None = None, source: str | None = None) -> list[TraceEvent]:
        """Events in order; ``kind`` matches exactly, or as a prefix if it ends with ".".

        ``source`` likewise matches exactly, or as a prefix if it ends with ":".
        """
        with self._lock:
            snapshot = list(self._events)
        return [e for e in snapshot if _field_matches(e.kind, kind, ".")
                and _field_matches(e.source, source, ":")]

    def dump_json(self) -> str:
        with self._lock:
            payload = {"dropped": self.dropped, "events": list(self._events)}
        return msgspec.json.encode(payload).decode()


def _field_matches(value: str, wanted: str | None, separator: str) -> bool:
    if wanted is None:
        return True
    return value.startswith(wanted) if wanted.endswith(separator) else value == wanted


def fault_plan_report(plan: FaultPlan, trace: Trace, last: int = 50) -> str:
    """A failing test's message: the replay hint and the tail of the trace."""
    events = trace.events()
    start = events[0].t if events else 0.0
    lines = [replay_hint(plan), f"last {min(last, len(events))} of {len(events)} trace events"
             f" ({trace.dropped} dropped):"]
    lines += [f"  +{e.t - start:9.3f}s {e.source} {e.kind} {e.detail}" for e in events[-last:]]
    return "\n".join(lines)
