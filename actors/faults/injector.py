"""Applying a fault plan to a running client: faulty transports and crash points.

A :class:`FaultInjector` wraps each connection's :class:`~actors.net.transport.Transport`
in a :class:`FaultyTransport` and gives the actors :class:`CrashPoints` to call
(snabbkaffe's ``maybe_crash``, FoundationDB's BUGGIFY). Every injected fault is appended
to the same :class:`~actors.faults.trace.Trace` as the actors' protocol events. The plan
itself is :mod:`actors.faults.plan`.

Each fault type's effect on a line is one function in :data:`EFFECTS`, looked up by the
fault's type: a new fault is a Struct in the plan plus one entry here.

Determinism: every random choice comes from a ``random.Random`` derived from the plan's
seed, the target and the direction (or crash point), so thread interleaving between
connections — or between the reader and writer of one connection — cannot change what a
given target sees. Same plan and same lines per target ⇒ same faults.
"""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from actors.faults.plan import (Bandwidth, Corrupt, Crash, Drop, Duplicate, FaultPlan, FaultRule,
                                Latency, LimitData, Partition, Reorder, Reset, Slice, Stall,
                                fault_type)
from actors.faults.trace import Trace
from actors.net.transport import Transport
from protocol.envelope import decode_envelope

__all__ = ["CRASH_POINTS", "EFFECTS", "CrashInjected", "CrashPoints", "FaultInjector",
           "FaultTarget", "FaultyTransport", "line_commands"]

#: Crash points the client's actors pass through, as ``"<actor kind>.<point>"``.
CRASH_POINTS = (
    "directory.on_start",   # DirectoryActor.on_start, before dialling
    "directory.on_line",    # DirectoryActor, each line received from the directory
    "directory.on_send",    # DirectoryActor, before writing a line to the directory
    "peer.on_start",        # PeerActor.on_start, before dialling the maker
    "peer.on_line",         # PeerActor, each line received from the maker
    "peer.on_send",         # PeerActor, before writing a line to the maker
    "router.on_send",       # Router, each send it routes
    "registry.on_update",   # NickRegistry, each presence/location update
)

#: Envelope types whose ``line`` is a JoinMarket ``from!to!command ...`` message.
_JM_MESSAGE_TYPES = (685, 687)  # PRIVMSG, PUBMSG

#: A partial line longer than this is passed on as it is rather than buffered further.
_MAX_PENDING_LINE = 1 << 20


def line_commands(line: bytes) -> frozenset[str]:
    """What a rule's ``command`` can match in one framed line: the envelope type as a
    string and, for privmsg/pubmsg, the JoinMarket command after the second ``!``."""
    try:
        envelope = decode_envelope(line.rstrip(b"\r\n"))
    except (ValueError, UnicodeError, RecursionError):  # EnvelopeError, msgspec errors
        return frozenset()
    names = {str(envelope.type)}
    if envelope.type in _JM_MESSAGE_TYPES:
        parts = envelope.line.split("!", 2)
        if len(parts) == 3:
            names.add(parts[2].lstrip("!").split(" ", 1)[0].split("!", 1)[0])
    return frozenset(names)


class FaultTarget:
    """Per-target state shared by every connection to that target during a run.

    Holds the rules that apply, how often each has fired (``count`` spans reconnections,
    so ``count = 1`` means once per run) and one seeded rng per channel (direction or
    crash point), derived from the plan seed so each channel's fault sequence depends
    only on its own lines.
    """

    def __init__(self, plan: FaultPlan, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        self.source = f"{kind}:{name}"
        self.rules = tuple((i, r) for i, r in enumerate(plan.rules) if r.matches(kind, name))
        self._seed = plan.seed
        self._fired: dict[int, int] = {}
        self._rngs: dict[str, random.Random] = {}
        self._lock = threading.Lock()

    def rng(self, channel: str) -> random.Random:
        with self._lock:
            rng = self._rngs.get(channel)
            if rng is None:
                rng = self._rngs[channel] = random.Random(
                    f"{self._seed}:{self.kind}:{self.name}:{channel}")
            return rng

    def admit(self, index: int, rule: FaultRule, seen: int, channel: str) -> bool:
        """Whether the rule fires on its ``seen``-th matching line/pass on ``channel``."""
        if seen <= rule.after_lines:
            return False
        rng = self.rng(channel) if rule.probability < 1 else None
        with self._lock:
            fired = self._fired.get(index, 0)
            if rule.count is not None and fired >= rule.count:
                return False
            if rng is not None and rng.random() >= rule.probability:
                return False
            self._fired[index] = fired + 1
            return True


class _Direction:
    """One direction of one connection: its rules and where it is in the stream."""

    def __init__(self, name: str, rules: tuple[tuple[int, FaultRule], ...]) -> None:
        self.name = name
        self.rules = rules
        self.line_mode = any(rule.needs_lines for _, rule in rules)
        self.pending = b""
        self.seen: dict[int, int] = {}
        self.limit_used: dict[int, int] = {}
        self.held: list[bytes] | None = None
        self.stalled = False
        self.ended = False
        self.stall_deadline: float | None = None
        self.last_due = 0.0

    def split(self, data: bytes) -> list[bytes]:
        """Complete lines (terminator kept) in line mode, else the chunk as it came."""
        if not self.line_mode:
            return [data]
        parts = (self.pending + data).split(b"\n")
        self.pending = parts.pop()
        units = [part + b"\n" for part in parts]
        if len(self.pending) > _MAX_PENDING_LINE:
            units.append(self.pending)
            self.pending = b""
        return units


#: A delivery: not before ``due`` (monotonic seconds), these bytes — or an error, meaning
#: "the connection ends here": data ahead of it is still delivered, whatever the chunking.
_Segment = tuple[float, bytes | OSError]


class FaultyTransport:
    """A :class:`Transport` that applies a target's fault rules to the bytes crossing it.

    The reader thread calls :meth:`recv` while the owning actor calls :meth:`send`,
    :meth:`close` and :meth:`abort`: each direction's state is touched by one thread
    only (``send`` is serialised by a lock), and what they share — the abort event,
    the partition deadline and the first fatal error — is guarded. Delays are spent in
    the calling thread: a delayed ``send`` blocks like a full socket buffer would, and
    every wait ends at once on ``abort``/``close``.
    """

    def __init__(self, inner: Transport, target: FaultTarget, trace: Trace) -> None:
        self._inner = inner
        self._target = target
        self._trace = trace
        rules = tuple((i, r) for i, r in target.rules if not isinstance(r.fault, Crash))
        self._in = _Direction("in", tuple((i, r) for i, r in rules if r.direction != "out"))
        self._out = _Direction("out", tuple((i, r) for i, r in rules if r.direction != "in"))
        self._inbox: deque[_Segment] = deque()
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._stopped = threading.Event()
        self._broken: OSError | None = None
        self._partition_until = 0.0

    def recv(self, bufsize: int) -> bytes:
        direction = self._in
        while not self._stopped.is_set():
            if self._inbox:
                due, data = self._inbox[0]
                if not self._wait_until(due):
                    break
                if isinstance(data, OSError):
                    self._break(data)
                    break
                if len(data) <= bufsize:
                    self._inbox.popleft()
                    return data
                self._inbox[0] = (due, data[bufsize:])
                return data[:bufsize]
            if direction.stalled:
                self._wait_stall(direction)
                break
            data = self._inner.recv(bufsize)
            if not data:
                tail, direction.pending = direction.pending, b""
                return tail
            now = time.monotonic()
            for unit in direction.split(data):
                self._inbox.extend(self._apply(direction, unit, now))
        return b""

    def send(self, data: bytes) -> None:
        direction = self._out
        with self._send_lock:
            self._raise_if_stopped()
            now = time.monotonic()
            if direction.stalled:
                if direction.stall_deadline is not None and now >= direction.stall_deadline:
                    self._break(ConnectionResetError("connection closed by stall timeout"))
                    self._raise_if_stopped()
                return
            for unit in direction.split(data):
                for due, piece in self._apply(direction, unit, now):
                    if not self._wait_until(due):
                        self._raise_if_stopped()
                    if isinstance(piece, OSError):
                        self._break(piece)
                        self._raise_if_stopped()
                    self._inner.send(piece)

    def close(self) -> None:
        self._stopped.set()
        self._inner.close()

    def abort(self) -> None:
        self._stopped.set()
        self._inner.abort()

    def _apply(self, direction: _Direction, unit: bytes, now: float) -> list[_Segment]:
        """Run one line (or chunk) through the direction's rules, in plan order.

        Returns when and what to deliver. A rule that removes the unit (drop, stall,
        reset) ends the pass: later rules do not see that line.
        """
        if direction.stalled or direction.ended:
            return []
        line = _Pass(unit, direction, now)
        commands: frozenset[str] | None = None
        for index, rule in direction.rules:
            if rule.command is not None:
                if commands is None:
                    commands = line_commands(unit)
                if rule.command.lstrip("!") not in commands:
                    continue
            seen = direction.seen[index] = direction.seen.get(index, 0) + 1
            if not self._target.admit(index, rule, seen, direction.name):
                continue
            line.index, line.note = index, ""
            EFFECTS[type(rule.fault)](line, rule.fault, self._target.rng(direction.name))
            self._trace.record(self._target.source, f"fault.{fault_type(rule.fault)}",
                               f"{direction.name} unit={seen} rule={index}{line.note}")
            if not line.pieces or direction.stalled:
                break
        if line.partition_until:
            with self._state_lock:
                self._partition_until = max(self._partition_until, line.partition_until)
        pieces = line.pieces
        if line.hold:
            pieces, direction.held = direction.held or [], pieces
        elif direction.held is not None:
            pieces, direction.held = pieces + direction.held, None
        direction.ended = line.end is not None
        return self._schedule(direction, pieces, now + line.latency, line.gap,
                              line.seconds_per_byte, line.end)

    @staticmethod
    def _schedule(direction: _Direction, pieces: list[bytes], start: float, gap: float,
                  seconds_per_byte: float, end: OSError | None) -> list[_Segment]:
        """Delivery times: never before the previous piece (latency does not reorder)."""
        due = max(start, direction.last_due)
        segments: list[_Segment] = []
        for i, piece in enumerate(pieces):
            due += (gap if i else 0.0) + len(piece) * seconds_per_byte
            segments.append((due, piece))
        direction.last_due = due
        if end is not None:
            segments.append((due, end))
        return segments

    def _wait_until(self, due: float) -> bool:
        """Sleep until ``due`` and past any partition; False if stopped meanwhile."""
        while True:
            delay = max(due, self._partition_until) - time.monotonic()
            if delay <= 0:
                return not self._stopped.is_set()
            if self._stopped.wait(delay):
                return False

    def _wait_stall(self, direction: _Direction) -> None:
        deadline = direction.stall_deadline
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._stopped.wait(timeout):
            self._break(ConnectionResetError("connection closed by stall timeout"))

    def _break(self, error: OSError) -> None:
        """End the connection as the network would: the first cause is what ``send`` raises."""
        with self._state_lock:
            if self._broken is None:
                self._broken = error
        self._stopped.set()
        self._inner.abort()

    def _raise_if_stopped(self) -> None:
        if self._stopped.is_set():
            cause = self._broken
            if cause is None:
                raise ConnectionAbortedError("transport closed")
            raise type(cause)(*cause.args)


class _Pass:
    """One line (or chunk) on its way through a direction's rules: what fired so far."""

    __slots__ = ("pieces", "direction", "now", "index", "note", "latency", "gap",
                 "seconds_per_byte", "hold", "end", "partition_until")

    def __init__(self, unit: bytes, direction: _Direction, now: float) -> None:
        self.pieces = [unit]
        self.direction, self.now = direction, now
        self.index = 0  # the rule being applied (LimitData keeps its count per rule)
        self.note = ""  # appended to the trace event's detail
        self.latency = self.gap = self.seconds_per_byte = 0.0
        self.hold = False
        self.end: OSError | None = None
        self.partition_until = 0.0


def _latency(line: _Pass, fault: Latency, rng: random.Random) -> None:
    jitter = rng.uniform(-fault.jitter, fault.jitter) if fault.jitter else 0.0
    ms = fault.latency + jitter
    line.latency += max(0.0, ms) / 1000
    line.note = f" delay_ms={ms:.3f}"


def _bandwidth(line: _Pass, fault: Bandwidth, rng: random.Random) -> None:
    line.seconds_per_byte += 1 / (fault.rate * 1000)


def _slice(line: _Pass, fault: Slice, rng: random.Random) -> None:
    line.pieces = [chunk for piece in line.pieces for chunk in _slices(piece, fault, rng)]
    line.gap += fault.delay / 1e6


def _limit_data(line: _Pass, fault: LimitData, rng: random.Random) -> None:
    used = line.direction.limit_used.get(line.index, 0)
    line.pieces, taken = _truncate(line.pieces, fault.bytes - used)
    line.direction.limit_used[line.index] = used + taken
    if used + taken >= fault.bytes:
        line.end = BrokenPipeError("connection closed by limit_data fault")


def _drop(line: _Pass, fault: Drop, rng: random.Random) -> None:
    line.pieces = []


def _duplicate(line: _Pass, fault: Duplicate, rng: random.Random) -> None:
    line.pieces = line.pieces + line.pieces


def _reorder(line: _Pass, fault: Reorder, rng: random.Random) -> None:
    line.hold = True


def _corrupt_line(line: _Pass, fault: Corrupt, rng: random.Random) -> None:
    line.pieces = [_corrupt(piece, fault.flips, rng) for piece in line.pieces]


def _stall(line: _Pass, fault: Stall, rng: random.Random) -> None:
    line.direction.stalled = True
    line.direction.stall_deadline = line.now + fault.timeout / 1000 if fault.timeout else None
    line.pieces = []


def _reset(line: _Pass, fault: Reset, rng: random.Random) -> None:
    line.end = ConnectionResetError("connection reset by fault injection")
    line.pieces = []


def _partition(line: _Pass, fault: Partition, rng: random.Random) -> None:
    line.partition_until = max(line.partition_until, line.now + fault.duration / 1000)


#: What each transport fault does to a line, by fault type (crashes are CrashPoints').
EFFECTS: dict[type, Callable[[_Pass, Any, random.Random], None]] = {
    Latency: _latency, Bandwidth: _bandwidth, Slice: _slice, LimitData: _limit_data,
    Drop: _drop, Duplicate: _duplicate, Reorder: _reorder, Corrupt: _corrupt_line,
    Stall: _stall, Reset: _reset, Partition: _partition,
}


def _slices(data: bytes, fault: Slice, rng: random.Random) -> list[bytes]:
    chunks, pos = [], 0
    while pos < len(data):
        size = fault.average_size
        if fault.size_variation:
            size += rng.randint(-fault.size_variation, fault.size_variation)
        size = max(1, size)
        chunks.append(data[pos:pos + size])
        pos += size
    return chunks


def _truncate(pieces: list[bytes], room: int) -> tuple[list[bytes], int]:
    kept, taken = [], 0
    for piece in pieces:
        piece = piece[:max(0, room - taken)]
        if piece:
            kept.append(piece)
            taken += len(piece)
    return kept, taken


def _corrupt(data: bytes, flips: int, rng: random.Random) -> bytes:
    """Change ``flips`` bytes before the terminator, never into ``\\r``/``\\n`` (that
    would be a framing fault, not a corrupt line)."""
    body_len = len(data.rstrip(b"\r\n"))
    if body_len == 0:
        return data
    out = bytearray(data)
    for _ in range(flips):
        pos = rng.randrange(body_len)
        old = new = out[pos]
        while new in (old, 0x0A, 0x0D):
            new = rng.randrange(256)
        out[pos] = new
    return bytes(out)


class CrashInjected(RuntimeError):
    """An injected crash; a ``RuntimeError`` so the supervisor treats it as a bug."""

    def __init__(self, point: str) -> None:
        super().__init__(f"crash injected at {point}")
        self.point = point


class CrashPoints:
    """``maybe_crash`` hooks for the actors; a no-op when the plan has no crash rule."""

    def __init__(self, plan: FaultPlan, trace: Trace) -> None:
        self._plan = plan
        self._trace = trace
        self._enabled = any(isinstance(r.fault, Crash) for r in plan.rules)
        self._targets: dict[tuple[str, str], FaultTarget] = {}
        self._passes: dict[tuple[str, str, str, int], int] = {}
        self._lock = threading.Lock()

    def maybe_crash(self, actor_kind: str, point: str, name: str = "") -> None:
        """Raise :class:`CrashInjected` if a crash rule for this actor and point fires.

        ``point`` is one of :data:`CRASH_POINTS` (or an application's own); ``name`` is
        the actor's stable name (``host:port``, nick, ``"router"``).
        """
        if not self._enabled:
            return
        target = self._target(actor_kind, name)
        for index, rule in target.rules:
            fault = rule.fault
            if not isinstance(fault, Crash) or not fnmatch.fnmatchcase(point, fault.point):
                continue
            with self._lock:
                key = (actor_kind, name, point, index)
                seen = self._passes[key] = self._passes.get(key, 0) + 1
            if target.admit(index, rule, seen, point):
                self._trace.record(target.source, "fault.crash",
                                   f"{point} pass={seen} rule={index}")
                raise CrashInjected(point)

    def _target(self, kind: str, name: str) -> FaultTarget:
        with self._lock:
            target = self._targets.get((kind, name))
            if target is None:
                target = self._targets[(kind, name)] = FaultTarget(self._plan, kind, name)
            return target


class FaultInjector:
    """The one object a client is given: wraps transports, owns crash points and trace.

    Without a plan (or with one whose rules never match a target) :meth:`wrap` returns
    the transport itself, so fault injection costs nothing when unused.
    """

    def __init__(self, plan: FaultPlan | None = None, trace: Trace | None = None) -> None:
        self.plan = plan or FaultPlan(seed=0)
        self.trace = trace or Trace()
        self.crash_points = CrashPoints(self.plan, self.trace)
        self._targets: dict[tuple[str, str], FaultTarget] = {}
        self._lock = threading.Lock()

    def wrap(self, transport: Transport, kind: str, name: str) -> Transport:
        """``transport`` with the rules for this connection applied (itself if none)."""
        with self._lock:
            target = self._targets.get((kind, name))
            if target is None:
                target = self._targets[(kind, name)] = FaultTarget(self.plan, kind, name)
        if not any(not isinstance(rule.fault, Crash) for _, rule in target.rules):
            return transport
        return FaultyTransport(transport, target, self.trace)
