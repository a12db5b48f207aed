"""Fitting the abstention model from recorded answers: a logistic regression over the
signals of each question's candidate (scikit-learn), the threshold chosen by one rule,
and the band outside which the model without the support check decides alone.

``qa calibrate`` fits the model that answers this way; ``bench/fit_abstention.py``
fitted the shipped weights with the same functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from qa.answer.abstention import Logistic, SureBand
from qa.evaluation.evaluate import EvalQuestion, EvalResult, best_f1, is_correct, meets
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
TARGET_ABSTENTION = 0.80  # the threshold: the lowest step that declines this share
STEPS = np.arange(0.05, 0.96, 0.05)
MOST_CHANGED = 1 / 200  # of the fit candidates' decisions, by skipping the check
NEUTRAL_WHEN_MISSING = {"llm_not_found", "llm_logprob", "supported"}
Meta = tuple[bool, bool, bool, float]  # answerable, has a candidate, right, F1


def is_right(candidate: str, item: EvalQuestion) -> bool:
    """Scored as ``qa eval`` scores it: every ``must`` group where the line has them."""
    return meets(candidate, item.must) if item.must else is_correct(candidate, item.answers)


def rows(
    gold: Sequence[EvalQuestion], results: Sequence[EvalResult], features: list[str]
) -> tuple[np.ndarray, np.ndarray, list[Meta]]:
    """Each scored question's signals (NaN where unmeasured), whether its candidate is
    right, and what the threshold sweep needs; results for other questions are skipped."""
    by_id = {q.id: q for q in gold}
    x, y, meta = [], [], []
    for result in results:
        if result.id not in by_id or by_id[result.id].expects_answer is None:
            continue
        item, signals = by_id[result.id], result.signals
        candidate = signals.candidate if signals else ""
        answerable = bool(item.expects_answer)
        right = bool(answerable and candidate and is_right(candidate, item))
        x.append([_value(signals, f) if signals else 0.0 for f in features])
        y.append(int(right))
        f1 = best_f1(candidate, item.answers) if answerable and candidate else 0.0
        meta.append((answerable, bool(candidate), right, f1))
    return np.array(x, dtype=float).reshape(len(x), len(features)), np.array(y), meta


def _value(signals: Signals, name: str) -> float:
    value = getattr(signals, name)
    return np.nan if value is None else float(value)


def unmeasured(x: np.ndarray, weights: list[float], features: list[str]) -> dict[str, float]:
    """The value of each signal that can go unmeasured, for when it is: the least
    confident value in the fit data, except for the signals in NEUTRAL_WHEN_MISSING,
    which take their mean: a server that gives no log-probabilities or alternatives
    leaves the model's doubt unknown, and the least confident values (a near-certain
    NOT FOUND, a "No" from the support check) would make it abstain on nearly everything."""
    optional = {name for name, field in Signals.model_fields.items() if field.default is None}
    values = {}
    for i, (f, w) in enumerate(zip(features, weights, strict=True)):
        column = x[:, i]
        if np.isnan(column).all():
            values[f] = 0.0
        elif f in NEUTRAL_WHEN_MISSING:
            values[f] = float(np.nanmean(column))
        elif f in optional:
            values[f] = float(np.nanmin(column) if w > 0 else np.nanmax(column))
    return {f: round(v, 4) for f, v in values.items()}


def filled(x: np.ndarray) -> np.ndarray:
    """Unmeasured signals (NaN) at their column's lowest value (0 where none is known)."""
    lowest = np.where(np.isnan(x).all(axis=0), 0.0, np.nanmin(np.where(np.isnan(x), np.inf, x), 0))
    return np.where(np.isnan(x), lowest, x)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, features: list[str], threshold: float
) -> Logistic:
    from sklearn.linear_model import LogisticRegression

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
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def decisions(p: np.ndarray, meta: list[Meta], threshold: float) -> tuple[int, int, int, int]:
    """Answerable questions answered right, of how many; unanswerable declined, of how many."""
    answer = [bool(q >= threshold) and m[1] for q, m in zip(p, meta, strict=True)]
    right = sum(a and m[2] for a, m in zip(answer, meta, strict=True))
    declined = sum(not a for a, m in zip(answer, meta, strict=True) if not m[0])
    answerable = sum(m[0] for m in meta)
    return right, answerable, declined, len(meta) - answerable


def choose_threshold(p: np.ndarray, meta: list[Meta]) -> float:
    """The lowest step at which the model declines TARGET_ABSTENTION of the unanswerable
    questions (the rule the shipped weights were chosen by)."""
    for step in STEPS:
        _, _, declined, unanswerable = decisions(p, meta, float(step))
        if declined >= TARGET_ABSTENTION * unanswerable:
            return round(float(step), 2)
    return round(float(STEPS[-1]), 2)


def fit_band(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, features: list[str], full: Logistic,
    candidate: np.ndarray, prior: Logistic | None = None,
) -> SureBand:  # fmt: skip
    """The model without the check (``prior`` recalibrated, when given) and the band
    outside which it decides: the one that skips the check for the most candidates while
    changing at most MOST_CHANGED of the decisions the full model makes."""
    threshold = full.threshold
    without = [f for f in features if f != "supported"]
    x_without = x[:, [features.index(f) for f in without]]
    if prior is None:
        alone = fit_logistic(x_without, y, weight, without, threshold)
    else:
        alone = recalibrated(prior, x_without, y, weight, without)
        alone = alone.model_copy(update={"threshold": threshold})
    sure = probabilities(alone, x_without, without)[candidate]
    decided = probabilities(full, x, features)[candidate] >= threshold
    best: tuple[int, int, float, float] | None = None
    for high in np.arange(0.95, threshold - 1e-9, -0.05):
        for low in np.arange(0.0, threshold + 1e-9, 0.02):
            skipped = (sure >= high) | (sure < low)
            changed = int(np.sum(skipped & ((sure >= high) != decided)))
            if changed <= MOST_CHANGED * len(sure):
                option = (int(skipped.sum()), -changed, round(float(high), 2), round(float(low), 2))
                best = max(best, option) if best else option
    assert best is not None  # the empty band (0.95, 0.0) changes nothing
    return SureBand(model=alone, answer_from=best[2], abstain_below=best[3])


def recalibrated(
    prior: Logistic, x: np.ndarray, y: np.ndarray, weight: np.ndarray, features: list[str]
) -> Logistic:
    """``prior`` with its log-odds scaled and shifted to fit these answers: two numbers
    learned where a refit learns one per signal, so a few hundred questions suffice."""
    from sklearn.linear_model import LogisticRegression

    p = np.clip(probabilities(prior, x, features), 1e-9, 1 - 1e-9)
    logit = np.log(p / (1 - p)).reshape(-1, 1)
    fitted = LogisticRegression(C=1.0, max_iter=5000).fit(logit, y, sample_weight=weight)
    scale, shift = float(fitted.coef_[0][0]), float(fitted.intercept_[0])
    return prior.model_copy(
        update={
            "weights": {f: round(w * scale, 4) for f, w in prior.weights.items()},
            "bias": round(prior.bias * scale + shift, 4),
            "before_check": None,
        }
    )


FOLDS = 5


def held_out_loss(
    make: Callable[[np.ndarray, np.ndarray, np.ndarray], Logistic],
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, features: list[str],
) -> float:  # fmt: skip
    """The mean log-loss of the models ``make`` fits, each on the questions outside one of
    FOLDS stratified folds (seeded), on the questions inside it."""
    from sklearn.model_selection import StratifiedKFold

    folds = min(FOLDS, int(np.bincount(y).min()))
    if folds < 2:
        return math.inf
    losses = []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        p = np.clip(
            probabilities(make(x[train], y[train], weight[train]), x[test], features),
            1e-9,
            1 - 1e-9,
        )
        losses.append(float(-np.mean(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p))))
    return float(np.mean(losses))


def fit(
    sets: Sequence[tuple[Sequence[EvalQuestion], Sequence[EvalResult]]],
    mode: str = "combined",
    threshold: float | None = None,
    prior: Logistic | None = None,
) -> tuple[Logistic, str]:
    """The abstention model for a reading mode from one or more scored sets, each weighed
    equally, and how it was made. With a ``prior`` (the shipped fit), it is that one
    recalibrated or one fitted afresh, whichever predicts held-out folds of the answers
    better. Its threshold by ``choose_threshold`` unless given; with the band that skips
    the support check when the mode weighs it."""
    features = FEATURES[mode]
    parts = [rows(gold, results, features) for gold, results in sets]
    x = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    weight = np.concatenate([np.full(len(p[1]), len(y) / (len(parts) * len(p[1]))) for p in parts])
    if len(set(y.tolist())) < 2:
        raise ValueError("the answers are all right or all wrong: nothing to tell them apart by")

    def afresh(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> Logistic:
        return fit_logistic(x, y, weight, features, threshold or 0.5)

    def adjusted(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> Logistic:
        assert prior is not None
        return recalibrated(prior, x, y, weight, features)

    how, make = "fitted afresh", afresh
    if prior is not None:
        losses = {
            name: held_out_loss(m, x, y, weight, features)
            for name, m in (("afresh", afresh), ("adjusted", adjusted))
        }
        if losses["adjusted"] <= losses["afresh"]:
            how, make = "the shipped fit recalibrated", adjusted
        how += (
            f" (log-loss on held-out folds {losses['adjusted']:.3f} recalibrated, "
            f"{losses['afresh']:.3f} afresh)"
        )
    model = make(x, y, weight)
    if threshold is None:
        meta = [m for p in parts for m in p[2]]
        threshold = choose_threshold(probabilities(model, x, features), meta)
    model = model.model_copy(update={"threshold": threshold})
    if "supported" in features:
        candidate = np.array([m[1] for p in parts for m in p[2]])
        candidate &= x[:, features.index("yes_no")] == 0  # a verdict is the judge's
        band_prior = (
            prior.before_check.model if make is adjusted and prior and prior.before_check else None
        )
        band = fit_band(x, y, weight, features, model, candidate, band_prior)
        model = model.model_copy(update={"before_check": band})
    return model, how
