"""The local store: a Chroma collection per corpus, kept in step with the files.

Layout under the store folder::

    chroma/                 Chroma's persistent client (vectors + chunk text),
                            unless a Chroma server holds them (``chroma_url``)
    corpora/<name>/         one folder per corpus (a set of root paths)
        manifest.json       files indexed, with size, mtime and sha256
        chunks.jsonl        every chunk, with its offsets
        lexical-<stamp>/    BM25 index of chunks.jsonl (qa.lexical); the stamp is
                            chunks.jsonl's inode, size and mtime, so a stale one
                            is never read and a missing one is rebuilt
    store-id                with a Chroma server: this store's id in collection names

Indexing is incremental by content hash. New chunks are written before old ones
are deleted, and the manifest is replaced atomically last, so a run that dies
part-way leaves the previous index usable and the next run finishes the job.
Readers keep only chunks whose file hash matches the manifest, so they never mix
old and new text. A store whose files are damaged, or were written by another qa
version or embedding model, raises StoreDamaged; ``update`` then rebuilds it from
the documents, which are the source of truth. An error from a Chroma server (out of
reach, 5xx, a refused key) is never taken for damage: it is a StoreError, and
nothing local or on the server changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock, Timeout

from qa import documents
from qa.chunking import chunk_text
from qa.embeddings import MODEL_NAME, MiniLMEmbeddings
from qa.errors import DocsError, StoreDamaged, StoreError
from qa.lexical import LexicalIndex
from qa.models import Chunk, IndexReport, StoreInfo

if TYPE_CHECKING:
    from langchain_chroma import Chroma

FORMAT_VERSION = 1
KINDS = "/".join(s.lstrip(".") for s in documents.SUFFIXES)  # txt/md/pdf/html/htm/docx
Progress = Callable[[int, int], None]
Warn = Callable[[str], None]


@dataclass
class FileEntry:
    sha256: str
    size: int
    mtime_ns: int
    chunks: int


@dataclass
class Manifest:
    roots: list[str]
    embedding_model: str = MODEL_NAME
    chunk_chars: int = 600
    version: int = FORMAT_VERSION
    files: dict[str, FileEntry] = field(default_factory=dict)


def corpus_name(roots: Sequence[Path]) -> str:
    """A stable collection name for a set of root paths."""
    key = "\n".join(sorted(str(r.resolve()) for r in roots))
    return "qa-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _chunk_id(source: str, doc_hash: str, index: int) -> str:
    return f"{hashlib.sha256(source.encode()).hexdigest()[:16]}-{doc_hash[:16]}-{index}"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class Store:
    """One corpus in one store folder."""

    def __init__(
        self,
        root: Path,
        corpus: Sequence[Path],
        chunk_chars: int = 600,
        max_file_bytes: int = 0,
        chroma_url: str | None = None,
    ) -> None:
        self.root = root
        self.corpus = list(corpus)
        self.chunk_chars = chunk_chars
        self.max_file_bytes = max_file_bytes or 20_000_000
        self.chroma_url = chroma_url
        self.name = corpus_name(self.corpus)
        self.folder = root / "corpora" / self.name
        self._collections: dict[str, Chroma] = {}

    # -- reading ---------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    @property
    def chunks_path(self) -> Path:
        return self.folder / "chunks.jsonl"

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def manifest(self) -> Manifest:
        """The manifest on disk, or an empty one; a damaged one raises StoreError."""
        if not self.manifest_path.exists():
            return Manifest(roots=[str(r) for r in self.corpus], chunk_chars=self.chunk_chars)
        try:
            raw = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            files = {k: FileEntry(**v) for k, v in raw.pop("files").items()}
            manifest = Manifest(**raw, files=files)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise self._damaged(f"unreadable manifest ({exc})") from exc
        if manifest.version != FORMAT_VERSION or manifest.embedding_model != MODEL_NAME:
            raise self._damaged(
                f"built by another qa version or embedding model "
                f"({manifest.version}, {manifest.embedding_model})"
            )
        return manifest

    def chunks(self) -> list[Chunk]:
        """Every chunk of the corpus, in file order."""
        if not self.chunks_path.exists():
            if self.manifest().files:
                raise self._damaged("the chunk list is missing")
            return []
        try:
            lines = self.chunks_path.read_text(encoding="utf-8").split("\n")
        except (OSError, ValueError) as exc:
            raise self._damaged(f"unreadable chunk list ({exc})") from exc
        chunks = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                chunks.append(Chunk.model_validate_json(line))
            except ValueError as exc:
                first = str(exc).splitlines()[0]
                raise self._damaged(f"unreadable chunk list (line {number}: {first})") from exc
        return chunks

    def lexical(self) -> LexicalIndex:
        """The BM25 index of the chunk list, rebuilt and saved if missing or stale. The
        stamp is taken before the list is read and checked after, so an index run that
        replaces the list meanwhile cannot leave an old index under the new stamp."""
        try:
            stamp: Path | None = self._lexical_folder()
        except OSError:
            stamp = None
        with suppress(OSError, ValueError):
            if stamp is not None:
                return LexicalIndex.load(stamp)
        index = LexicalIndex.build(self._identified(self.chunks()))
        with suppress(OSError):  # a read-only store still answers
            if stamp is not None and self._lexical_folder() == stamp:
                self._save_lexical(index, stamp)
        return index

    def search(self, vector: list[float], k: int) -> list[Chunk]:
        """The k chunks nearest to a query vector, nearest first."""
        try:
            found = self.vectors().similarity_search_by_vector(vector, k=k)
            return [chunk_from_document(d.page_content, d.metadata) for d in found]
        except StoreError:
            raise
        except Exception as exc:
            raise self._failure(exc, "Chroma cannot search it") from exc

    def fetch(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids that Chroma holds, in the order asked."""
        if not ids:
            return []
        try:
            found = self.vectors().get(ids=list(ids), include=["documents", "metadatas"])
            by_id = {
                i: chunk_from_document(text, meta)
                for i, text, meta in zip(
                    found["ids"], found["documents"], found["metadatas"], strict=True
                )
            }
        except StoreError:
            raise
        except Exception as exc:
            raise self._failure(exc, "Chroma cannot read it") from exc
        return [by_id[i] for i in ids if i in by_id]

    def _identified(self, chunks: Iterable[Chunk]) -> list[tuple[str, Chunk]]:
        return [(_chunk_id(c.source, c.doc_hash, c.index), c) for c in chunks]

    def _lexical_folder(self) -> Path:
        """Where the BM25 index of the current chunk list lives (OSError without one)."""
        stat = self.chunks_path.stat()
        return self.folder / f"lexical-{stat.st_ino}-{stat.st_size}-{stat.st_mtime_ns}"

    def _save_lexical(self, index: LexicalIndex, folder: Path) -> None:
        index.save(folder)
        for old in [*self.folder.glob("lexical-*"), *self.folder.glob(".lexical-*.tmp-*")]:
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)

    def _damaged(self, why: str) -> StoreDamaged:
        return StoreDamaged(f"store {self.root} is damaged: {' '.join(why.split())}")

    def _failure(self, exc: Exception, doing: str) -> StoreError:
        """A Chroma error. From a server it is never damage (an outage, a 5xx, a refused
        key): a StoreError that changes nothing. Locally, Chroma's files are damaged."""
        if self.chroma_url and _unreachable(exc):
            return StoreError(f"cannot reach the Chroma server at {self.chroma_url} ({_said(exc)})")
        if self.chroma_url:
            return StoreError(f"the Chroma server at {self.chroma_url} failed: {_said(exc)}")
        return self._damaged(f"{doing} ({exc})")

    @cached_property
    def collection(self) -> str:
        """This corpus's Chroma collection. A server is shared, so there the name also
        carries the store folder's own id: each store gets collections of its own."""
        return f"{self.name}-{self._store_id()}" if self.chroma_url else self.name

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

    def vectors(self, collection: str | None = None) -> Chroma:
        """A Chroma collection (this corpus's by default), opened once, telemetry off."""
        name = collection or self.collection
        if name not in self._collections:
            self._collections[name] = self._open(name)
        return self._collections[name]

    def _open(self, collection: str) -> Chroma:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if self.chroma_url:
                client = chromadb.HttpClient(settings=settings, **server_address(self.chroma_url))
            else:
                folder = str(self.root / "chroma")
                client = chromadb.PersistentClient(path=folder, settings=settings)
            return Chroma(
                collection_name=collection,
                embedding_function=MiniLMEmbeddings(),
                client=client,
                collection_metadata={"hnsw:space": "cosine"},
            )
        except StoreError:
            raise
        except Exception as exc:
            raise self._failure(exc, "Chroma cannot open it") from exc

    def is_stale(self) -> bool:
        """Whether any file was added, changed, removed or only touched (its new time is
        then saved, so it is hashed once, not on every run) since the last index run."""
        if not self.exists():
            return True
        manifest = self.manifest()
        if manifest.chunk_chars != self.chunk_chars:
            return True
        found = documents.discover(self.corpus)
        if {str(f.path) for f in found} != set(manifest.files):
            return True
        for state in found:
            entry = manifest.files[str(state.path)]
            if (state.size, state.mtime_ns) == (entry.size, entry.mtime_ns):
                continue
            return True
        self.check_vectors(manifest)
        return False

    def check_vectors(self, manifest: Manifest) -> None:
        """StoreDamaged unless Chroma holds a vector for every indexed chunk."""
        wanted = sum(entry.chunks for entry in manifest.files.values())
        held = self._count()
        if held < wanted:
            raise self._damaged(f"{wanted - held} of {wanted} chunk vectors are missing")

    def info(self) -> StoreInfo:
        """Counts and state of this corpus's index, without loading any model."""
        manifest = self.manifest()
        indexed = self.exists()
        return StoreInfo(
            corpus=[str(r) for r in self.corpus],
            store=str(self.root),
            vectors_at=f"Chroma server {self.chroma_url}" if self.chroma_url else "local Chroma",
            indexed=indexed,
            up_to_date=indexed and not self.is_stale(),
            files=len(manifest.files),
            chunks=sum(e.chunks for e in manifest.files.values()),
            vectors=self._count() if indexed else 0,
            embedding_model=manifest.embedding_model,
        )

    def _count(self) -> int:
        try:
            return int(self.vectors()._collection.count())
        except StoreError:
            raise
        except Exception as exc:
            raise self._failure(exc, "Chroma cannot count it") from exc

    # -- writing ---------------------------------------------------------

    def lock(self, timeout: float = 600.0) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / ".lock"), timeout=timeout)

    def update(
        self, progress: Progress | None = None, warn: Warn | None = None, rebuild: bool = False
    ) -> IndexReport:
        """Bring the store in step with the corpus files, holding the store's lock
        (waiting for another run to finish); a damaged store is rebuilt, with a warning."""
        say = warn or (lambda _: None)
        lock = self.lock()
        try:
            lock.acquire(timeout=0)
        except Timeout:
            say(f"waiting for another qa run to finish indexing {self.root}")
            try:
                lock.acquire()
            except Timeout as exc:
                raise StoreError(f"store {self.root} is locked by another qa run") from exc
        try:
            return self._update(progress, say, rebuild)
        except StoreDamaged as damage:
            say(f"{damage}; rebuilding it from the documents")
            return self._update(progress, say, rebuild=True)
        finally:
            lock.release()

    def _update(self, progress: Progress | None, warn: Warn, rebuild: bool) -> IndexReport:
        started = time.perf_counter()
        found = documents.discover(self.corpus)
        if not found:
            raise DocsError(f"no {KINDS} files in " + _names(self.corpus))
        before = self.manifest().chunk_chars if self.exists() and not rebuild else None
        if before is not None and before != self.chunk_chars:
            warn(
                f"chunk_chars changed from {before} to {self.chunk_chars}: "
                "re-chunking and re-embedding every file"
            )
            rebuild = True
        if rebuild:
            self._drop(warn)
        manifest = self.manifest()
        report = IndexReport(files=len(found))
        kept: dict[str, FileEntry] = {}
        fresh: list[Chunk] = []
        for state in found:
            key = str(state.path)
            old = manifest.files.get(key)
            if old and (old.size, old.mtime_ns) == (state.size, state.mtime_ns):
                kept[key] = old
                report.unchanged += 1
                continue
            try:
                if old and documents.fingerprint(state.path) == old.sha256:  # only touched
                    kept[key] = FileEntry(old.sha256, state.size, state.mtime_ns, old.chunks)
                    report.unchanged += 1
                    continue
                doc = documents.read(state.path, self.max_file_bytes)
            except documents.Skipped as why:
                warn(f"skipped {documents.display_path(state.path)}: {why}")
                report.skipped.append(key)
                continue
            markdown = state.path.suffix.lower() == ".md"
            pieces = chunk_text(doc.text, key, doc.sha256, self.chunk_chars, markdown)
            fresh.extend(pieces)
            kept[key] = FileEntry(doc.sha256, state.size, state.mtime_ns, len(pieces))
            if old:
                report.updated += 1
            else:
                report.added += 1
        if not kept:
            raise DocsError(f"no readable {KINDS} files in " + _names(self.corpus))
        stale_ids = [
            _chunk_id(src, entry.sha256, i)
            for src, entry in manifest.files.items()
            if kept.get(src) is None or kept[src].sha256 != entry.sha256
            for i in range(entry.chunks)
        ]
        report.removed = sum(1 for src in manifest.files if src not in kept)
        if fresh or stale_ids or report.removed or not self.chunks_path.exists():
            self._write_vectors(fresh, stale_ids, progress)
            self._write_chunks(fresh, kept)
        else:  # _write_chunks saved a fresh BM25 index; otherwise repair a missing one
            self.check_vectors(manifest)
            self.lexical()
        manifest.files = kept
        manifest.chunk_chars = self.chunk_chars
        _write_atomic(
            self.manifest_path,
            json.dumps(
                {**manifest.__dict__, "files": {k: v.__dict__ for k, v in kept.items()}}, indent=1
            ),
        )
        report.chunks = sum(e.chunks for e in kept.values())
        report.seconds = time.perf_counter() - started
        return report

    def _write_vectors(
        self, fresh: list[Chunk], stale_ids: list[str], progress: Progress | None
    ) -> None:
        if not fresh and not stale_ids:
            return
        vectors = self.vectors()
        embedder = MiniLMEmbeddings()
        batch = 128
        try:
            for first in range(0, len(fresh), batch):
                part = fresh[first : first + batch]
                vectors._collection.upsert(
                    ids=[_chunk_id(c.source, c.doc_hash, c.index) for c in part],
                    embeddings=np.array(
                        embedder.embed_documents([c.searchable for c in part]), dtype=np.float32
                    ),
                    documents=[c.text for c in part],
                    metadatas=[_metadata(c) for c in part],
                )
                if progress:
                    progress(first + len(part), len(fresh))
            for first in range(0, len(stale_ids), 1000):
                vectors.delete(ids=stale_ids[first : first + 1000])
        except Exception as exc:
            if self.chroma_url:
                raise self._failure(exc, "") from exc
            raise

    def _write_chunks(self, fresh: list[Chunk], kept: dict[str, FileEntry]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        by_source = {c.source: c for c in fresh}
        old = [c for c in self.chunks() if c.source in kept and c.source not in by_source]
        old = [c for c in old if kept[c.source].sha256 == c.doc_hash]
        rows = sorted(old + fresh, key=lambda c: (c.source, c.index))
        _write_atomic(self.chunks_path, "".join(c.model_dump_json() + "\n" for c in rows))
        self._save_lexical(LexicalIndex.build(self._identified(rows)), self._lexical_folder())

    def _drop(self, warn: Warn) -> None:
        """Forget this corpus entirely, for a rebuild from the files. The vectors go
        first: a server that fails leaves the local files as they were."""
        try:
            self.vectors().delete_collection()
        except Exception as exc:
            if not self.chroma_url:
                self._set_chroma_aside(warn)
            elif isinstance(exc, StoreError):
                raise
            else:
                raise self._failure(exc, "") from exc
        self._collections.clear()
        if self.folder.exists():
            shutil.rmtree(self.folder)

    def _set_chroma_aside(self, warn: Warn) -> None:
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
        others = sorted(p.name for p in (self.root / "corpora").glob("*") if p != self.folder)
        later = f"; the other corpora ({', '.join(others)}) when next used" if others else ""
        warn(
            f"Chroma's files in {folder} cannot be opened; moved them to {aside.name} "
            f"(delete it when done); rebuilding corpus {self.name} now{later}"
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


def _names(roots: Iterable[Path]) -> str:
    return ", ".join(str(r) for r in roots)


def chunk_from_document(text: str, metadata: Mapping[str, Any]) -> Chunk:
    """A chunk rebuilt from its Chroma record."""
    return Chunk(
        text=text,
        source=metadata["source"],
        start=metadata["start"],
        end=metadata["end"],
        line_start=metadata["line_start"],
        line_end=metadata["line_end"],
        doc_hash=metadata["doc_hash"],
        index=metadata["index"],
        context=metadata.get("context", ""),
    )


def _metadata(chunk: Chunk) -> dict[str, Any]:
    return {
        "source": chunk.source,
        "start": chunk.start,
        "end": chunk.end,
        "line_start": chunk.line_start,
        "line_end": chunk.line_end,
        "doc_hash": chunk.doc_hash,
        "index": chunk.index,
        "context": chunk.context,
    }
