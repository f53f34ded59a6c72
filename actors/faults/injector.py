"""Fault injection: a seeded plan of network faults and actor crashes, and its trace.

This is a public feature: an application passes a :class:`FaultPlan` to the client
(keyword ``fault_plan``) to rehearse bad networks. A :class:`FaultInjector` wraps each
connection's :class:`~actors.net.transport.Transport` in a :class:`FaultyTransport` and gives
the actors :class:`CrashPoints` to call (snabbkaffe's ``maybe_crash``, FoundationDB's
BUGGIFY). Every injected fault is appended to the same :class:`Trace` as the actors'
protocol events, so a test asserts invariants over a whole run instead of sleeping.

Vocabulary and units follow Toxiproxy (``latency``/``jitter`` in ms, ``rate`` in KB/s,
``timeout`` in ms, slicer sizes in bytes and ``delay`` in microseconds); the line-level
faults (drop, duplicate, reorder, corrupt) and ``partition`` have no Toxiproxy twin.

Determinism: every random choice comes from a ``random.Random`` derived from the plan's
seed, the target and the direction (or crash point), so thread interleaving between
connections — or between the reader and writer of one connection — cannot change what a
given target sees. Same plan and same lines per target ⇒ same faults.
"""

from __future__ import annotations

import fnmatch
import os
import random
import threading
import time
import tomllib
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from actors.net.transport import Transport

try:  # protocol/ is written alongside; its decoder is the reference one when present.
    from protocol.envelope import decode_envelope as _decode_envelope
except ImportError:  # pragma: no cover - only while protocol.envelope is missing
    class _Envelope(msgspec.Struct):
        type: int
        line: str

    _decode_envelope = msgspec.json.Decoder(_Envelope).decode

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

NonNegative = Annotated[int, msgspec.Meta(ge=0)]


class _Fault(msgspec.Struct, frozen=True, tag_field="type", forbid_unknown_fields=True,
             omit_defaults=True):
    pass


class Latency(_Fault, tag="latency"):
    """Delay data by ``latency`` ms, plus or minus up to ``jitter`` ms (Toxiproxy)."""

    latency: NonNegative = 0
    jitter: NonNegative = 0


class Bandwidth(_Fault, tag="bandwidth"):
    """Limit throughput to ``rate`` KB/s, 1 KB = 1000 bytes (Toxiproxy; fractions allowed)."""

    rate: Annotated[float, msgspec.Meta(gt=0)]


class Stall(_Fault, tag="stall"):
    """Stop delivering data this way; after ``timeout`` ms (0 = never) close (Toxiproxy
    ``timeout``). A stalled ``recv`` blocks until the transport is aborted."""

    timeout: NonNegative = 0


class Reset(_Fault, tag="reset"):
    """Abort the connection at the matching line: ``recv`` returns ``b""`` after the lines
    before it, ``send`` raises ``ConnectionResetError`` (Toxiproxy ``reset_peer``; pick the
    moment with ``after_lines``)."""


class Slice(_Fault, tag="slice"):
    """Split data into chunks of ``average_size`` ± ``size_variation`` bytes, ``delay``
    microseconds apart (Toxiproxy ``slicer``)."""

    average_size: Annotated[int, msgspec.Meta(ge=1)]
    size_variation: NonNegative = 0
    delay: NonNegative = 0


class LimitData(_Fault, tag="limit_data"):
    """Close the connection once ``bytes`` bytes went this way (Toxiproxy ``limit_data``);
    the ``send`` that reaches the limit raises ``BrokenPipeError``."""

    bytes: NonNegative


class Drop(_Fault, tag="drop"):
    """Lose the matching line."""


class Duplicate(_Fault, tag="duplicate"):
    """Deliver the matching line twice."""


class Reorder(_Fault, tag="reorder"):
    """Hold the matching line and deliver it after the next line (lost if none follows)."""


class Corrupt(_Fault, tag="corrupt"):
    """Change ``flips`` bytes of the line (never its terminator), chosen from the seed."""

    flips: Annotated[int, msgspec.Meta(ge=1)] = 1


class Partition(_Fault, tag="partition"):
    """Deliver nothing either way for ``duration`` ms, then deliver what was held."""

    duration: NonNegative


class Crash(_Fault, tag="crash"):
    """Raise :class:`CrashInjected` at the crash point(s) matching the glob ``point``."""

    point: str


Fault = (Latency | Bandwidth | Stall | Reset | Slice | LimitData | Drop | Duplicate
         | Reorder | Corrupt | Partition | Crash)

_LINE_FAULTS = (Drop, Duplicate, Reorder, Corrupt)


def fault_type(fault: Fault) -> str:
    """The plan's name for a fault (``"latency"``, ``"limit_data"``...)."""
    return type(fault).__struct_config__.tag


class FaultRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
                omit_defaults=True):
    """Which target, direction and lines a fault applies to, and how often.

    ``target`` is the kind of connection ("directory", "peer") or, for crashes, of actor
    ("router", "registry" too); ``name`` is a glob on ``host:port`` or the nick.
    ``command`` restricts the rule to lines whose envelope type (``"789"``) or JoinMarket
    command (``"sig"``, ``"!sig"``) matches. The first ``after_lines`` matching lines
    (passes, for a crash point) are left alone; afterwards each match fires with
    ``probability``, at most ``count`` times per target for the whole run.
    """

    fault: Fault
    target: Literal["directory", "peer", "router", "registry", "any"] = "any"
    name: str = "*"
    direction: Literal["in", "out", "both"] = "both"
    command: str | None = None
    after_lines: NonNegative = 0
    probability: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0
    count: Annotated[int, msgspec.Meta(ge=1)] | None = None

    def matches(self, kind: str, name: str) -> bool:
        return self.target in ("any", kind) and fnmatch.fnmatchcase(name, self.name)

    @property
    def needs_lines(self) -> bool:
        """Whether firing depends on which line is which (else any chunking will do).

        Anything conditional or probabilistic is decided per line, so the outcome does
        not depend on how the OS happened to chunk the stream.
        """
        return (self.command is not None or self.after_lines > 0 or self.probability < 1
                or self.count is not None or isinstance(self.fault, _LINE_FAULTS))


class FaultPlan(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
                omit_defaults=True):
    """A seeded, serialisable list of rules: everything needed to replay a run."""

    seed: int
    rules: tuple[FaultRule, ...] = ()
    name: str = ""

    @classmethod
    def from_json(cls, text: str | bytes) -> FaultPlan:
        return msgspec.json.decode(text, type=cls)

    @classmethod
    def from_toml(cls, text: str) -> FaultPlan:
        return msgspec.convert(tomllib.loads(text), cls)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FaultPlan:
        """Read a ``.toml`` file as TOML and anything else as JSON."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        return cls.from_toml(text) if path.suffix.lower() == ".toml" else cls.from_json(text)

    def to_json(self) -> str:
        return msgspec.json.encode(self).decode()


def plan_from_env(environ: Mapping[str, str] | None = None) -> FaultPlan | None:
    """The plan named by ``JM_FAULT_PLAN`` (a file, or inline JSON starting with ``{``).

    ``JM_FAULT_SEED`` replaces the plan's seed, to rerun one scenario under other seeds
    or replay the seed a failing run printed.
    """
    env = os.environ if environ is None else environ
    source = env.get("JM_FAULT_PLAN")
    if not source:
        return None
    inline = source.lstrip().startswith("{")
    plan = FaultPlan.from_json(source) if inline else FaultPlan.load(source)
    if env.get("JM_FAULT_SEED"):
        plan = msgspec.structs.replace(plan, seed=int(env["JM_FAULT_SEED"]))
    return plan


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


def line_commands(line: bytes) -> frozenset[str]:
    """What a rule's ``command`` can match in one framed line: the envelope type as a
    string and, for privmsg/pubmsg, the JoinMarket command after the second ``!``."""
    try:
        envelope = _decode_envelope(line.rstrip(b"\r\n"))
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
        pieces = [unit]
        latency = gap = seconds_per_byte = 0.0
        hold = False
        end: OSError | None = None
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
            fault, note = rule.fault, ""
            rng = self._target.rng(direction.name)
            if isinstance(fault, Latency):
                jitter = rng.uniform(-fault.jitter, fault.jitter) if fault.jitter else 0.0
                ms = fault.latency + jitter
                latency += max(0.0, ms) / 1000
                note = f" delay_ms={ms:.3f}"
            elif isinstance(fault, Bandwidth):
                seconds_per_byte += 1 / (fault.rate * 1000)
            elif isinstance(fault, Slice):
                pieces = [chunk for piece in pieces for chunk in _slices(piece, fault, rng)]
                gap += fault.delay / 1e6
            elif isinstance(fault, LimitData):
                used = direction.limit_used.get(index, 0)
                pieces, taken = _truncate(pieces, fault.bytes - used)
                direction.limit_used[index] = used + taken
                if used + taken >= fault.bytes:
                    end = BrokenPipeError("connection closed by limit_data fault")
            elif isinstance(fault, Drop):
                pieces = []
            elif isinstance(fault, Duplicate):
                pieces = pieces + pieces
            elif isinstance(fault, Reorder):
                hold = True
            elif isinstance(fault, Corrupt):
                pieces = [_corrupt(piece, fault.flips, rng) for piece in pieces]
            elif isinstance(fault, Stall):
                direction.stalled = True
                direction.stall_deadline = now + fault.timeout / 1000 if fault.timeout else None
                pieces = []
            elif isinstance(fault, Reset):
                end = ConnectionResetError("connection reset by fault injection")
                pieces = []
            elif isinstance(fault, Partition):
                with self._state_lock:
                    self._partition_until = max(self._partition_until, now + fault.duration / 1000)
            self._trace.record(self._target.source, f"fault.{fault_type(fault)}",
                               f"{direction.name} unit={seen} rule={index}{note}")
            if not pieces or direction.stalled:
                break
        if hold:
            pieces, direction.held = direction.held or [], pieces
        elif direction.held is not None:
            pieces, direction.held = pieces + direction.held, None
        direction.ended = end is not None
        return self._schedule(direction, pieces, now + latency, gap, seconds_per_byte, end)

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


def replay_hint(plan: FaultPlan) -> str:
    """What a failing scenario prints so that anyone can rerun exactly that run."""
    return (f"fault plan {plan.name or '(unnamed)'}: seed={plan.seed}; plan={plan.to_json()}; "
            f"rerun with JM_FAULT_PLAN=<file holding that JSON> (JM_FAULT_SEED=<n> to change "
            f"only the seed) or fault_plan=FaultPlan.from_json(...)")


def fault_plan_report(plan: FaultPlan, trace: Trace, last: int = 50) -> str:
    """A failing test's message: the replay hint and the tail of the trace."""
    events = trace.events()
    start = events[0].t if events else 0.0
    lines = [replay_hint(plan), f"last {min(last, len(events))} of {len(events)} trace events"
             f" ({trace.dropped} dropped):"]
    lines += [f"  +{e.t - start:9.3f}s {e.source} {e.kind} {e.detail}" for e in events[-last:]]
    return "\n".join(lines)


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
