"""Supervision decisions, apart from the actors that carry them out.

pykka has no supervision (pykka issue #42): an actor that raises just dies. The
Supervisor actor reports every child exit here and performs the returned
:class:`Decision`. Keeping the rules in a plain class lets the tests pin each guarantee
(OTP ``supervisor`` semantics, Akka ``restartWithBackoff`` timing) without threads.

The rules (ARCHITECTURE.md section 4), by :class:`FailureKind` — which the child's shell
decided once, where it caught the exception (``actors/shells/base.py``):

* ``NETWORK`` — restart with exponential backoff, forever, not counted toward the
  restart intensity: a directory down for an hour must not take the tree down;
* ``REMOTE_VIOLATION`` / ``REJECTED`` — the remote broke the protocol or refused us:
  count it, then stop that child; or, for children whose policy sets
  ``violation_backoff_minimum`` (directories: nothing is permanent, API.md point 7),
  restart it on a separate, slower backoff, forever and uncounted toward the intensity;
* ``LOCAL_BUG`` — our fault (a bug, our own invalid data, remote input we failed to
  contain): restart, counted; too many counted restarts in the window escalate, exactly
  once;
* a notification carrying an old generation comes from a child that was already
  replaced, and is ignored.
"""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Mapping
from typing import Generic, Literal, TypeVar

import msgspec

__all__ = [
    "SHUTDOWN_ORDER", "Backoff", "Decision", "Escalate", "FailureKind", "Ignore", "Restart",
    "RestartPolicy", "Stash", "Stop", "SupervisorCore", "shutdown_plan",
]


class FailureKind(enum.Enum):
    """Why an incarnation failed, and so whose fault it was; travels in ``ChildExited``.

    The value is the short word the trace and logs show.
    """

    NETWORK = "network"                    # EOF, reset, timeout, dial failure, busy nick
    REMOTE_VIOLATION = "violation"         # the remote sent what the protocol forbids
    REJECTED = "rejected"                  # the remote refused our handshake or nick-auth
    LOCAL_BUG = "bug"                      # ours: a bug, our own invalid data or config

    @property
    def blames_remote(self) -> bool:
        return self in (FailureKind.REMOTE_VIOLATION, FailureKind.REJECTED)


class Backoff:
    """Exponential backoff with jitter: ``min(maximum, minimum * 2**n) * (1 + U*jitter)``.

    ``n`` counts failures since the last reset; a child that ran for at least
    ``stable_after`` seconds before failing starts again from ``minimum``, so a
    directory that drops once a day reconnects quickly every time. ``U`` comes from the
    given ``rng`` so a seeded run waits exactly the same delays.
    """

    #: 2.0**1000 is still a finite float; beyond it the delay is ``maximum`` anyway.
    _MAX_EXPONENT = 1000

    def __init__(self, minimum: float = 1.0, maximum: float = 60.0, jitter: float = 0.2,
                 stable_after: float = 30.0, rng: random.Random | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.jitter = jitter
        self.stable_after = stable_after
        self._rng = rng or random.Random()
        self._attempt = 0
        self._started_at: float | None = None

    @property
    def attempt(self) -> int:
        """Failures since the last reset (the ``n`` of the next delay)."""
        return self._attempt

    def next_delay(self) -> float:
        exponent = min(self._attempt, self._MAX_EXPONENT)
        base = min(self.maximum, self.minimum * 2.0 ** exponent)
        self._attempt += 1
        return base * (1 + self._rng.random() * self.jitter)

    def record_started(self, now: float) -> None:
        self._started_at = now

    def record_failure(self, now: float) -> None:
        """The child exited (normally or not); a long enough run resets the backoff."""
        if self._started_at is not None and now - self._started_at >= self.stable_after:
            self._attempt = 0
        self._started_at = None


class RestartPolicy(msgspec.Struct, frozen=True):
    """How one child is restarted (OTP child types; Akka backoff parameters).

    ``permanent`` children are always restarted, ``transient`` ones only after an
    abnormal exit, ``temporary`` ones never. ``max_network_retries`` bounds the restarts
    since the child last ran stably (``stable_after``), for children that should give up
    on an unreachable remote (a maker's direct link); ``None`` retries forever
    (directories). ``backoff_minimum=0`` gives immediate restarts (router, registry).
    """

    child_type: Literal["permanent", "transient", "temporary"] = "permanent"
    max_restarts: int = 3
    within_seconds: float = 30.0
    backoff_minimum: float = 1.0
    backoff_maximum: float = 60.0
    backoff_jitter: float = 0.2
    stable_after: float = 30.0
    max_network_retries: int | None = None
    #: ``None``: a protocol violation stops the child. Otherwise it is retried forever,
    #: uncounted, on its own slower backoff (ARCHITECTURE.md 9.3: nothing is permanent).
    violation_backoff_minimum: float | None = None
    violation_backoff_maximum: float = 600.0


class Restart(msgspec.Struct, frozen=True):
    """Start ``name`` again after ``delay`` seconds, as ``generation``."""

    name: str
    delay: float
    generation: int
    counted: bool


class Stop(msgspec.Struct, frozen=True):
    """Do not restart ``name``."""

    name: str
    reason: str


class Escalate(msgspec.Struct, frozen=True):
    """Restart intensity exceeded: the whole tree gives up (the client reports failure)."""

    reason: str


class Ignore(msgspec.Struct, frozen=True):
    """Nothing to do (stale notification, or the supervisor is past caring)."""

    reason: str


Decision = Restart | Stop | Escalate | Ignore


class _Child:
    def __init__(self, policy: RestartPolicy, generation: int, rng: random.Random) -> None:
        self.policy = policy
        self.generation = generation
        self.stopped = False
        self.restart_times: deque[float] = deque()
        self.backoff = Backoff(policy.backoff_minimum, policy.backoff_maximum,
                               policy.backoff_jitter, policy.stable_after, rng)
        self.violation_backoff = Backoff(
            policy.violation_backoff_minimum or policy.backoff_minimum,
            policy.violation_backoff_maximum, policy.backoff_jitter, policy.stable_after, rng)


class SupervisorCore:
    """Restart bookkeeping for the children of one supervisor.

    Restart intensity is per child (its policy's ``max_restarts`` within
    ``within_seconds``), and exceeding it escalates the whole supervisor once; after
    that, and after :meth:`begin_shutdown`, every exit is ignored so that stopping the
    tree never triggers restarts.
    """

    def __init__(self, policies: Mapping[str, RestartPolicy] | None = None,
                 rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._children: dict[str, _Child] = {}
        self._escalated = False
        self._shutting_down = False
        self.restarts = 0
        self.protocol_violations = 0
        self.escalations = 0
        self.stale_ignored = 0
        for name, policy in (policies or {}).items():
            self.register(name, policy)

    def register(self, name: str, policy: RestartPolicy | None = None) -> int:
        """Add (or re-add, with fresh history) a child; returns its first generation."""
        previous = self._children.get(name)
        generation = previous.generation + 1 if previous else 1
        child_rng = random.Random(self._rng.getrandbits(64))
        self._children[name] = _Child(policy or RestartPolicy(), generation, child_rng)
        return generation

    def current_generation(self, name: str) -> int | None:
        child = self._children.get(name)
        return child.generation if child else None

    def on_child_started(self, name: str, generation: int, now: float) -> None:
        """The child finished ``on_start``: starts its stable-period clock."""
        child = self._children.get(name)
        if child is not None and child.generation == generation:
            child.backoff.record_started(now)
            child.violation_backoff.record_started(now)

    def begin_shutdown(self) -> None:
        self._shutting_down = True

    def on_child_exit(self, name: str, generation: int, kind: FailureKind | None,
                      now: float, reason: str = "") -> Decision:
        """Decide what follows a child's exit; ``kind`` is None for a normal stop.

        A failure in ``on_start`` is reported here like any other exit (pykka does not
        call ``on_failure`` for it), so start failures back off and count the same way.
        """
        child = self._children.get(name)
        if child is None:
            return Ignore("unknown child")
        if self._escalated:
            return Ignore("escalated")
        if self._shutting_down:
            return Ignore("shutting down")
        if generation != child.generation or child.stopped:
            self.stale_ignored += 1
            return Ignore("stale generation")
        policy = child.policy
        child.backoff.record_failure(now)
        child.violation_backoff.record_failure(now)
        if kind is None:
            if policy.child_type == "permanent":
                return self._restart(name, child, now, counted=True)
            return self._stop(child, name, "normal exit")
        if policy.child_type == "temporary":
            return self._stop(child, name, f"temporary child failed ({kind.value}): {reason}")
        if kind.blames_remote:
            self.protocol_violations += 1
            if policy.violation_backoff_minimum is not None:
                return self._restart(name, child, now, counted=False,
                                     backoff=child.violation_backoff)
            return self._stop(child, name, f"remote {kind.value}: {reason}")
        if kind is FailureKind.NETWORK:
            retries = policy.max_network_retries
            if retries is not None and child.backoff.attempt >= retries:
                return self._stop(child, name,
                                  f"gave up after {retries} network failures: {reason}")
            return self._restart(name, child, now, counted=False)
        return self._restart(name, child, now, counted=True)

    def counters(self) -> dict[str, int]:
        return {"restarts": self.restarts, "protocol_violations": self.protocol_violations,
                "escalations": self.escalations, "stale_ignored": self.stale_ignored}

    def _restart(self, name: str, child: _Child, now: float, counted: bool,
                 backoff: Backoff | None = None) -> Decision:
        if counted:
            window = child.restart_times
            while window and window[0] <= now - child.policy.within_seconds:
                window.popleft()
            if len(window) >= child.policy.max_restarts:
                self._escalated = True
                self.escalations += 1
                return Escalate(f"{name}: more than {child.policy.max_restarts} restarts "
                                f"within {child.policy.within_seconds}s")
            window.append(now)
        self.restarts += 1
        child.generation += 1
        return Restart(name, (backoff or child.backoff).next_delay(), child.generation, counted)

    @staticmethod
    def _stop(child: _Child, name: str, reason: str) -> Stop:
        child.stopped = True
        return Stop(name, reason)


M = TypeVar("M")


class Stash(Generic[M]):
    """Messages for one child held while it restarts, bounded.

    When full, the new message is refused and counted as a dead letter; it is returned
    so the caller can log what was lost — a send is never silently dropped.
    """

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self.dead_letters = 0
        self._items: deque[M] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def push(self, message: M) -> M | None:
        """Stash ``message``; returns it back if it was dropped instead."""
        if len(self._items) >= self.max_items:
            self.dead_letters += 1
            return message
        self._items.append(message)
        return None

    def drain(self) -> list[M]:
        """All stashed messages in arrival order, emptying the stash."""
        items = list(self._items)
        self._items.clear()
        return items


#: Stop order (ARCHITECTURE.md 4): leaves before the things they report to.
SHUTDOWN_ORDER = ("peer", "directory", "router", "registry")


def shutdown_plan(children: Mapping[str, str]) -> list[list[str]]:
    """Stages of names to stop, one stage after another; kinds not listed go last.

    Peers go first so no new direct traffic starts, then directories, then the router
    and registry that the others were reporting to. Empty stages are left out; names are
    sorted so the plan is deterministic.
    """
    rank = {kind: i for i, kind in enumerate(SHUTDOWN_ORDER)}
    stages: dict[int, list[str]] = {}
    for name, kind in children.items():
        stages.setdefault(rank.get(kind, len(SHUTDOWN_ORDER)), []).append(name)
    return [sorted(stages[i]) for i in sorted(stages)]
