"""The dependency rule (docs/architecture.md, "Dependency rule"), read from the source.

Every ``import`` and ``from ... import`` of every module of ours is read with ``ast``,
including imports inside functions, so a lazy import cannot hide an edge. An import of
``a.b`` whose name ``c`` is a submodule counts as an edge to ``a.b.c``.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("protocol", "actors", "localnet")  # library code the rule governs
OURS = ("protocol", "actors", "localnet", "supervisor", "tests", "bench")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the library packages and supervisor.py, by dotted name."""
    found = {module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    found["supervisor"] = REPO / "supervisor.py"
    return found


def is_ours(name: str) -> bool:
    return name.split(".")[0] in OURS


def resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = modules()[importer].name == "__init__.py"
    base = importer.split(".")[: len(importer.split(".")) - node.level + is_package]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def imports(name: str) -> frozenset[str]:
    """Modules of ours that ``name`` imports, at any level of its source."""
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(name, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules() else base)
    return frozenset(target for target in found if is_ours(target))


def within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(sources: tuple[str, ...], allowed) -> set[tuple[str, str]]:
    return {(src, dst) for src in modules() if within(src, *sources)
            for dst in imports(src) if not allowed(dst)}


def test_the_reader_sees_function_level_imports():
    """A rule is only as good as the reader: supervisor.main imports the CLI lazily."""
    assert "actors.app.cli" in imports("supervisor")


def test_protocol_imports_nothing_of_ours():
    assert violations(("protocol",), lambda dst: within(dst, "protocol")) == set()


def test_core_imports_only_protocol():
    found = violations(("actors.core",), lambda dst: within(dst, "protocol", "actors.core"))
    assert found == set()


#: package -> what it must never import (the layers above it).
NEVER = {
    "actors.net": ("actors.shells", "actors.api", "actors.faults", "actors.daemon", "actors.app",
                   "supervisor"),
    "actors.shells": ("actors.api", "actors.daemon", "actors.app", "supervisor"),
    "actors.faults": ("actors.shells", "actors.api", "actors.daemon", "actors.app", "supervisor"),
    "actors.api": ("actors.daemon", "actors.app", "supervisor"),
    "actors.daemon": ("actors.app", "supervisor"),
}


@pytest.mark.parametrize("package", sorted(NEVER))
def test_no_package_imports_the_layers_above_it(package):
    assert violations((package,), lambda dst: not within(dst, *NEVER[package])) == set()


def test_only_the_app_imports_localnet():
    found = violations(("protocol", "actors", "supervisor"), lambda dst: not within(dst, "localnet"))
    assert {(src, dst) for src, dst in found if not within(src, "actors.app")} == set()


def test_no_import_cycles():
    graph = {name: {dst for dst in imports(name) if dst in modules()} for name in modules()}
    cycles = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_no_test_imports_from_a_conftest():
    """Shared test helpers are plain modules in tests/helpers/, never a conftest."""
    offenders = []
    for path in (REPO / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names
                          if n.split(".")[-1] == "conftest"]
    assert offenders == []
