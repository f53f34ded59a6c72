"""Supervision rules a mutation run showed unpinned: defaults, whole decisions (name,
generation, counted flag, reason), counters that count, unknown names, stable-run reset."""

import random

from actors.core.supervision import (
    Backoff, FailureKind, Restart, RestartPolicy, Stash, Stop, SupervisorCore,
)

NO_JITTER = dict(backoff_jitter=0.0)


def core_with(name="dir", **policy):
    core = SupervisorCore(rng=random.Random(1))
    core.register(name, RestartPolicy(**(NO_JITTER | policy)))
    return core


def test_backoff_defaults():
    b = Backoff()
    assert (b.minimum, b.maximum, b.jitter, b.stable_after) == (1.0, 60.0, 0.2, 30.0)


def test_a_short_run_late_in_time_does_not_reset_the_backoff():
    b = Backoff(minimum=1.0, jitter=0.0, stable_after=30.0)
    assert [b.next_delay(), b.next_delay()] == [1.0, 2.0]
    b.record_started(1000.0)
    b.record_failure(1010.0)  # ran 10 s: not stable
    assert b.next_delay() == 4.0


def test_policies_given_at_construction_are_used():
    core = SupervisorCore({"t": RestartPolicy(child_type="temporary")}, rng=random.Random(1))
    assert core.on_child_exit("t", 1, None, 0.0) == Stop("t", "normal exit")


def test_re_registering_moves_to_the_next_generation():
    core = core_with("x")
    assert core.register("x") == 2 and core.current_generation("x") == 2


def test_unknown_names_are_harmless():
    core = SupervisorCore(rng=random.Random(1))
    assert core.current_generation("nobody") is None
    core.on_child_started("nobody", 1, 0.0)  # no child: nothing to start the clock of
    assert core.counters()["restarts"] == 0


def test_every_stale_notification_is_counted():
    core = core_with("x")
    core.on_child_exit("x", 1, FailureKind.LOCAL_BUG, 0.0, "bug")
    for _ in range(2):
        core.on_child_exit("x", 1, FailureKind.LOCAL_BUG, 0.0, "old")
    assert core.stale_ignored == 2


def test_permanent_child_restarts_after_each_normal_exit_with_exact_decisions():
    core = core_with("x", max_restarts=5)
    assert core.on_child_exit("x", 1, None, 0.0) == Restart("x", 1.0, 2, True)
    assert core.on_child_exit("x", 2, None, 1.0) == Restart("x", 2.0, 3, True)
    assert core.restarts == 2


def test_network_restart_decision_is_uncounted_and_named():
    core = core_with("x")
    decision = core.on_child_exit("x", 1, FailureKind.NETWORK, 0.0, "gone")
    assert decision == Restart("x", 1.0, 2, False) and decision.counted is False


def test_stop_decisions_name_the_child_and_the_reason():
    core = core_with("t", child_type="temporary")
    assert core.on_child_exit("t", 1, FailureKind.LOCAL_BUG, 0.0, "boom") == Stop(
        "t", "temporary child failed (bug): boom")
    core = core_with("p")
    assert core.on_child_exit("p", 1, FailureKind.REJECTED, 0.0, "no") == Stop(
        "p", "remote rejected: no")
    core.register("q")
    core.on_child_exit("q", 1, FailureKind.REMOTE_VIOLATION, 0.0, "bad line")
    assert core.protocol_violations == 2
    core = core_with("m", max_network_retries=0)
    assert core.on_child_exit("m", 1, FailureKind.NETWORK, 0.0, "refused") == Stop(
        "m", "gave up after 0 network failures: refused")


def test_every_dead_letter_is_counted():
    stash = Stash(max_items=0)
    assert [stash.push("a"), stash.push("b")] == ["a", "b"]
    assert stash.dead_letters == 2 and len(stash) == 0
