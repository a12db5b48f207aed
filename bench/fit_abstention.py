"""Fit the abstention model of a reading mode from a `qa eval` report, sweep its
threshold, and (with --write) store it in qa/weights/abstention.json.

Run an eval that records the reader's best candidate and its signals for every
question (QA_MIN_CONFIDENCE=0, and a weights file whose model for the mode has no
weights, so the best candidate is always the one kept), then fit:

    QA_MIN_CONFIDENCE=0 qa eval fit.jsonl --docs CORPUS --out fit.json
    python bench/fit_abstention.py --mode combined --fit fit.jsonl fit.json \\
        --fit other.jsonl other.json --check test.jsonl test.json --write --threshold 0.5

Several ``--fit`` sets are fitted together, each weighed equally (a set of 18 questions
counts as much as one of 500), and the threshold sweep is shown for each separately.
A combined run also serves the extractive mode: its features leave out the LLM's.

With --before-check, a second model is fitted without the support check's signal, and
the band outside which it decides alone: the one that skips the check for the most fit
candidates while changing at most 1 decision in 200 of those the full model makes
(``qa.answer.abstention.SureBand``). The fit reports must hold the check for every candidate.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
from pathlib import Path

import numpy as np

from qa.answer.abstention import AbstentionModels, load, save
from qa.answer.span_reader import MODEL_DIR
from qa.evaluation.evaluate import EvalQuestion, EvalReport, load_questions
from qa.evaluation.fitting import (
    FEATURES,
    Meta,
    decisions,
    fit_band,
    fit_logistic,
    probabilities,
    rows,
)


def load_report(questions: Path, report: Path) -> tuple[list[EvalQuestion], EvalReport]:
    gold = load_questions(questions)
    return gold, EvalReport.model_validate_json(report.read_text(encoding="utf-8"))


def sweep(p: np.ndarray, meta: list[Meta], title: str) -> None:
    answerable = sum(m[0] for m in meta)
    print(f"\n{title}: {answerable} answerable, {len(meta) - answerable} unanswerable")
    print("| threshold | answered | answer acc | mean F1 | abstention acc | precision |")
    print("|---|---|---|---|---|---|")
    for threshold in np.arange(0.0, 0.96, 0.05):
        right, answerable, declined, unanswerable = decisions(p, meta, threshold)
        answer = [q >= threshold and m[1] for q, m in zip(p, meta, strict=True)]
        f1 = sum(m[3] for a, m in zip(answer, meta, strict=True) if a and m[0])
        answered = sum(answer)
        print(
            f"| {threshold:.2f} | {answered} | {right / max(1, answerable):.3f} "
            f"| {f1 / max(1, answerable):.3f} | {declined / max(1, unanswerable):.3f} "
            f"| {right / max(1, answered):.3f} |"
        )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=sorted(FEATURES), default="combined")
    parser.add_argument("--fit", nargs=2, action="append", type=Path, required=True)
    parser.add_argument("--check", nargs=2, action="append", type=Path, default=[])
    parser.add_argument("--write", action="store_true", help="store the fit in the weights file")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument(
        "--before-check", action="store_true", help="fit the band without the check"
    )
    args = parser.parse_args()
    features = FEATURES[args.mode]
    sets = []
    for questions, report_path in args.fit:
        gold, report = load_report(questions, report_path)
        sets.append((questions, report_path, gold, *rows(gold, report.results, features)))
    x = np.vstack([s[3] for s in sets])
    y = np.concatenate([s[4] for s in sets])
    weight = np.concatenate([np.full(len(s[4]), len(y) / (len(sets) * len(s[4]))) for s in sets])
    model = fit_logistic(x, y, weight, features, args.threshold)
    print(f"{args.mode}: weights {model.weights}, bias {model.bias}, when missing {model.missing}")
    for _, report_path, _, xs, _, meta in sets:
        sweep(probabilities(model, xs, features), meta, f"fit: {report_path}")
    for questions, other in args.check:
        gold_b, report_b = load_report(questions, other)
        xb, _, meta_b = rows(gold_b, report_b.results, features)
        sweep(probabilities(model, xb, features), meta_b, f"check: {other}")
    if args.before_check:
        candidate = np.array([m[1] for s in sets for m in s[5]])
        if "yes_no" in features:  # a yes/no verdict is the judge's, never the model's
            candidate &= x[:, features.index("yes_no")] == 0
        band = fit_band(x, y, weight, features, model, candidate)
        print(f"band: answer from {band.answer_from}, abstain below {band.abstain_below}")
        model = model.model_copy(update={"before_check": band})
    if args.write:
        current = load()
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        fitted_on = dict(current.fitted)
        fitted_on[args.mode] = (
            "; ".join(f"{q.name} ({len(g)} questions, sha256 {sha256(q)})" for q, _, g, *_ in sets)
            + f", each set weighed equally; commit {commit}, "
            f"reader.onnx sha256 {sha256(MODEL_DIR / 'reader.onnx')}"
        )
        models = dict(current.models)
        models[args.mode] = model
        save(AbstentionModels(version=current.version, fitted=fitted_on, models=models))
        print(f"wrote the {args.mode} model, threshold {args.threshold}")


if __name__ == "__main__":
    main()
