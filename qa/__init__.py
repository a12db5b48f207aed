"""qa: offline question answering over a folder of documents, with citations
that quote the exact text supporting each answer."""

from qa.api import as_chain, as_retriever, ask, configure, evaluate_file, index, info
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
from qa.models import Answer, Citation, IndexReport, StoreInfo, Timings
from qa.settings import Settings

__all__ = [
    "Answer",
    "Citation",
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
    "as_chain",
    "as_retriever",
    "ask",
    "configure",
    "evaluate_file",
    "index",
    "info",
]
