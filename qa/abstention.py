"""The abstention model: how likely a candidate answer is right, from the signals
recorded for it.

One logistic model per reading mode, fitted by ``bench/fit_abstention.py`` and
kept with its threshold in ``qa/weights/abstention.json``, which also records the
question set, the commit and the reader model it was fitted with. A signal that
is missing counts as its default value (0 or false), which is never the
confident end of a fitted weight's range for the signals used here.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

from pydantic import BaseModel

from qa.errors import ModelError
from qa.models import Signals

WEIGHTS_FILE = Path(__file__).resolve().parent / "weights" / "abstention.json"


class Logistic(BaseModel):
    """One fitted model: weights over Signals fields, a bias, and the threshold chosen."""

    weights: dict[str, float]
    bias: float
    threshold: float

    def probability(self, signals: Signals) -> float:
        z = self.bias + sum(w * float(getattr(signals, f)) for f, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-z))


class AbstentionModels(BaseModel):
    """The weights file: a model per reading mode and how they were fitted."""

    version: int
    fitted: dict[str, str]
    models: dict[str, Logistic]


@cache
def load(path: Path = WEIGHTS_FILE) -> AbstentionModels:
    try:
        return AbstentionModels.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the abstention model {path}: {exc}") from exc


def model_for(mode: str) -> Logistic:
    """The fitted model for a reading mode ("combined", "extractive" or "llm")."""
    models = load().models
    if mode not in models:
        raise ModelError(f"no abstention model for reader {mode!r} in {WEIGHTS_FILE}")
    return models[mode]


def save(models: AbstentionModels, path: Path = WEIGHTS_FILE) -> None:
    path.write_text(json.dumps(models.model_dump(), indent=2) + "\n", encoding="utf-8")
    load.cache_clear()
