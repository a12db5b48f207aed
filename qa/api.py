"""The Python API: ``ask``, ``index`` and ``evaluate_file``.

Pipelines are cached per settings, so a program that asks many questions loads
the models and opens the store once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from qa.evaluate import EvalReport, EvalResult, evaluate, load_questions
from qa.models import Answer, IndexReport
from qa.pipeline import Pipeline, TokenSink
from qa.settings import Settings
from qa.store import Progress, Warn

_pipelines: dict[str, Pipeline] = {}


def configure(
    docs: Sequence[str | Path] | str | Path | None = None,
    store: str | Path | None = None,
    **overrides: Any,
) -> Settings:
    """Settings from defaults, qa.toml and QA_* variables, with these overrides on top."""
    if docs is not None:
        overrides["docs"] = [docs] if isinstance(docs, (str, Path)) else list(docs)
    if store is not None:
        overrides["store"] = store
    return Settings(**overrides)


def pipeline(settings: Settings) -> Pipeline:
    """The cached pipeline for these settings."""
    key = settings.model_dump_json()
    if key not in _pipelines:
        _pipelines[key] = Pipeline(settings)
    return _pipelines[key]


def ask(
    question: str,
    docs: Sequence[str | Path] | str | Path | None = None,
    store: str | Path | None = None,
    *,
    settings: Settings | None = None,
    on_token: TokenSink | None = None,
    warn: Warn | None = None,
) -> Answer:
    """Answer a question from the documents, with checked citations or an abstention."""
    settings = settings or configure(docs, store)
    return pipeline(settings).ask(question, on_token=on_token, warn=warn)


def index(
    docs: Sequence[str | Path] | str | Path | None = None,
    store: str | Path | None = None,
    *,
    settings: Settings | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    warn: Warn | None = None,
) -> IndexReport:
    """Bring the store in step with the documents (incremental unless rebuild)."""
    settings = settings or configure(docs, store)
    return pipeline(settings).index(progress=progress, warn=warn, rebuild=rebuild)


def evaluate_file(
    path: Path,
    *,
    settings: Settings | None = None,
    limit: int | None = None,
    on_result: Callable[[EvalResult], None] | None = None,
    warn: Warn | None = None,
) -> EvalReport:
    """Run a JSONL question set through ``ask`` and score it."""
    questions = load_questions(path)[:limit]
    runner = pipeline(settings or configure())
    runner.refresh(warn)
    return evaluate(questions, runner.ask, on_result)
