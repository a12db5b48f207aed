"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` server (vLLM, Text
Embeddings Inference, Infinity, Ollama, llama.cpp's server), so a GPU box can embed
a big corpus while qa keeps the index, the reader and the verifier here.

Texts go in batches; the official ``openai`` client does the HTTP with the LLM
client's timeouts and retries (connection errors, 408, 429, 5xx: asking for the
same vectors again is safe). Every failure is one ``ModelError`` line naming the
server, never the key. The vectors are made unit length here, so a dot product is
a cosine whatever the server does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import SecretStr

from qa.errors import ModelError
from qa.index.embeddings import Embedder
from qa.llm.remote import openai_client, server_error

if TYPE_CHECKING:
    import openai

BATCH = 64  # texts per request: under every server's default limit


class ServerEmbeddings(Embedder):
    """Unit-length embeddings from an OpenAI-compatible server."""

    def __init__(
        self, base_url: str, model: str, api_key: SecretStr | None, timeout: float, retries: int
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.name = f"{model} (server)"
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self._client: openai.OpenAI | None = None

    @property
    def description(self) -> str:
        return f"{self.model} (server {self.base_url})"

    def client(self) -> openai.OpenAI:
        if self._client is None:
            self._client = openai_client(self.base_url, self.api_key, self.timeout, self.retries)
        return self._client

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            vectors.extend(self._batch(texts[start : start + BATCH]))
        return vectors

    def _batch(self, texts: list[str]) -> list[list[float]]:
        import openai

        where = f"the embeddings server at {self.base_url}"
        try:
            reply = self.client().embeddings.create(
                model=self.model, input=texts, encoding_format="float"
            )
            rows = sorted(reply.data, key=lambda row: row.index)
            matrix = np.array([row.embedding for row in rows], dtype=np.float32)
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a body that is not JSON
            raise server_error(
                exc, where, self.timeout, "QA_EMBED_API_KEY", f"no model {self.model!r}"
            ) from exc
        except (AttributeError, TypeError) as exc:
            raise ModelError(f"{where} sent a malformed response ({exc})") from exc
        if matrix.ndim != 2 or len(matrix) != len(texts):
            raise ModelError(f"{where} sent {len(matrix)} vectors for {len(texts)} texts")
        norms = np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)
        unit: list[list[float]] = (matrix / norms).tolist()
        return unit
