"""The abstention model: how likely a candidate answer is right, from the signals
recorded for it.

One logistic model per reading mode, fitted by ``bench/fit_abstention.py`` and
kept with its threshold in ``qa/weights/abstention.json``, which also records the
question set, the commit and the reader model it was fitted with. A signal that
was not measured (an LLM server that gives no log-probabilities, no candidate to
constrain the output to) takes the model's ``missing`` value for it: the least
confident value seen when fitting, so a missing signal never raises confidence.

The support check costs more than the answer (about 50 new prompt tokens), so a model
may carry a second one fitted without its signal (``Logistic.before_check``): where that
one is sure, the check is not asked. On the fit sets the check changed no more than
1 decision in 200 outside that band.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from contextlib import suppress
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from qa.errors import ModelError
from qa.llm.gguf import check_model
from qa.models import Signals
from qa.settings import Settings

WEIGHTS_FILE = Path(__file__).resolve().parents[1] / "weights" / "abstention.json"


class Logistic(BaseModel):
    """One fitted model: weights over Signals fields, a bias, the threshold chosen, and
    the value each signal takes when it was not measured."""

    weights: dict[str, float]
    bias: float
    threshold: float
    missing: dict[str, float] = Field(default_factory=dict)
    before_check: SureBand | None = None

    @model_validator(mode="after")
    def _covers_unmeasured_signals(self) -> Logistic:
        optional = {name for name, field in Signals.model_fields.items() if field.default is None}
        lacking = (optional & set(self.weights)) - set(self.missing)
        if lacking:
            raise ValueError(f"no value for the signals {sorted(lacking)} when they are missing")
        band = self.before_check
        if band is not None and not band.abstain_below <= self.threshold <= band.answer_from:
            raise ValueError("the band without the check must hold the threshold")
        return self

    def probability(self, signals: Signals) -> float:
        z = self.bias
        for name, weight in self.weights.items():
            value = getattr(signals, name)
            z += weight * (self.missing[name] if value is None else float(value))
        return 1.0 / (1.0 + math.exp(-z))

    def sure(self, signals: Signals, threshold: float) -> float | None:
        """The probability without the support check where that decides by itself (at
        or above ``answer_from``, below ``abstain_below``), at the threshold the band
        was fitted for; else None, and the check may be asked."""
        band = self.before_check
        if band is None or threshold != self.threshold:
            return None
        likelihood = band.model.probability(signals)
        if likelihood >= band.answer_from or likelihood < band.abstain_below:
            return likelihood
        return None

    def undecided(self, signals: Signals, threshold: float) -> bool:
        """Whether the support check could change the decision: the probability with
        a certain "No" falls below the threshold and with a certain "Yes" reaches it."""
        if "supported" not in self.weights:
            return False
        low, high = (
            self.probability(signals.model_copy(update={"supported": value})) for value in (0, 1)
        )
        return min(low, high) < threshold <= max(low, high)


class SureBand(BaseModel):
    """A model without the support check's signal, and the probabilities from which it
    answers and below which it abstains without asking the check."""

    model: Logistic
    answer_from: float
    abstain_below: float


Logistic.model_rebuild()


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


def model_for(mode: str, fit: Path | None = None) -> Logistic:
    """The fitted model for a reading mode ("combined", "extractive" or "llm"): the one
    in ``fit`` (a model's own, from ``qa calibrate``) when it has that mode, else the
    shipped one."""
    if fit is not None and mode in load(fit).models:
        return load(fit).models[mode]
    models = load().models
    if mode not in models:
        raise ModelError(f"no abstention model for reader {mode!r} in {WEIGHTS_FILE}")
    return models[mode]


def data_dir() -> Path:
    """$XDG_DATA_HOME/qa, else ~/.local/share/qa: what qa learns about a model is kept."""
    root = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(root) / "qa"


def fit_file(settings: Settings) -> Path:
    """Where the fit of the model these settings answer with is kept. A server's model is
    known by its URL and name; a model file by its size and the hash of its first and
    last MiB (hashing a whole GGUF would cost seconds at every start); the packaged
    model by its name."""
    if settings.llm_url:
        basis = f"server {settings.llm_url} {settings.llm_model}"
    elif settings.llm_file:
        try:
            stat = settings.llm_file.stat()
        except FileNotFoundError:
            raise ModelError(f"no model file at {settings.llm_file}") from None
        except OSError as exc:
            raise ModelError(f"cannot read the model file {settings.llm_file}: {exc}") from exc
        basis = f"file {_fingerprint(settings.llm_file, stat.st_size, stat.st_mtime_ns)}"
    else:
        basis = "packaged"
    return data_dir() / "fits" / f"{hashlib.sha256(basis.encode()).hexdigest()[:16]}.json"


@cache
def _fingerprint(path: Path, size: int, mtime_ns: int, edge: int = 1 << 20) -> str:
    """The file's size and the hash of its first and last ``edge`` bytes, read once per
    version of the file."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            digest.update(handle.read(edge))
            handle.seek(max(0, size - edge))
            digest.update(handle.read(edge))
    except OSError as exc:
        raise ModelError(f"cannot read the model file {path}: {exc}") from exc
    return f"{size} {digest.hexdigest()}"


def own_fit(settings: Settings) -> Path | None:
    """The model's own fit when ``qa calibrate`` made one, else None (the shipped fit)."""
    path = fit_file(settings)
    return path if path.is_file() else None


def save(models: AbstentionModels, path: Path = WEIGHTS_FILE) -> None:
    path.write_text(
        json.dumps(models.model_dump(exclude_none=True), indent=2) + "\n", encoding="utf-8"
    )
    load.cache_clear()


def fit_notice(settings: Settings) -> str | None:
    """Said once per model other than the packaged one that has no fit of its own: its
    signals are weighed as fitted for the packaged model, and how to fit them to it."""
    if not (settings.llm_url or settings.llm_file) or own_fit(settings):
        return None
    marker = fit_file(settings).with_suffix(".noticed")
    if marker.exists():
        return None
    if settings.llm_file:
        check_model(settings.llm_file)  # a file that is no model is that error, not this note
    with suppress(OSError):  # said again next time: better than never
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    model = settings.llm_file.name if settings.llm_file else settings.llm_url
    return (
        f"note: {model} is weighed by the abstention fit of the packaged model; "
        "`qa calibrate QUESTIONS.jsonl --docs DIR` fits it to this one (docs/models.md)"
    )
