"""The layout keeps the one data path readable: no module of qa imports one that imports
it back, directly or through others, type-only imports and imports inside functions
included (a cycle hidden from the interpreter is still one for the reader)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "qa"


def imports() -> dict[str, set[str]]:
    """Each module of qa and the modules of qa it imports anywhere in its text."""
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    found: dict[str, set[str]] = {}
    for name in modules:
        tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
        named: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "qa":
                named |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qa."):
                named.add((node.module or "").split(".")[1])
            elif isinstance(node, ast.Import):
                named |= {a.name.split(".")[1] for a in node.names if a.name.startswith("qa.")}
        found[name] = (named & modules) - {name}
    return found


def cycle_through(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A path of imports from the module back to itself, if there is one."""
    paths = [[start]]
    seen: set[str] = set()
    while paths:
        path = paths.pop()
        for module in sorted(graph[path[-1]]):
            if module == start:
                return [*path, start]
            if module not in seen:
                seen.add(module)
                paths.append([*path, module])
    return None


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = imports()
    assert len(graph) > 40
    cycles = [c for m in sorted(graph) if (c := cycle_through(m, graph))]
    assert cycles == [], " ; ".join(" -> ".join(c) for c in cycles)


def test_the_check_finds_a_cycle() -> None:
    assert cycle_through("a", {"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_through("a", {"a": {"b"}, "b": set()}) is None
