"""The layout shows the one data path, and keeps it: the stages' subpackages are layered,
and no module imports one of a higher layer, nor one that imports it back. Type-only
imports and imports inside functions count (hidden from the interpreter, they are still
there for the reader)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "qa"
# Lowest first: a module may import its own layer and those below it.
LAYERS = [
    {"qa.settings", "qa.errors", "qa.models", "qa.terms", "qa.typed", "qa.guard", "qa.cpu"},
    {"qa.corpus"},
    {"qa.index", "qa.llm"},
    {"qa.answer"},
    {"qa.evaluation", "qa.pipeline"},
    {"qa.dialogue", "qa.interop"},
    {"qa.api"},
    {"qa.cli", "qa"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Each module of qa and the modules of qa it imports anywhere in its text."""
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    found: dict[str, set[str]] = {}
    for name, path in paths.items():
        named: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qa"):
                module = node.module or ""
                named |= {f"{module}.{a.name}" for a in node.names} | {module}
            elif isinstance(node, ast.Import):
                named |= {a.name for a in node.names}
        found[name] = {n for n in named if n in paths and n != name and n != "qa"}
    return found


def layer(module: str) -> int:
    """The layer of a module: that of its package, or its own."""
    for number, members in reversed(list(enumerate(LAYERS))):
        if any(module == m or module.startswith(m + ".") for m in members if m != "qa"):
            return number
    return len(LAYERS) - 1  # the package itself


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


def test_no_module_imports_a_higher_layer() -> None:
    upward = [
        f"{module} -> {other}"
        for module, others in imports().items()
        for other in others
        if layer(other) > layer(module)
    ]
    assert upward == []


def test_each_folder_holds_at_most_12_modules_and_each_module_at_most_350_lines() -> None:
    folders = [PACKAGE, *(p for p in PACKAGE.iterdir() if (p / "__init__.py").exists())]
    assert len(folders) >= 5
    assert all(len(list(folder.glob("*.py"))) <= 12 for folder in folders)
    long = [p.name for p in PACKAGE.rglob("*.py") if len(p.read_text().splitlines()) > 350]
    assert long == []


def test_the_checks_find_a_cycle_and_a_layer() -> None:
    assert cycle_through("a", {"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_through("a", {"a": {"b"}, "b": set()}) is None
    assert layer("qa.answer.reading") == 3 and layer("qa.errors") == 0 and layer("qa") == 7
