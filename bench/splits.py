"""The tuning and held-out halves of every question set, fixed by a seeded hash of each
line's id so that a line never changes half (docs/quality.md says which is which).

    python bench/splits.py ../shared/data/docs-sample/questions.jsonl --half tune > tune.jsonl

Choose only on the tuning half; report both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

SEED = "qa-halves-2026-12-07"


def half(item_id: str) -> str:
    """ "tune" or "held" for a question id, the same on every machine and every day."""
    digest = hashlib.sha256(f"{SEED}:{item_id}".encode()).digest()
    return "tune" if digest[0] % 2 == 0 else "held"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--half", choices=["tune", "held"], required=True)
    args = parser.parse_args()
    for number, line in enumerate(args.questions.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            item_id = str(json.loads(line).get("id") or number)
            if half(item_id) == args.half:
                sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()
