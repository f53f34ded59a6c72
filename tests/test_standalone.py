"""The repository stands alone: nothing in the docs, README, examples or tests points outside it.

A fresh clone on any path must have every file those texts name: markdown links resolve
to files inside the repository, ``../`` never climbs out of it, no absolute path of a
developer's machine appears, and every ``*.md`` or repository path mentioned exists.
Bare ``API.md``/``PROTOCOL.md`` (how code cites the contract) resolve to ``docs/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("README.md", "docs/**/*.md", "docs/**/*.toml", "examples/**/*.py", "tests/**/*.py",
           "tests/**/*.md")
SKIPPED = {Path(__file__).resolve()}
TOP_LEVEL = sorted(p.name for p in ROOT.iterdir() if not p.name.startswith("."))

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_MACHINE = re.compile(r"(?<![\w.~-])/(?:work|home|root|Users|mnt|srv)/[\w./+-]*")
_PARENT = re.compile(r"(?<![\w/])(?:\.\./)+[\w.+-][\w./+-]*")
_MD_NAME = re.compile(r"(?<![\w/.-])((?:[\w.+-]+/)*[\w.+-]+\.md)\b")
_REPO_PATH = re.compile(rf"(?<![\w/.-])(?:{'|'.join(map(re.escape, TOP_LEVEL))})/[\w./+-]*")


def _inside(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


def _exists_near(name: str, here: Path) -> bool:
    """``name`` as written, relative to the mentioning file or the root; bare ``*.md``
    names may also live in ``docs/`` under another case (``API.md`` is docs/api.md)."""
    for base in (here.parent, ROOT):
        candidate = base / name
        if candidate.exists() and _inside(candidate):
            return True
    if "/" not in name:
        lowered = name.lower()
        return any(p.name.lower() == lowered for d in (here.parent, ROOT, ROOT / "docs")
                   for p in d.iterdir())
    return False


def problems(text: str, here: Path) -> list[str]:
    """Every reference in ``text`` (the content of file ``here``) that leaves the repository."""
    found = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a URL or an anchor on the same page
        path = target.split("#", 1)[0]
        if path and not ((here.parent / path).exists() and _inside(here.parent / path)):
            found.append(f"link {target!r} does not resolve inside the repository")
    for path in _MACHINE.findall(text):
        found.append(f"absolute path {path!r}")
    for path in _PARENT.findall(text):
        resolved = here.parent / path.rstrip(".")
        if not (_inside(resolved) and resolved.exists()):
            found.append(f"relative path {path!r} leaves the repository or does not exist")
    for name in _MD_NAME.findall(text):
        if not _exists_near(name, here):
            found.append(f"{name!r} is not a file of the repository")
    for match in _REPO_PATH.finditer(text):
        path, after = match.group().rstrip("."), text[match.end():match.end() + 1]
        if after in ("*", "<", "{") or path.endswith(".md"):
            continue  # a pattern, a placeholder, or already checked above
        if not ((ROOT / path).exists() or (here.parent / path).exists()):
            found.append(f"repository path {path!r} does not exist")
    return found


def _scanned_files() -> list[Path]:
    files = {p.resolve() for pattern in SCANNED for p in ROOT.glob(pattern)}
    return sorted(p for p in files - SKIPPED if "data" not in p.relative_to(ROOT).parts[:2])


@pytest.mark.parametrize("path", _scanned_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_points_outside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    assert problems(text, path) == []


def test_the_checker_catches_what_it_must():
    here = ROOT / "docs" / "example.md"
    text = ("See [the contract](../shared/spec/API.md), `design/ARCHITECTURE.md`,\n"
            "/work/shared/spec/vectors.json and [gone](missing.md); "
            "`tests/data/nothing.json` too.\n")
    found = "\n".join(problems(text, here))
    for expected in ("../shared/spec/API.md", "design/ARCHITECTURE.md", "/work/shared/spec",
                     "missing.md", "tests/data/nothing.json"):
        assert expected in found
    ok = ("[api](api.md), PROTOCOL.md §4.3, `tests/data/vectors.json`, "
          "[site](https://example.org/x), /etc/tor/torrc")
    assert problems(ok, here) == []


def test_the_data_the_tests_read_is_in_the_repository():
    data = ROOT / "tests" / "data"
    assert (data / "vectors.json").is_file() and (data / "README.md").is_file()
    transcripts = sorted(p.name for p in (data / "transcripts").glob("*.txt"))
    assert transcripts == ["ng-direct-coinjoin-via-socks.txt", "ng-directory-probe.txt",
                           "ng-relayed-coinjoin.txt"]
    readme = (data / "README.md").read_text()
    assert all(name in readme for name in ["vectors.json", *transcripts])
