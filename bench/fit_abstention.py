"""Fit the verifier's abstention model from a `qa eval` report and sweep its threshold.

Run an eval with abstention off so every candidate answer and its signals are
recorded, then fit:

    QA_MIN_CONFIDENCE=0 qa eval squad-fit.jsonl --docs CORPUS --out fit.json
    python bench/fit_abstention.py squad-fit.jsonl fit.json [check.jsonl check.json ...]

Prints the fitted weights (to copy into qa/verifier.py) and, for each report,
a table of answer accuracy / abstention accuracy / F1 by threshold.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from qa.evaluate import EvalQuestion, EvalReport, is_correct, load_questions, token_f1
from qa.verifier import WEIGHTS

FEATURES = list(WEIGHTS)


def load(questions: str, report: str) -> tuple[list[EvalQuestion], EvalReport]:
    gold = load_questions(Path(questions))
    return gold, EvalReport.model_validate_json(Path(report).read_text(encoding="utf-8"))


def rows(gold: list[EvalQuestion], report: EvalReport) -> tuple[np.ndarray, np.ndarray, list]:
    by_id = {q.id: q for q in gold}
    x, y, meta = [], [], []
    for result in report.results:
        item, signals = by_id[result.id], result.signals
        candidate = signals.candidate if signals else ""
        right = bool(item.answerable and candidate and is_correct(candidate, item.answers))
        x.append([float(getattr(signals, f)) if signals else 0.0 for f in FEATURES])
        y.append(int(right))
        f1 = token_f1(candidate, item.answers) if item.answerable and candidate else 0.0
        meta.append((bool(item.answerable), bool(candidate), right, f1))
    return np.array(x), np.array(y), meta


def sweep(probabilities: np.ndarray, meta: list, title: str) -> None:
    answerable = sum(m[0] for m in meta)
    unanswerable = len(meta) - answerable
    print(f"\n{title}: {answerable} answerable, {unanswerable} unanswerable")
    print("| threshold | answered | answer acc | mean F1 | abstention acc | precision |")
    print("|---|---|---|---|---|---|")
    for threshold in np.arange(0.0, 0.95, 0.05):
        answer = [p >= threshold and m[1] for p, m in zip(probabilities, meta, strict=True)]
        right = sum(a and m[2] for a, m in zip(answer, meta, strict=True))
        f1 = sum(m[3] for a, m in zip(answer, meta, strict=True) if a and m[0])
        abstained_ok = sum(not a for a, m in zip(answer, meta, strict=True) if not m[0])
        answered = sum(answer)
        print(
            f"| {threshold:.2f} | {answered} | {right / max(1, answerable):.3f} "
            f"| {f1 / max(1, answerable):.3f} | {abstained_ok / max(1, unanswerable):.3f} "
            f"| {right / max(1, answered):.3f} |"
        )


def main() -> None:
    gold, report = load(sys.argv[1], sys.argv[2])
    x, y, meta = rows(gold, report)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    weights = {f: round(float(w), 3) for f, w in zip(FEATURES, model.coef_[0], strict=True)}
    print("WEIGHTS =", json.dumps(weights, indent=4))
    print("BIAS =", round(float(model.intercept_[0]), 3))
    sweep(model.predict_proba(x)[:, 1], meta, f"fit: {sys.argv[2]}")
    for questions, other in zip(sys.argv[3::2], sys.argv[4::2], strict=True):
        gold_b, report_b = load(questions, other)
        xb, _, meta_b = rows(gold_b, report_b)
        sweep(model.predict_proba(xb)[:, 1], meta_b, f"check: {other}")


if __name__ == "__main__":
    main()
