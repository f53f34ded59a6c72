"""The injected clock and schedulers (actors/core/clock.py): deadline order, FIFO among
equal deadlines, lazy cancellation, callbacks that schedule more, failing callbacks, and
the one-thread RealScheduler's lifecycle. No test waits on wall time: the RealScheduler
gets a clock the test sets past the deadlines, then wakes it."""

import threading

import pytest
from loguru import logger

from actors.core.clock import (
    ManualClock, ManualScheduler, RealClock, RealScheduler, TimerHandle, _TimerHeap,
)


def test_real_clock_is_monotonic():
    clock = RealClock()
    first = clock.now()
    assert clock.now() >= first


def test_timer_handle_starts_live_and_cancel_is_idempotent():
    handle = TimerHandle(1.5, print)
    assert (handle.due, handle.fn, handle.cancelled) == (1.5, print, False)
    handle.cancel()
    handle.cancel()
    assert handle.cancelled is True


def test_heap_orders_by_deadline_then_insertion_and_skips_cancelled():
    heap = _TimerHeap()
    a, b, c, d = (TimerHandle(due, print) for due in (2.0, 1.0, 1.0, 3.0))
    for handle in (a, b, c, d):
        heap.push(handle)
    assert heap.live_count() == 4 and heap.next_due() == 1.0
    b.cancel()
    assert heap.live_count() == 3 and heap.next_due() == 1.0  # c still due at 1.0
    assert heap.pop_due(0.999) is None
    assert heap.pop_due(1.0) is c  # due exactly now fires
    assert heap.pop_due(5.0) is a and heap.pop_due(5.0) is d
    assert heap.pop_due(5.0) is None and heap.next_due() is None and heap.live_count() == 0


def test_advance_refuses_to_go_back_and_lands_on_the_target():
    clock = ManualClock(start=10.0)
    with pytest.raises(ValueError, match="^a monotonic clock cannot go back$"):
        clock.advance(-0.1)
    clock.advance(0.0)
    clock.advance(2.5)
    assert clock.now() == 12.5


def test_callbacks_see_their_own_deadline_and_fire_in_order_across_schedulers():
    clock = ManualClock(start=100.0)
    first, second = ManualScheduler(clock), ManualScheduler(clock)
    seen = []
    second.call_later(2.0, lambda: seen.append(("b", clock.now())))
    first.call_later(1.0, lambda: seen.append(("a", clock.now())))
    first.call_later(3.0, lambda: seen.append(("c", clock.now())))
    second.call_later(-5.0, lambda: seen.append(("now", clock.now())))  # clamped to 0
    clock.advance(2.0)
    assert seen == [("now", 100.0), ("a", 101.0), ("b", 102.0)]
    assert (first.pending(), second.pending()) == (1, 0) and clock.now() == 102.0


def test_timers_scheduled_by_a_callback_inside_the_window_fire_in_the_same_advance():
    clock = ManualClock()
    scheduler = ManualScheduler(clock)
    seen = []

    def tick():
        seen.append(clock.now())
        if len(seen) < 3:
            scheduler.call_later(1.0, tick)
    scheduler.call_later(1.0, tick)
    clock.advance(2.5)
    assert seen == [1.0, 2.0] and scheduler.pending() == 1
    clock.advance(0.5)
    assert seen == [1.0, 2.0, 3.0] and scheduler.pending() == 0


def test_cancelled_timers_never_fire_and_do_not_count_as_pending():
    clock = ManualClock()
    scheduler = ManualScheduler(clock)
    fired = []
    handle = scheduler.call_later(1.0, lambda: fired.append(1))
    scheduler.call_later(2.0, lambda: fired.append(2))
    handle.cancel()
    assert scheduler.pending() == 1 and scheduler.next_due() == 2.0
    clock.advance(5.0)
    assert fired == [2]


def test_a_failing_callback_does_not_stop_the_timers_behind_it():
    clock = ManualClock()
    scheduler = ManualScheduler(clock)
    fired = []
    scheduler.call_later(1.0, lambda: 1 / 0)
    scheduler.call_later(1.0, lambda: fired.append("after"))
    clock.advance(1.0)
    assert fired == ["after"]


class _SetClock:
    """A clock the test moves by hand; the scheduler thread reads it on every wake-up."""

    def __init__(self):
        self.t = 0.0

    def now(self):
        return self.t


def test_real_scheduler_starts_lazily_fires_in_deadline_order_and_closes():
    clock = _SetClock()
    scheduler = RealScheduler(clock, name="test-sched")
    try:
        assert scheduler._thread is None
        done = threading.Event()
        fired = []
        # deadlines far in the future by wall time: only the injected clock makes them due
        scheduler.call_later(2000.0, lambda: fired.append("second"))
        scheduler.call_later(1000.0, lambda: fired.append("first"))
        scheduler.call_later(1500.0, lambda: 1 / 0)  # logged, not fatal
        scheduler.call_later(3000.0, done.set)
        assert scheduler._thread is not None and scheduler._thread.name == "test-sched"
        clock.t = 10_000.0
        scheduler.call_later(50_000.0, print)  # wakes the thread; never due
        assert done.wait(10)
        assert fired == ["first", "second"]
    finally:
        scheduler.close()
    scheduler.close()
    assert not scheduler._thread.is_alive()
    with pytest.raises(RuntimeError, match="^scheduler is closed$"):
        scheduler.call_later(0.0, print)


class _WatchedClock(_SetClock):
    """Also tells when the scheduler thread read the time twice in a row: once to find
    nothing due, once to compute how long to sleep, i.e. it is about to wait."""

    def __init__(self):
        super().__init__()
        self.thread_reads = 0
        self.about_to_wait = threading.Event()

    def now(self):
        if threading.current_thread() is not threading.main_thread():
            self.thread_reads += 1
            if self.thread_reads == 2:
                self.about_to_wait.set()
        return self.t


def test_a_real_timer_becomes_due_by_the_clock_alone_and_the_thread_keeps_serving():
    clock = _WatchedClock()
    scheduler = RealScheduler(clock)
    first, second = threading.Event(), threading.Event()
    try:
        scheduler.call_later(0.2, first.set)
        assert clock.about_to_wait.wait(10)
        with scheduler._cond:  # held by the thread until its wait() releases it
            clock.t = 5.0  # no notify: only the wait's own timeout can wake the thread
        assert first.wait(10)
        scheduler.call_later(0.0, second.set)  # after the heap ran empty
        assert second.wait(10)
        assert scheduler._thread.name == "jm-scheduler"
    finally:
        scheduler.close()


def test_a_failing_callback_is_logged_with_its_repr():
    clock = ManualClock()
    scheduler = ManualScheduler(clock)
    records = []
    logger.enable("actors.core.clock")  # the library is silent unless enabled
    sink = logger.add(lambda m: records.append(m.record), level="ERROR", format="{message}")

    def boom():
        raise KeyError("x")
    try:
        scheduler.call_later(0.0, boom)
        clock.advance(0.0)
    finally:
        logger.remove(sink)
        logger.disable("actors.core.clock")
    [record] = records
    assert record["message"] == f"timer callback {boom!r} raised"
    assert record["exception"].type is KeyError


def test_real_scheduler_can_be_closed_from_its_own_callback():
    scheduler = RealScheduler(_SetClock())
    closed = threading.Event()

    def close_self():
        scheduler.close()  # must not try to join its own thread
        closed.set()
    scheduler.call_later(0.0, close_self)
    assert closed.wait(10)
    scheduler._thread.join(10)
    assert not scheduler._thread.is_alive()


def test_closing_an_unused_real_scheduler_needs_no_thread():
    scheduler = RealScheduler()
    scheduler.close()
    assert scheduler._thread is None
