"""Long offline fuzz run over every decoder (the CI file with much larger budgets).

    .venv/bin/python bench/fuzz_long.py --minutes 30 [--batch 5000]

Runs the properties of tests/hostile/test_fuzz_decoders.py (and the "only ProtocolError"
properties of tests/protocol/test_properties_{a,b}.py) round-robin, ``--batch`` examples
per property per round with a fresh random seed each time, until the time is up. A
failure prints hypothesis' minimal falsifying example and the run continues; the exit
status is 1 if anything failed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def load_properties(batch: int) -> list[tuple[str, object]]:
    os.environ["JM_FUZZ_EXAMPLES"] = str(batch)
    from hypothesis import HealthCheck, settings
    props = []
    hostile = importlib.import_module("tests.hostile.test_fuzz_decoders")
    for name in dir(hostile):
        fn = getattr(hostile, name)
        if name.startswith("test_") and hasattr(fn, "hypothesis"):
            props.append((f"hostile.{name}", fn))
    for module_name in ("tests.protocol.test_properties_a", "tests.protocol.test_properties_b"):
        module = importlib.import_module(module_name)
        for name in dir(module):
            fn = getattr(module, name)
            if name.startswith("test_") and hasattr(fn, "hypothesis") and any(
                    word in name for word in ("accept", "refuses", "never", "model")):
                # override the file's own example count (hypothesis keeps it on the function)
                fn._hypothesis_internal_use_settings = settings(
                    fn._hypothesis_internal_use_settings, max_examples=batch, deadline=None,
                    database=None, suppress_health_check=list(HealthCheck))
                props.append((f"{module_name.rsplit('.', 1)[1]}.{name}", fn))
    return props


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=2000, help="examples per property per round")
    args = parser.parse_args(argv)
    props = load_properties(args.batch)
    deadline = time.monotonic() + args.minutes * 60
    examples, failures, rounds = 0, 0, 0
    started = time.monotonic()
    print(f"fuzz_long: {len(props)} properties, {args.batch} examples each per round, "
          f"{args.minutes} min", flush=True)
    while time.monotonic() < deadline:
        rounds += 1
        for name, prop in props:
            if time.monotonic() >= deadline:
                break
            t0 = time.monotonic()
            try:
                prop()
            except Exception:  # noqa: BLE001 - report and keep fuzzing
                failures += 1
                print(f"FAILED {name}:\n{traceback.format_exc()}", flush=True)
            examples += args.batch
            print(f"  round {rounds} {name}: {args.batch} examples in {time.monotonic() - t0:.1f}s",
                  flush=True)
    elapsed = time.monotonic() - started
    print(f"done: ~{examples} examples in {elapsed:.0f}s ({examples / elapsed:.0f}/s), "
          f"{failures} failures", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
