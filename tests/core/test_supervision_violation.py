"""Violation backoff (directories, API.md point 7) and remote-blame decisions, pinned
exactly: the decision a shell performs, the reason it logs, and reproducible jitter."""

import random

import pytest

from actors.core.supervision import FailureKind, Restart, RestartPolicy, Stop, SupervisorCore

DIRECTORY = RestartPolicy(backoff_minimum=1.0, backoff_maximum=60.0, backoff_jitter=0.0,
                          violation_backoff_minimum=10.0, violation_backoff_maximum=600.0)


@pytest.mark.parametrize("kind", [FailureKind.REMOTE_VIOLATION, FailureKind.REJECTED])
def test_violation_restart_decision_is_exact(kind):
    core = SupervisorCore(rng=random.Random(3))
    gen = core.register("dir-a", DIRECTORY)
    decision = core.on_child_exit("dir-a", gen, kind, now=5.0, reason="garbage")
    assert decision == Restart("dir-a", 10.0, gen + 1, False)
    assert core.counters() == {"restarts": 1, "protocol_violations": 1,
                               "escalations": 0, "stale_ignored": 0}


def test_stop_reason_without_a_given_reason_is_just_the_kind():
    core = SupervisorCore(rng=random.Random(3))
    gen = core.register("peer", RestartPolicy())
    decision = core.on_child_exit("peer", gen, FailureKind.REMOTE_VIOLATION, now=0.0)
    assert decision == Stop("peer", "remote violation: ")


def _violation_delays(seed: int) -> list[float]:
    policy = RestartPolicy(backoff_jitter=0.5, violation_backoff_minimum=10.0,
                           violation_backoff_maximum=600.0)
    core = SupervisorCore(rng=random.Random(seed))
    gen = core.register("dir", policy)
    delays = []
    for i in range(6):
        decision = core.on_child_exit("dir", gen, FailureKind.REJECTED, now=float(i))
        delays.append(decision.delay)
        gen = decision.generation
    return delays


def test_violation_backoff_jitter_comes_from_the_seeded_core():
    """A seeded supervisor waits exactly the same violation delays on every run, and the
    jitter is really applied (each delay lies in [base, base * 1.5])."""
    first, second = _violation_delays(7), _violation_delays(7)
    assert first == second
    bases = [10.0, 20.0, 40.0, 80.0, 160.0, 320.0]
    assert all(b <= d <= b * 1.5 for b, d in zip(bases, first, strict=True))
    assert first != bases
    assert _violation_delays(8) != first
