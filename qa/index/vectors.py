"""A corpus's Chroma collection: every call to Chroma, and what its errors mean to qa.

Chroma keeps its files in ``<store>/chroma``, or a Chroma server holds them
(``chroma_url``); a server is shared, so collection names there carry the store's
own id (``<store>/store-id``). Collections are made as langchain_chroma makes them
(cosine space, no embedding function), so stores it built keep working; qa always
hands Chroma its own vectors, and Chroma never embeds or downloads anything.

An error from a server (out of reach, 5xx, a refused key) is never damage: it is a
StoreError, and nothing changes. Local Chroma that cannot open or read its files is
damaged (StoreDamaged: the store is rebuilt). A local write that fails is passed on
as it is: a full disk is not damage, and a rebuild would not help.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import StoreDamaged, StoreError
from qa.models import Chunk

if TYPE_CHECKING:
    import numpy as np
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from langchain_chroma import Chroma
    from langchain_core.embeddings import Embeddings
    from numpy.typing import NDArray

COSINE = {"hnsw:space": "cosine"}
DELETE_BATCH = 1000


def damaged(root: Path, why: str) -> StoreDamaged:
    """The one wording of damage, for the store's own files and Chroma's."""
    return StoreDamaged(f"store {root} is damaged: {' '.join(why.split())}")


def chunk_id(source: str, doc_hash: str, index: int) -> str:
    """A chunk's id in Chroma, and in the BM25 index, which answers with it."""
    return f"{hashlib.sha256(source.encode()).hexdigest()[:16]}-{doc_hash[:16]}-{index}"


class Vectors:
    """One corpus's chunks and vectors in Chroma, opened once, telemetry off."""

    def __init__(self, root: Path, corpus: str, url: str | None) -> None:
        self.root = root
        self.corpus = corpus
        self.url = url
        self._client: ClientAPI | None = None
        self._collection: Collection | None = None
        self._langchain: dict[str, Chroma] = {}

    @cached_property
    def collection(self) -> str:
        """This corpus's collection. A server is shared, so there the name also
        carries the store folder's own id: each store gets collections of its own."""
        return f"{self.corpus}-{self._store_id()}" if self.url else self.corpus

    def search(self, vector: list[float], k: int) -> list[Chunk]:
        """The k chunks nearest to a query vector, nearest first."""
        collection = self._open()
        with self._errors("Chroma cannot search it"):
            found = collection.query(  # one query: Chroma answers with a list of one
                query_embeddings=vector, n_results=k, include=["documents", "metadatas"]
            )
            texts, metas = (found["documents"] or [[]])[0], (found["metadatas"] or [[]])[0]
            return [chunk_from_document(t, m) for t, m in zip(texts, metas, strict=True)]

    def fetch(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids that Chroma holds, in the order asked."""
        if not ids:
            return []
        collection = self._open()
        with self._errors("Chroma cannot read it"):
            found = collection.get(ids=list(ids), include=["documents", "metadatas"])
            texts, metas = found["documents"] or [], found["metadatas"] or []
            by_id = {
                i: chunk_from_document(t, m)
                for i, t, m in zip(found["ids"], texts, metas, strict=True)
            }
        return [by_id[i] for i in ids if i in by_id]

    def ids(self) -> list[str]:
        """The id of every chunk held."""
        collection = self._open()
        with self._errors("Chroma cannot read it"):
            return collection.get(include=[])["ids"]

    def count(self) -> int:
        """How many chunks are held."""
        collection = self._open()
        with self._errors("Chroma cannot count it"):
            return collection.count()

    def upsert(self, chunks: Sequence[Chunk], embeddings: NDArray[np.float32]) -> None:
        """Write chunks with their vectors, replacing any of the same ids."""
        collection = self._open()
        with self._errors(None):
            collection.upsert(
                ids=[chunk_id(c.source, c.doc_hash, c.index) for c in chunks],
                embeddings=embeddings,
                documents=[c.text for c in chunks],
                metadatas=[_metadata(c) for c in chunks],
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Delete chunks by id, in batches of a size any server accepts."""
        collection = self._open()
        with self._errors(None):
            for first in range(0, len(ids), DELETE_BATCH):
                collection.delete(ids=list(ids[first : first + DELETE_BATCH]))

    def drop(self, warn: Callable[[str], None]) -> None:
        """Delete the collection, for a rebuild. Local Chroma that cannot has damaged
        files, which are set aside; a server that cannot raises StoreError."""
        try:
            self._open()
            with self._errors(None):
                self._chroma().delete_collection(self.collection)
        except Exception:
            if self.url:
                raise
            self._set_aside(warn)
        self._client, self._collection = None, None
        self._langchain.clear()

    def langchain(self, collection: str, embeddings: Embeddings) -> Chroma:
        """A LangChain ``Chroma`` over another collection on the same client, made as
        this corpus's is, opened once (for the baseline, which is LangChain's recipe)."""
        if collection not in self._langchain:
            from langchain_chroma import Chroma

            client = self._chroma()
            with self._errors("Chroma cannot open it"):
                self._langchain[collection] = Chroma(
                    collection_name=collection,
                    embedding_function=embeddings,
                    client=client,
                    collection_metadata=COSINE,
                )
        return self._langchain[collection]

    def _open(self) -> Collection:
        if self._collection is None:
            name = self.collection
            client = self._chroma()
            with self._errors("Chroma cannot open it"):
                self._collection = client.get_or_create_collection(
                    name=name, embedding_function=None, metadata=COSINE
                )
        return self._collection

    def _chroma(self) -> ClientAPI:
        if self._client is None:
            import chromadb
            from chromadb.config import Settings

            settings = Settings(anonymized_telemetry=False, allow_reset=False)
            with self._errors("Chroma cannot open it"):
                if self.url:
                    address = server_address(self.url)
                    self._client = chromadb.HttpClient(settings=settings, **address)
                else:
                    folder = str(self.root / "chroma")
                    self._client = chromadb.PersistentClient(path=folder, settings=settings)
        return self._client

    @contextmanager
    def _errors(self, doing: str | None) -> Iterator[None]:
        """Chroma's errors as qa's: a server's as StoreError; locally, a failed read
        (``doing`` says what failed) as damage, and a failed write (None) as it is."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            if self.url and _unreachable(exc):
                raise StoreError(
                    f"cannot reach the Chroma server at {self.url} ({_said(exc)})"
                ) from exc
            if self.url:
                raise StoreError(f"the Chroma server at {self.url} failed: {_said(exc)}") from exc
            if doing is None:
                raise
            raise damaged(self.root, f"{doing} ({exc})") from exc

    def _store_id(self) -> str:
        path = self.root / "store-id"
        with suppress(FileNotFoundError):
            return path.read_text(encoding="utf-8").strip()
        self.root.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".store-id-{uuid.uuid4().hex}")
        draft.write_text(uuid.uuid4().hex[:12] + "\n", encoding="utf-8")
        with suppress(FileExistsError):  # another run made one first: use theirs
            os.link(draft, path)
        draft.unlink()
        return path.read_text(encoding="utf-8").strip()

    def _set_aside(self, warn: Callable[[str], None]) -> None:
        """Local Chroma cannot open its own files, so every corpus in them has lost its
        vectors: move the folder aside (nothing is deleted) and name the corpora that
        are rebuilt, this one now and the others when next used."""
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        folder = self.root / "chroma"
        if not folder.exists():
            return
        aside = folder.with_name(f"chroma.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        folder.rename(aside)
        others = sorted(p.name for p in (self.root / "corpora").glob("*") if p.name != self.corpus)
        later = f"; the other corpora ({', '.join(others)}) when next used" if others else ""
        warn(
            f"Chroma's files in {folder} cannot be opened; moved them to {aside.name} "
            f"(delete it when done); rebuilding corpus {self.corpus} now{later}"
        )


def server_address(url: str) -> dict[str, Any]:
    """chromadb.HttpClient's arguments for a URL such as http://127.0.0.1:8000."""
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreError(f"bad Chroma server URL {url!r}; expected http://HOST:PORT")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 8000)
    except ValueError as exc:
        raise StoreError(f"bad Chroma server URL {url!r}; expected http://HOST:PORT") from exc
    return {"host": parts.hostname, "port": port, "ssl": parts.scheme == "https"}


def _unreachable(exc: BaseException) -> bool:
    """Whether an exception (or its cause) is a network failure, not damage."""
    import httpx

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (httpx.TransportError, ConnectionError, TimeoutError)):
            return True
        if "Could not connect to tenant" in str(seen) or "Connection refused" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _said(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def chunk_from_document(text: str, metadata: Mapping[str, Any]) -> Chunk:
    """A chunk rebuilt from its Chroma record (its text, and every other field as
    metadata; stores from before headings were kept have no ``context``)."""
    return Chunk.model_validate({**metadata, "text": text})


def _metadata(chunk: Chunk) -> dict[str, Any]:
    return chunk.model_dump(exclude={"text"})
