"""How well the support check tells right candidates from wrong ones: the ROC AUC of its
probability, on the tuning and the held-out half of each recorded `qa eval` report
(halves by ``bench/splits.py``). A changed check prompt is judged this way before any
refit: recheck the reports with ``bench/recheck_support.py``, then compare.

    python bench/check_auc.py nq.jsonl nq-checked.json squad.jsonl squad-checked.json

A candidate is right when its question is answerable and the candidate is scored right as
``qa eval`` scores it (``must`` groups where the line has them); yes/no verdicts and
candidates without a probability are left out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sklearn.metrics import roc_auc_score
from splits import half

from qa.evaluation.evaluate import EvalReport, load_questions
from qa.evaluation.fitting import is_right


def scored(questions: Path, report: Path) -> dict[str, tuple[list[int], list[float]]]:
    """Per half (and "all"): whether each checked candidate is right, and its probability."""
    gold = {q.id: q for q in load_questions(questions)}
    results = EvalReport.model_validate_json(report.read_text(encoding="utf-8")).results
    by_half: dict[str, tuple[list[int], list[float]]] = {}
    for result in results:
        item, signals = gold.get(result.id), result.signals
        if item is None or item.expects_answer is None or signals is None:
            continue
        if not signals.candidate or signals.yes_no or signals.supported is None:
            continue
        right = int(bool(item.expects_answer) and is_right(signals.candidate, item))
        for key in (half(result.id), "all"):
            labels, probabilities = by_half.setdefault(key, ([], []))
            labels.append(right)
            probabilities.append(signals.supported)
    return by_half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pairs", nargs="+", type=Path, help="QUESTIONS.jsonl REPORT.json ...")
    args = parser.parse_args()
    if len(args.pairs) % 2:
        parser.error("give each report after its question set")
    for questions, report in zip(args.pairs[::2], args.pairs[1::2], strict=True):
        cells = []
        for key, (labels, probabilities) in sorted(scored(questions, report).items()):
            if 0 < sum(labels) < len(labels):
                auc = roc_auc_score(labels, probabilities)
                cells.append(f"{key} {auc:.3f} ({sum(labels)} right of {len(labels)})")
        print(f"{report.name}: {'; '.join(cells) or 'no checked candidates of both kinds'}")


if __name__ == "__main__":
    main()
