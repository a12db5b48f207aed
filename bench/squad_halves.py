"""Split the public SQuAD 2.0 sample into two fixed random halves.

Half "fit" is for fitting the abstention model, half "test" for reporting;
the seed makes the split the same on every machine.

    python bench/squad_halves.py ../shared/data/squad2-dev-sample/questions.jsonl OUTDIR
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

SEED = 2026


def main() -> None:
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    order = list(range(len(lines)))
    random.Random(SEED).shuffle(order)
    half = len(lines) // 2
    out.mkdir(parents=True, exist_ok=True)
    for name, picked in (("fit", order[:half]), ("test", order[half:])):
        rows = [lines[i] for i in sorted(picked)]
        (out / f"squad-{name}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
        print(f"{out / f'squad-{name}.jsonl'}: {len(rows)} questions")


if __name__ == "__main__":
    main()
