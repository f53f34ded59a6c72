"""The public fault plan: which faults to inject where, as seeded, serialisable data.

An application builds a :class:`FaultPlan` (or loads one from JSON/TOML, or from
``JM_FAULT_PLAN`` with :func:`plan_from_env`) and passes it to the client as
``fault_plan``; :mod:`actors.faults.injector` applies it. A plan plus its seed is
everything needed to replay a run (:func:`replay_hint`).

Vocabulary and units follow Toxiproxy (``latency``/``jitter`` in ms, ``rate`` in KB/s,
``timeout`` in ms, slicer sizes in bytes and ``delay`` in microseconds); the line-level
faults (drop, duplicate, reorder, corrupt) and ``partition`` have no Toxiproxy twin.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec

__all__ = ["Bandwidth", "Corrupt", "Crash", "Drop", "Duplicate", "Fault", "FaultPlan", "FaultRule",
           "Latency", "LimitData", "NonNegative", "Partition", "Reorder", "Reset", "Slice", "Stall",
           "fault_type", "plan_from_env", "replay_hint"]

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


def replay_hint(plan: FaultPlan) -> str:
    """What a failing scenario prints so that anyone can rerun exactly that run."""
    return (f"fault plan {plan.name or '(unnamed)'}: seed={plan.seed}; plan={plan.to_json()}; "
            f"rerun with JM_FAULT_PLAN=<file holding that JSON> (JM_FAULT_SEED=<n> to change "
            f"only the seed) or fault_plan=FaultPlan.from_json(...)")
