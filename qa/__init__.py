"""qa: offline question answering over a folder of documents, with citations
that quote the exact text supporting each answer.

The functions load the pipeline (LangChain, Chroma, the models) on first use, so that
``import qa`` and a ``qa ask`` answered by a resident process stay fast."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from qa.errors import (
    DocsError,
    EmbedderMismatch,
    EvalFileError,
    ModelError,
    QAError,
    QuestionError,
    StoreDamaged,
    StoreError,
)
from qa.models import Answer, Citation, IndexReport, StoreInfo, Timings, Turn
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.api import (
        as_chain,
        as_retriever,
        ask,
        calibrate,
        configure,
        conversation,
        evaluate_file,
        index,
        info,
    )
    from qa.dialogue import Conversation

__all__ = [
    "Answer",
    "Citation",
    "Conversation",
    "DocsError",
    "EmbedderMismatch",
    "EvalFileError",
    "IndexReport",
    "ModelError",
    "QAError",
    "QuestionError",
    "Settings",
    "StoreDamaged",
    "StoreError",
    "StoreInfo",
    "Timings",
    "Turn",
    "as_chain",
    "as_retriever",
    "ask",
    "calibrate",
    "configure",
    "conversation",
    "evaluate_file",
    "index",
    "info",
]
_API = frozenset(name for name in __all__ if name.islower())  # the functions of qa.api


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module("qa.api"), name)
    if name == "Conversation":
        return import_module("qa.dialogue").Conversation
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
