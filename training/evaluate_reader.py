"""Measure an exported reader alone, given each question's paragraph.

On the public SQuAD 2.0 sample: the share of answerable questions whose best span
is right before any abstention, then answer and abstention accuracy when the reader
abstains below each no-answer margin. The sample does not say which paragraph an
unanswerable question was written on, so it gets the paragraph of the answerable
question before it (SQuAD lists questions paragraph by paragraph).

    python training/evaluate_reader.py qa/weights/reader [--data ../shared/data/squad2-dev-sample]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qa.answer.span_reader import ExtractiveReader
from qa.evaluation.evaluate import is_correct


def paragraph_pairs(data: Path) -> list[tuple[dict, str]]:
    """Each question with the paragraph it is asked on (guessed for unanswerable ones)."""
    paragraphs = {
        f.stem: [p for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
        for f in (data / "corpus").glob("*.txt")
    }
    pairs, last = [], ""
    for line in (data / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["answerable"]:
            last = next(
                p for p in paragraphs[item["title"]] if any(a in p for a in item["answers"])
            )
        pairs.append((item, last or paragraphs[item["title"]][0]))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/squad2-dev-sample"))
    args = parser.parse_args()
    reader = ExtractiveReader(args.model)
    scored = []
    started = time.perf_counter()
    for item, paragraph in paragraph_pairs(args.data):
        found = reader.read(item["question"], [paragraph], top=1)
        right = bool(found) and is_correct(found[0].text, item["answers"])
        margin = found[0].margin if found else float("-inf")
        scored.append((item["answerable"], right, margin))
    seconds = time.perf_counter() - started
    answerable = [s for s in scored if s[0]]
    unanswerable = [s for s in scored if not s[0]]
    spans = sum(s[1] for s in answerable) / len(answerable)
    print(f"{len(scored)} questions, {seconds / len(scored) * 1000:.1f} ms each")
    print(f"right span before abstention: {spans:.3f} of {len(answerable)} answerable")
    print("| margin >= | answer acc | abstention acc |")
    print("|---|---|---|")
    for threshold in range(-6, 7):
        accuracy = sum(s[1] and s[2] >= threshold for s in answerable) / len(answerable)
        abstention = sum(s[2] < threshold for s in unanswerable) / len(unanswerable)
        print(f"| {threshold} | {accuracy:.3f} | {abstention:.3f} |")


if __name__ == "__main__":
    main()
