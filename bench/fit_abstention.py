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
from sklearn.linear_model import LogisticRegression

from qa.answer.abstention import AbstentionModels, Logistic, SureBand, load, save
from qa.answer.span_reader import MODEL_DIR
from qa.evaluation.evaluate import EvalQuestion, EvalReport, best_f1, is_correct, load_questions
from qa.models import Signals

FEATURES = {
    "llm": [
        "similarity", "coverage", "missing", "type_mismatch", "declined", "aligned", "from_llm",
        "yes_no", "llm_logprob", "llm_not_found", "supported",
    ],
    "extractive": [
        "reader_margin", "reader_score", "similarity", "coverage", "missing", "type_mismatch",
    ],
    "combined": [
        "reader_margin", "reader_score", "similarity", "coverage", "missing", "type_mismatch",
        "declined", "aligned", "from_llm", "yes_no", "agree", "llm_logprob", "llm_not_found",
        "supported",
    ],
}  # fmt: skip
Meta = tuple[bool, bool, bool, float]  # answerable, has a candidate, right, F1


def load_report(questions: Path, report: Path) -> tuple[list[EvalQuestion], EvalReport]:
    gold = load_questions(questions)
    return gold, EvalReport.model_validate_json(report.read_text(encoding="utf-8"))


def rows(
    gold: list[EvalQuestion], report: EvalReport, features: list[str]
) -> tuple[np.ndarray, np.ndarray, list[Meta]]:
    by_id = {q.id: q for q in gold}
    x, y, meta = [], [], []
    for result in report.results:
        if result.id not in by_id:
            continue  # a report on more questions than this set: use only the set's
        item, signals = by_id[result.id], result.signals
        candidate = signals.candidate if signals else ""
        right = bool(item.answerable and candidate and is_correct(candidate, item.answers))
        x.append([_value(signals, f) if signals else 0.0 for f in features])
        y.append(int(right))
        f1 = best_f1(candidate, item.answers) if item.answerable and candidate else 0.0
        meta.append((bool(item.answerable), bool(candidate), right, f1))
    return np.array(x), np.array(y), meta


def _value(signals: Signals, name: str) -> float:
    value = getattr(signals, name)
    return np.nan if value is None else float(value)


NEUTRAL_WHEN_MISSING = {"llm_not_found", "llm_logprob", "supported"}


def unmeasured(x: np.ndarray, weights: list[float], features: list[str]) -> dict[str, float]:
    """The value of each signal that can go unmeasured, for when it is: the least
    confident value in the fit data, except for the signals in NEUTRAL_WHEN_MISSING,
    which take their mean: a server that gives no log-probabilities or alternatives
    leaves the model's doubt unknown, and the least confident values (a near-certain
    NOT FOUND, a "No" from the support check) would make it abstain on nearly everything."""
    optional = {name for name, field in Signals.model_fields.items() if field.default is None}
    values = {}
    for i, (f, w) in enumerate(zip(features, weights, strict=True)):
        if f in NEUTRAL_WHEN_MISSING:
            values[f] = float(np.nanmean(x[:, i]))
        elif f in optional:
            values[f] = float(np.nanmin(x[:, i]) if w > 0 else np.nanmax(x[:, i]))
    return {f: round(v, 4) for f, v in values.items()}


def filled(x: np.ndarray) -> np.ndarray:
    """Unmeasured signals (NaN) at their column's lowest value, as for fitting."""
    return np.where(np.isnan(x), np.nanmin(x, axis=0), x)


def sweep(probabilities: np.ndarray, meta: list[Meta], title: str) -> None:
    answerable = sum(m[0] for m in meta)
    unanswerable = len(meta) - answerable
    print(f"\n{title}: {answerable} answerable, {unanswerable} unanswerable")
    print("| threshold | answered | answer acc | mean F1 | abstention acc | precision |")
    print("|---|---|---|---|---|---|")
    for threshold in np.arange(0.0, 0.96, 0.05):
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


MOST_CHANGED = 1 / 200  # of the fit candidates' decisions, by skipping the check


def fit_logistic(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, features: list[str], threshold: float
) -> Logistic:
    fitted = LogisticRegression(C=1.0, max_iter=5000).fit(filled(x), y, sample_weight=weight)
    coefficients = list(fitted.coef_[0])
    return Logistic(
        weights={f: round(float(w), 4) for f, w in zip(features, coefficients, strict=True)},
        bias=round(float(fitted.intercept_[0]), 4),
        threshold=threshold,
        missing=unmeasured(x, coefficients, features),
    )


def probabilities(model: Logistic, x: np.ndarray, features: list[str]) -> np.ndarray:
    """The model's probability for each row, an unmeasured signal at its missing value."""
    fill = [model.missing.get(f, np.nan) for f in features]
    rows_filled = filled(np.where(np.isnan(x), fill, x))
    z = model.bias + rows_filled @ np.array([model.weights[f] for f in features])
    return 1.0 / (1.0 + np.exp(-z))


def fit_band(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, features: list[str], full: Logistic,
    candidate: np.ndarray, threshold: float,
) -> SureBand:  # fmt: skip
    """The model without the check and the band outside which it decides (see above)."""
    without = [f for f in features if f != "supported"]
    x_without = x[:, [features.index(f) for f in without]]
    alone = fit_logistic(x_without, y, weight, without, threshold)
    sure = probabilities(alone, x_without, without)[candidate]
    decided = probabilities(full, x, features)[candidate] >= threshold
    best: tuple[int, int, float, float] | None = None
    print(
        "\n| answer from | abstain below | checks skipped | decisions changed |\n|---|---|---|---|"
    )
    for high in np.arange(0.95, threshold - 1e-9, -0.05):
        for low in np.arange(0.0, threshold + 1e-9, 0.02):
            skipped = (sure >= high) | (sure < low)
            changed = int(np.sum(skipped & ((sure >= high) != decided)))
            if changed <= MOST_CHANGED * len(sure):
                option = (int(skipped.sum()), -changed, round(high, 2), round(low, 2))
                best = max(best, option) if best else option
    assert best is not None  # the empty band (0.95, 0.0) changes nothing
    skipped, changed, high, low = best
    print(f"| {high:.2f} | {low:.2f} | {skipped} of {len(sure)} | {-changed} |")
    return SureBand(model=alone, answer_from=high, abstain_below=low)


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
        sets.append((questions, report_path, gold, *rows(gold, report, features)))
    x = np.vstack([s[3] for s in sets])
    y = np.concatenate([s[4] for s in sets])
    weight = np.concatenate([np.full(len(s[4]), len(y) / (len(sets) * len(s[4]))) for s in sets])
    model = fit_logistic(x, y, weight, features, args.threshold)
    print(f"{args.mode}: weights {model.weights}, bias {model.bias}, when missing {model.missing}")
    for _, report_path, _, xs, _, meta in sets:
        sweep(probabilities(model, xs, features), meta, f"fit: {report_path}")
    for questions, other in args.check:
        gold_b, report_b = load_report(questions, other)
        xb, _, meta_b = rows(gold_b, report_b, features)
        sweep(probabilities(model, xb, features), meta_b, f"check: {other}")
    if args.before_check:
        candidate = np.array([m[1] for s in sets for m in s[5]])
        if "yes_no" in features:  # a yes/no verdict is the judge's, never the model's
            candidate &= x[:, features.index("yes_no")] == 0
        band = fit_band(x, y, weight, features, model, candidate, args.threshold)
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
