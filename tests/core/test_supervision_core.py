"""Guarantees of the supervision core, named like OTP's supervisor suite.

Everything here is pure: time is passed in (or comes from a ManualClock) and randomness
from seeded ``random.Random`` instances, so every expectation is exact.
"""

import random
import threading

import pytest

from actors.core.clock import ManualClock, ManualScheduler, RealScheduler
from actors.core.supervision import (
    Backoff, Escalate, FailureKind, Ignore, Restart, RestartPolicy, Stash, Stop,
    SupervisorCore, shutdown_plan,
)

PERMANENT = RestartPolicy(child_type="permanent", backoff_jitter=0.0)
TRANSIENT = RestartPolicy(child_type="transient", backoff_jitter=0.0)


def core_with(name="dir", policy=PERMANENT):
    core = SupervisorCore(rng=random.Random(1))
    return core, core.register(name, policy)


# --- restart rules --------------------------------------------------------------------

def test_permanent_child_is_restarted_after_normal_exit():
    core, gen = core_with(policy=PERMANENT)
    decision = core.on_child_exit("dir", gen, None, now=0.0)
    assert isinstance(decision, Restart)
    assert decision.generation == gen + 1 and decision.counted
    assert core.current_generation("dir") == gen + 1


def test_transient_child_not_restarted_after_normal_exit():
    core, gen = core_with("peer", TRANSIENT)
    assert core.on_child_exit("peer", gen, None, now=0.0) == Stop("peer", "normal exit")


def test_transient_child_is_restarted_after_abnormal_exit():
    core, gen = core_with("peer", TRANSIENT)
    assert isinstance(core.on_child_exit("peer", gen, FailureKind.LOCAL_BUG, now=0.0), Restart)


def test_temporary_child_is_never_restarted():
    core, gen = core_with("t", RestartPolicy(child_type="temporary"))
    assert isinstance(core.on_child_exit("t", gen, FailureKind.NETWORK, now=0.0), Stop)


def test_network_failures_restart_forever_without_counting():
    core, gen = core_with(policy=RestartPolicy(max_restarts=3, within_seconds=30))
    for i in range(200):
        decision = core.on_child_exit("dir", gen, FailureKind.NETWORK, now=float(i))
        assert isinstance(decision, Restart) and not decision.counted
        gen = decision.generation
    assert core.counters() == {"restarts": 200, "protocol_violations": 0,
                               "escalations": 0, "stale_ignored": 0}
    # Still allowed its full counted budget afterwards.
    for _ in range(3):
        gen = core.on_child_exit("dir", gen, FailureKind.LOCAL_BUG, now=300.0).generation
    assert isinstance(core.on_child_exit("dir", gen, FailureKind.LOCAL_BUG, now=300.0), Escalate)


def test_network_retries_can_be_bounded_for_children_that_should_give_up():
    core, gen = core_with("peer", RestartPolicy(child_type="transient", max_network_retries=2))
    for _ in range(2):
        gen = core.on_child_exit("peer", gen, FailureKind.NETWORK, now=0.0).generation
    decision = core.on_child_exit("peer", gen, FailureKind.NETWORK, now=0.0)
    assert isinstance(decision, Stop) and "gave up after 2" in decision.reason


@pytest.mark.parametrize("kind", [FailureKind.REMOTE_VIOLATION, FailureKind.REJECTED])
def test_remote_blame_stops_child_and_counts(kind):
    core, gen = core_with()
    decision = core.on_child_exit("dir", gen, kind, now=0.0, reason="bad motd")
    assert decision == Stop("dir", f"remote {kind.value}: bad motd")
    assert core.protocol_violations == 1 and core.restarts == 0
    assert core.on_child_exit("dir", gen, None, now=1.0) == Ignore("stale generation")


def test_a_local_bug_is_never_blamed_on_the_remote():
    core, gen = core_with(policy=RestartPolicy(max_restarts=3, within_seconds=30))
    decision = core.on_child_exit("dir", gen, FailureKind.LOCAL_BUG, now=0.0,
                                  reason="LocalProtocolError: invalid location-string")
    assert isinstance(decision, Restart) and decision.counted
    assert core.protocol_violations == 0


def test_only_remote_kinds_blame_the_remote():
    assert {k for k in FailureKind if k.blames_remote} == {FailureKind.REMOTE_VIOLATION,
                                                            FailureKind.REJECTED}


def test_with_a_violation_backoff_violations_and_rejections_are_retried_forever():
    """Directories (API.md point 7): never stopped, on a slower backoff, never counted."""
    policy = RestartPolicy(backoff_minimum=1.0, backoff_maximum=60.0, backoff_jitter=0.0,
                           max_restarts=1, violation_backoff_minimum=10.0,
                           violation_backoff_maximum=600.0)
    core, gen = core_with(policy=policy)
    delays = []
    for i in range(8):
        kind = FailureKind.REJECTED if i % 2 else FailureKind.REMOTE_VIOLATION
        decision = core.on_child_exit("dir", gen, kind, now=float(i), reason="full or garbage")
        assert isinstance(decision, Restart) and not decision.counted
        delays.append(decision.delay)
        gen = decision.generation
    assert delays == [10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 600.0, 600.0]
    assert core.protocol_violations == 8 and core.escalations == 0
    # a network failure meanwhile still uses the short backoff
    decision = core.on_child_exit("dir", gen, FailureKind.NETWORK, now=9.0, reason="reset")
    assert decision.delay == 1.0
    # a stable run resets the violation backoff
    core.on_child_started("dir", decision.generation, now=10.0)
    decision = core.on_child_exit("dir", decision.generation, FailureKind.REMOTE_VIOLATION,
                                  now=100.0, reason="x")
    assert decision.delay == 10.0


def test_bug_restarts_count_toward_intensity():
    core, gen = core_with(policy=RestartPolicy(max_restarts=3, within_seconds=30))
    for now in (0.0, 1.0, 2.0):
        decision = core.on_child_exit("dir", gen, FailureKind.LOCAL_BUG, now=now)
        assert isinstance(decision, Restart) and decision.counted
        gen = decision.generation
    # The window slides: the restart at t=0 has aged out by t=30.
    decision = core.on_child_exit("dir", gen, FailureKind.LOCAL_BUG, now=30.0)
    assert isinstance(decision, Restart)


def test_intensity_exceeded_escalates_exactly_once():
    core = SupervisorCore(rng=random.Random(0))
    gen = core.register("router", RestartPolicy(max_restarts=2, within_seconds=10))
    other = core.register("registry", RestartPolicy(max_restarts=2, within_seconds=10))
    for _ in range(2):
        gen = core.on_child_exit("router", gen, FailureKind.LOCAL_BUG, now=5.0).generation
    decision = core.on_child_exit("router", gen, FailureKind.LOCAL_BUG, now=5.0)
    assert isinstance(decision, Escalate) and "router" in decision.reason
    assert core.on_child_exit("router", gen, FailureKind.LOCAL_BUG, now=6.0) == Ignore("escalated")
    assert core.on_child_exit("registry", other, FailureKind.LOCAL_BUG, now=6.0) \
        == Ignore("escalated")
    assert core.escalations == 1


def test_backoff_delays_match_formula():
    minimum, maximum, jitter = 0.5, 20.0, 0.3
    clock = ManualClock()
    backoff = Backoff(minimum, maximum, jitter, stable_after=30.0, rng=random.Random(42))
    expected_rng = random.Random(42)
    for n in range(12):
        expected = min(maximum, minimum * 2 ** n) * (1 + expected_rng.random() * jitter)
        assert backoff.next_delay() == pytest.approx(expected, rel=1e-12)
        clock.advance(1.0)
        backoff.record_failure(clock.now())


def test_backoff_never_overflows_after_very_many_failures():
    backoff = Backoff(minimum=1.0, maximum=60.0, jitter=0.0, rng=random.Random(0))
    for _ in range(5000):
        delay = backoff.next_delay()
    assert delay == 60.0


def test_backoff_resets_after_stable_period():
    clock = ManualClock()
    backoff = Backoff(1.0, 60.0, jitter=0.0, stable_after=30.0, rng=random.Random(0))
    assert [backoff.next_delay() for _ in range(3)] == [1.0, 2.0, 4.0]
    backoff.record_started(clock.now())
    clock.advance(29.0)
    backoff.record_failure(clock.now())  # not stable long enough: keeps growing
    assert backoff.next_delay() == 8.0
    backoff.record_started(clock.now())
    clock.advance(30.0)
    backoff.record_failure(clock.now())
    assert backoff.next_delay() == 1.0


def test_restart_delays_reset_after_child_ran_stably():
    core, gen = core_with(policy=RestartPolicy(backoff_jitter=0.0, stable_after=30.0))
    delays = []
    for now in (0.0, 1.0, 2.0):
        decision = core.on_child_exit("dir", gen, FailureKind.NETWORK, now=now)
        delays.append(decision.delay)
        gen = decision.generation
    core.on_child_started("dir", gen, now=10.0)
    decision = core.on_child_exit("dir", gen, FailureKind.NETWORK, now=45.0)
    assert delays == [1.0, 2.0, 4.0] and decision.delay == 1.0


def test_start_failure_is_backed_off():
    # A child whose on_start keeps raising never reports "started": delays keep growing.
    core, gen = core_with(policy=RestartPolicy(backoff_minimum=1.0, backoff_maximum=8.0,
                                               backoff_jitter=0.0))
    delays = []
    for now in range(6):
        decision = core.on_child_exit("dir", gen, FailureKind.NETWORK, now=float(now * 100))
        delays.append(decision.delay)
        gen = decision.generation
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_start_failure_from_a_bug_counts_toward_intensity():
    core, gen = core_with(policy=RestartPolicy(max_restarts=1, within_seconds=60))
    gen = core.on_child_exit("dir", gen, FailureKind.LOCAL_BUG, now=0.0).generation
    assert isinstance(core.on_child_exit("dir", gen, FailureKind.LOCAL_BUG, now=1.0), Escalate)


def test_stale_generation_is_ignored():
    core, gen = core_with()
    restart = core.on_child_exit("dir", gen, FailureKind.NETWORK, now=0.0)
    assert core.on_child_exit("dir", gen, FailureKind.NETWORK, now=0.1) \
        == Ignore("stale generation")
    core.on_child_started("dir", gen, now=0.0)  # stale start notice: no effect, no error
    assert core.stale_ignored == 1
    assert isinstance(
        core.on_child_exit("dir", restart.generation, FailureKind.NETWORK, now=1.0), Restart)


def test_unknown_child_and_shutdown_exits_are_ignored():
    core, gen = core_with()
    assert core.on_child_exit("nobody", 1, None, now=0.0) == Ignore("unknown child")
    core.begin_shutdown()
    assert core.on_child_exit("dir", gen, FailureKind.NETWORK, now=0.0) == Ignore("shutting down")


def test_reregistering_a_child_gives_a_new_generation_and_fresh_history():
    core, gen = core_with("peer", TRANSIENT)
    core.on_child_exit("peer", gen, None, now=0.0)
    new_gen = core.register("peer", TRANSIENT)
    assert new_gen > gen
    assert isinstance(core.on_child_exit("peer", new_gen, FailureKind.NETWORK, now=0.0), Restart)


def test_seeded_core_makes_identical_decisions():
    def run(seed):
        core = SupervisorCore({"a": RestartPolicy(), "b": RestartPolicy()}, rng=random.Random(seed))
        gens = {"a": 1, "b": 1}
        out = []
        for i in range(10):
            name = "ab"[i % 2]
            decision = core.on_child_exit(name, gens[name], FailureKind.NETWORK, now=float(i))
            gens[name] = decision.generation
            out.append(decision)
        return out
    assert run(5) == run(5) and run(5) != run(6)


# --- stash and shutdown ---------------------------------------------------------------

def test_stash_is_bounded_and_counts_dead_letters():
    stash = Stash(max_items=2)
    assert stash.push("m1") is None and stash.push("m2") is None
    assert stash.push("m3") == "m3"
    assert stash.dead_letters == 1 and len(stash) == 2
    assert stash.drain() == ["m1", "m2"]
    assert len(stash) == 0 and stash.drain() == []
    assert stash.push("m4") is None


def test_shutdown_order_peers_directories_router_registry():
    children = {"registry": "registry", "d2:5222": "directory", "J5maker": "peer",
                "router": "router", "d1:5222": "directory", "metrics": "exporter",
                "J5other": "peer"}
    assert shutdown_plan(children) == [["J5maker", "J5other"], ["d1:5222", "d2:5222"],
                                       ["router"], ["registry"], ["metrics"]]
    assert shutdown_plan({"router": "router"}) == [["router"]]


# --- clock and schedulers -------------------------------------------------------------

def test_manual_scheduler_fires_due_callbacks_in_order():
    clock = ManualClock()
    scheduler = ManualScheduler(clock)
    fired = []
    scheduler.call_later(2.0, lambda: fired.append(("b", clock.now())))
    scheduler.call_later(1.0, lambda: fired.append(("a", clock.now())))
    scheduler.call_later(2.0, lambda: fired.append(("c", clock.now())))
    cancelled = scheduler.call_later(1.5, lambda: fired.append(("x", clock.now())))
    cancelled.cancel()
    clock.advance(0.5)
    assert fired == []
    clock.advance(2.0)
    assert fired == [("a", 1.0), ("b", 2.0), ("c", 2.0)]
    assert clock.now() == 2.5 and scheduler.pending() == 0


def test_manual_scheduler_runs_timers_scheduled_by_callbacks_within_the_window():
    clock = ManualClock()
    scheduler = ManualScheduler(clock)
    ticks = []

    def tick():
        ticks.append(clock.now())
        if len(ticks) < 5:
            scheduler.call_later(1.0, tick)

    scheduler.call_later(1.0, tick)
    clock.advance(3.5)
    assert ticks == [1.0, 2.0, 3.0]
    clock.advance(10)
    assert ticks == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_manual_scheduler_survives_a_failing_callback():
    clock = ManualClock()
    scheduler = ManualScheduler(clock)
    fired = []
    scheduler.call_later(1.0, lambda: 1 / 0)
    scheduler.call_later(2.0, lambda: fired.append(True))
    clock.advance(3.0)
    assert fired == [True]


def test_real_scheduler_fires_in_deadline_order_and_close_leaves_no_thread():
    before = set(threading.enumerate())
    scheduler = RealScheduler()
    try:
        done = threading.Event()
        fired = []
        late = scheduler.call_later(0.03, lambda: fired.append("late"))
        early = scheduler.call_later(0.01, lambda: fired.append("early"))
        scheduler.call_later(0.02, lambda: fired.append("cancelled")).cancel()
        scheduler.call_later(60.0, lambda: fired.append("never"))
        scheduler.call_later(0.05, done.set)
        assert done.wait(5.0)
        # Compared by deadline, not by the nominal delays: a loaded machine may pause
        # between the two call_later calls.
        assert fired == [n for _, n in sorted([(late.due, "late"), (early.due, "early")])]
    finally:
        scheduler.close()
    assert set(threading.enumerate()) == before
    with pytest.raises(RuntimeError):
        scheduler.call_later(0.0, lambda: None)


def test_real_scheduler_starts_no_thread_until_used():
    before = set(threading.enumerate())
    scheduler = RealScheduler()
    assert set(threading.enumerate()) == before
    scheduler.close()


def test_real_scheduler_handles_many_timers_on_one_thread():
    scheduler = RealScheduler()
    count = 2000
    done = threading.Event()
    fired = []

    def hit():
        fired.append(1)
        if len(fired) == count:
            done.set()

    try:
        for i in range(count):
            scheduler.call_later(0.001 * (i % 20), hit)
        for handle in [scheduler.call_later(10.0, hit) for _ in range(500)]:
            handle.cancel()
        assert done.wait(5.0)
        assert len([t for t in threading.enumerate() if t.name == "jm-scheduler"]) == 1
    finally:
        scheduler.close()
    assert len(fired) == count
