"""pyflakes over every Python file we ship, test and run: no undefined name, no unused
import, no shadowed definition. A merge once left a NameError in the Inbox that only a
running orderbook fetch would have hit; this finds such a slip before any test runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyflakes.api import checkPath
from pyflakes.reporter import Reporter

ROOT = Path(__file__).resolve().parents[1]
TREES = ("actors", "protocol", "localnet", "bench", "examples", "tests")


class _Collect(Reporter):
    def __init__(self) -> None:
        self.problems: list[str] = []

    def unexpectedError(self, filename, message) -> None:
        self.problems.append(f"{filename}: {message}")

    def syntaxError(self, filename, msg, lineno, offset, text) -> None:
        self.problems.append(f"{filename}:{lineno}: {msg}")

    def flake(self, message) -> None:
        self.problems.append(str(message))


def _files() -> list[Path]:
    files = [ROOT / "supervisor.py"]
    for tree in TREES:
        files += sorted((ROOT / tree).rglob("*.py"))
    return files


def test_the_file_list_is_not_empty():
    assert len(_files()) > 100


@pytest.mark.timeout(120)
def test_pyflakes_finds_nothing():
    reporter = _Collect()
    for path in _files():
        checkPath(str(path), reporter)
    assert reporter.problems == []
