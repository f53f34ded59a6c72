"""Seeded, replayable fault plans and the injector that applies them to a running client:
a public feature for testing taker apps, not only our own suite (docs/fault-injection.md).

``plan`` is the schema (what to inject), ``trace`` the run's log, ``injector`` what
applies a plan (faulty transports, crash points), ``testing`` an in-memory transport pair
for tests, never used by the client itself.

Imports: ``protocol``, ``actors.core``, ``actors.net`` and ``actors.errors`` only.
"""

from actors.faults.injector import (CRASH_POINTS, CrashInjected, CrashPoints, FaultInjector,
                                    FaultyTransport, line_commands)
from actors.faults.plan import (Bandwidth, Corrupt, Crash, Drop, Duplicate, Fault, FaultPlan,
                                FaultRule, Latency, LimitData, Partition, Reorder, Reset, Slice,
                                Stall, fault_type, plan_from_env, replay_hint)
from actors.faults.trace import Trace, TraceEvent, fault_plan_report

__all__ = [
    "CRASH_POINTS", "Bandwidth", "Corrupt", "Crash", "CrashInjected", "CrashPoints", "Drop",
    "Duplicate", "Fault", "FaultInjector", "FaultPlan", "FaultRule", "FaultyTransport",
    "Latency", "LimitData", "Partition", "Reorder", "Reset", "Slice", "Stall", "Trace",
    "TraceEvent", "fault_plan_report", "fault_type", "line_commands", "plan_from_env",
    "replay_hint",
]
