"""Injected time: a clock to read and a scheduler to set timers on.

Every timer in the client (reconnect backoff, ping deadlines, quiet periods) goes through
a :class:`Scheduler`, so tests drive time with :class:`ManualClock` instead of sleeping
and a seeded run fires the same callbacks in the same order every time. Production uses
:class:`RealClock` and one :class:`RealScheduler` thread for all timers, rather than a
``threading.Timer`` thread per timer.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol

from loguru import logger


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds; only differences are meaningful."""


class TimerHandle:
    """What ``call_later`` returns; ``cancel()`` is idempotent and safe from any thread.

    Cancelled timers stay in the heap and are skipped when due (lazy deletion), which
    keeps ``cancel`` O(1) — ping timers are cancelled far more often than they fire.
    """

    __slots__ = ("due", "fn", "cancelled")

    def __init__(self, due: float, fn: Callable[[], object]) -> None:
        self.due = due
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler(Protocol):
    def call_later(self, delay: float, fn: Callable[[], object]) -> TimerHandle:
        """Run ``fn()`` once, ``delay`` seconds from now, unless cancelled first."""


class RealClock:
    def now(self) -> float:
        return time.monotonic()


class _TimerHeap:
    """Timers ordered by (due, insertion order): equal deadlines fire in the order set."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._seq = itertools.count()

    def push(self, handle: TimerHandle) -> None:
        heapq.heappush(self._heap, (handle.due, next(self._seq), handle))

    def next_due(self) -> float | None:
        """Deadline of the earliest live timer (drops cancelled ones from the top)."""
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def live_count(self) -> int:
        return sum(1 for _, _, handle in self._heap if not handle.cancelled)

    def pop_due(self, now: float) -> TimerHandle | None:
        due = self.next_due()
        if due is None or due > now:
            return None
        return heapq.heappop(self._heap)[2]


def _run(handle: TimerHandle) -> None:
    """A failing callback is logged, never allowed to stop the timers behind it."""
    try:
        handle.fn()
    except Exception:
        logger.exception("timer callback {!r} raised", handle.fn)


class ManualClock:
    """A clock that moves only when a test calls :meth:`advance`.

    ``advance`` also fires the timers of every :class:`ManualScheduler` bound to this
    clock, one at a time in deadline order, with ``now()`` set to each timer's deadline
    while its callback runs — so a callback that schedules a new timer inside the
    advanced window sees it fire in the same ``advance`` call, like real time would.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._schedulers: list[ManualScheduler] = []

    def now(self) -> float:
        return self._now

    def advance(self, dt: float) -> None:
        if dt < 0:
            raise ValueError("a monotonic clock cannot go back")
        target = self._now + dt
        while True:
            due_times = [(s.next_due(), i) for i, s in enumerate(self._schedulers)]
            live = [(due, i) for due, i in due_times if due is not None and due <= target]
            if not live:
                break
            due, i = min(live)
            self._now = max(self._now, due)
            self._schedulers[i].fire_one(self._now)
        self._now = target

    def _bind(self, scheduler: ManualScheduler) -> None:
        self._schedulers.append(scheduler)


class ManualScheduler:
    """A deterministic :class:`Scheduler`: callbacks run inside ``clock.advance()``.

    ``call_later`` may be called from any thread (actors schedule from their own
    threads); callbacks run on the thread that advances the clock.
    """

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._timers = _TimerHeap()
        clock._bind(self)

    def call_later(self, delay: float, fn: Callable[[], object]) -> TimerHandle:
        handle = TimerHandle(self._clock.now() + max(0.0, delay), fn)
        with self._lock:
            self._timers.push(handle)
        return handle

    def next_due(self) -> float | None:
        with self._lock:
            return self._timers.next_due()

    def fire_one(self, now: float) -> None:
        with self._lock:
            handle = self._timers.pop_due(now)
        if handle is not None:
            _run(handle)

    def pending(self) -> int:
        """Live (uncancelled) timers, for tests asserting nothing is left scheduled."""
        with self._lock:
            return self._timers.live_count()


class RealScheduler:
    """All timers of a client on one thread, started on the first ``call_later``.

    The thread is not a daemon: a library must not leave work silently dying at
    interpreter exit, so the owner calls :meth:`close`, which discards pending timers
    and joins the thread. Callbacks run on the scheduler thread and must be short
    (typically a pykka ``tell``).
    """

    def __init__(self, clock: Clock | None = None, name: str = "jm-scheduler") -> None:
        self._clock = clock or RealClock()
        self._name = name
        self._cond = threading.Condition()
        self._timers = _TimerHeap()
        self._thread: threading.Thread | None = None
        self._closed = False

    def call_later(self, delay: float, fn: Callable[[], object]) -> TimerHandle:
        handle = TimerHandle(self._clock.now() + max(0.0, delay), fn)
        with self._cond:
            if self._closed:
                raise RuntimeError("scheduler is closed")
            self._timers.push(handle)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name)
                self._thread.start()
            self._cond.notify()
        return handle

    def close(self) -> None:
        """Stop firing timers and join the thread; idempotent."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    handle = self._timers.pop_due(self._clock.now())
                    if handle is not None:
                        break
                    due = self._timers.next_due()
                    self._cond.wait(None if due is None else max(0.0, due - self._clock.now()))
            _run(handle)
