"""A local store over a test's own documents, as the tests that build one need it."""

from __future__ import annotations

from pathlib import Path

from qa.index.embeddings import MiniLMEmbeddings
from qa.index.store import Store


def make_store(root: Path, docs: Path, chunk_chars: int = 600) -> Store:
    """A store in ``root/index`` with local Chroma and the packaged embedder."""
    return Store(
        root / "index",
        [docs],
        chunk_chars,
        max_file_bytes=10**6,
        chroma_url=None,
        embedder=MiniLMEmbeddings(),
    )
