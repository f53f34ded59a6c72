"""Mutation score per module of the pure tiers (``actors/core/`` and ``protocol/``).

Why a script and not a bare ``mutmut run``: the score of a module must come from *its own*
fast tests (``tests/core/test_<module>*.py`` / ``tests/protocol/test_<module>*.py``), not from
whatever other test happens to call it. mutmut 3 reads one ``[mutmut]`` section, so each module
gets a scratch copy of the tree under ``build/mutate/<module>/`` whose ``setup.cfg`` names that
module and those tests. Each run starts from an empty copy: mutmut 3's cache did not re-test
old survivors against newly added tests, so a cached score could be stale.

Bounded time: each module gets ``--budget`` seconds (default 600); mutmut runs with
``nice -n 10`` and ``--max-children`` (default 2) because the machine is shared. A module that
hits its budget is reported as ``TIMEOUT``, never as a score.

Usage::

    python tools/mutation_report.py                    # every module
    python tools/mutation_report.py protocol/framing   # some modules
    python tools/mutation_report.py --survivors        # also list surviving mutants
    python tools/mutation_report.py --diffs            # ... with the diff of each
"""

from __future__ import annotations

import argparse
import ast
import configparser
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "mutate"
MODULE_DIRS = ("actors/core", "protocol")
COPIED = ("actors", "protocol", "localnet", "tests", "supervisor.py", "pyproject.toml")
THRESHOLD = 95.0


def modules() -> list[str]:
    """Every module of the pure tiers, as repo-relative paths."""
    found = []
    for d in MODULE_DIRS:
        found += sorted(str(p.relative_to(ROOT)) for p in (ROOT / d).glob("*.py"))
    return [m for m in found if has_functions(ROOT / m)]


def has_functions(path: Path) -> bool:
    """mutmut mutates function bodies only; declaration-only modules (message structs,
    the error hierarchy, re-exports) have nothing to score."""
    tree = ast.parse(path.read_text())
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(tree))


def own_tests(module: str) -> list[str]:
    """The fast test files of ``module``: ``test_<stem>*.py`` in the tier's test folder."""
    stem = Path(module).stem
    tier = "core" if module.startswith("actors/core/") else "protocol"
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / tier).glob(f"test_{stem}*.py"))


def prepare(module: str, tests: list[str]) -> Path:
    """A fresh copy of the sources in the module's (emptied) scratch dir."""
    work = SCRATCH / module.replace("/", ".").removesuffix(".py")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, work / name)
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    if not cfg.has_section("mutmut"):
        cfg.add_section("mutmut")
    cfg.set("mutmut", "only_mutate", module)
    cfg.set("mutmut", "pytest_add_cli_args_test_selection", "\n" + "\n".join(tests))
    with open(work / "setup.cfg", "w") as fh:
        cfg.write(fh)
    return work


def run_module(module: str, budget: float, children: int, mutmut: list[str]) -> dict:
    tests = own_tests(module)
    row = {"module": module, "tests": tests}
    if not tests:
        return row | {"status": "NO TESTS"}
    work = prepare(module, tests)
    started = time.monotonic()
    cmd = ["nice", "-n", "10", *mutmut, "run", "--max-children", str(children)]
    try:
        done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=budget)
    except subprocess.TimeoutExpired:
        return row | {"status": "TIMEOUT", "seconds": round(time.monotonic() - started)}
    row["seconds"] = round(time.monotonic() - started)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        return row | {"status": "ERROR", "detail": "\n".join(tail)}
    subprocess.run([*mutmut, "export-cicd-stats"], cwd=work, capture_output=True, check=True)
    stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
    row |= {"status": "ok", "stats": stats}
    results = subprocess.run([*mutmut, "results"], cwd=work, capture_output=True, text=True)
    row["survivors"] = [ln.strip() for ln in results.stdout.splitlines() if ln.strip()]
    row["work"] = work
    return row


def diff_of(work: Path, mutant: str, mutmut: list[str]) -> list[str]:
    """The changed lines of one mutant (``mutmut show`` without the file headers)."""
    shown = subprocess.run([*mutmut, "show", mutant], cwd=work, capture_output=True, text=True)
    return [ln for ln in shown.stdout.splitlines()
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def score(stats: dict) -> float:
    """Detected share of the mutants: killed, or made a test hang past mutmut's timeout.

    Mutants no test reaches (``no_tests``) and survivors count against the score.
    """
    killed = stats["killed"] + stats["timeout"]
    total = stats["total"] - stats.get("skipped", 0)
    return 100.0 * killed / total if total else 100.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", help="e.g. protocol/framing (default: all)")
    ap.add_argument("--budget", type=float, default=600.0, help="seconds per module")
    ap.add_argument("--max-children", type=int, default=2)
    ap.add_argument("--survivors", action="store_true", help="list surviving mutants")
    ap.add_argument("--diffs", action="store_true", help="list survivors with their diffs")
    args = ap.parse_args()
    chosen = modules()
    if args.modules:
        wanted = {m.removesuffix(".py") + ".py" for m in args.modules}
        chosen = [m for m in chosen if m in wanted]
    mutmut = [sys.executable, "-m", "mutmut"]
    failed = False
    print(f"{'module':34} {'killed':>6} {'surv':>5} {'none':>5} {'t/o':>4} {'total':>6} "
          f"{'score':>7} {'secs':>5}")
    for module in chosen:
        row = run_module(module, args.budget, args.max_children, mutmut)
        if row["status"] != "ok":
            failed = True
            print(f"{module:34} {row['status']}  {row.get('detail', '')}")
            continue
        s = row["stats"]
        pct = score(s)
        failed |= pct < THRESHOLD
        print(f"{module:34} {s['killed']:6} {s['survived']:5} {s['no_tests']:5} "
              f"{s['timeout']:4} {s['total']:6} {pct:6.1f}% {row['seconds']:5}", flush=True)
        if args.survivors or args.diffs:
            for line in row["survivors"]:
                print(f"    {line}")
                if args.diffs and line.endswith("survived"):
                    for changed in diff_of(row["work"], line.split(":")[0], mutmut):
                        print(f"        {changed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
