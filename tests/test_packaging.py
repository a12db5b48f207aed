"""What a wheel install needs: every imported package declared, the prompts shipped."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from qa.settings import Settings, packaged_prompts

REPO = Path(__file__).resolve().parent.parent


def imported_modules() -> set[str]:
    """Top-level names of every module qa imports, at any depth of its code."""
    found: set[str] = set()
    for path in (REPO / "qa").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"qa"}


def test_every_imported_package_is_declared() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {
        re.split(r"[<>=!~ \[;]", requirement)[0].lower().replace("_", "-")
        for requirement in project["dependencies"]
    }
    providers = packages_distributions()
    missing = {
        module: providers.get(module, ["?"])
        for module in imported_modules()
        if not {name.lower().replace("_", "-") for name in providers.get(module, [])} & declared
    }
    assert not missing, f"imported but not in pyproject's dependencies: {missing}"


def test_wheel_ships_the_prompts_inside_the_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = project["tool"]["setuptools"]
    assert setuptools["package-dir"]["qa.prompts"] == "prompts"
    assert setuptools["package-data"]["qa.prompts"] == ["*.txt"]
    assert Settings().prompts == packaged_prompts() == REPO / "prompts"
    prompts = {p.name for p in packaged_prompts().glob("*.txt")}
    assert prompts == {"answer.txt", "baseline.txt", "check.txt", "rewrite.txt", "yes-no.txt"}
