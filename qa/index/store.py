"""The local store: one corpus's index, kept in step with the files.

Layout under the store folder::

    chroma/                 Chroma's persistent client (vectors + chunk text),
                            unless a Chroma server holds them (``chroma_url``)
    corpora/<name>/         one folder per corpus (a set of root paths)
        manifest.json       files indexed, with size, mtime and sha256
        chunks.jsonl        every chunk, with its offsets
        lexical-<stamp>/    BM25 index of chunks.jsonl (qa.index.lexical); the stamp is
                            chunks.jsonl's inode, size and mtime, so a stale one
                            is never read and a missing one is rebuilt
    store-id                with a Chroma server: this store's id in collection names

``Store`` is a facade over parts each testable alone: the manifest and the pure
plan of a run that compares it with the files found (``qa.index.manifest``), the Chroma
collection with its error mapping (``qa.index.vectors``), and the BM25 index
(``qa.index.lexical``). It keeps the chunk list and the lock; an index run, and the order
of its writes, is ``qa.index.indexing``.

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
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from pathlib import Path

from filelock import FileLock

from qa.corpus import documents
from qa.errors import EmbedderMismatch, StoreDamaged
from qa.index.embeddings import SHIPPED, Embedder
from qa.index.lexical import LexicalIndex
from qa.index.manifest import FileEntry, Manifest, plan
from qa.index.vectors import Vectors, chunk_id, damaged
from qa.models import Chunk, IndexProgress, StoreInfo

Progress = Callable[[IndexProgress], None]
Warn = Callable[[str], None]


def corpus_name(roots: Sequence[Path]) -> str:
    """A stable collection name for a set of root paths."""
    key = "\n".join(sorted(str(r.resolve()) for r in roots))
    return "qa-" + hashlib.sha256(key.encode()).hexdigest()[:16]


Stamp = tuple[int, int, int]


def stamp(path: Path) -> Stamp | None:
    """A file's inode, size and modification time, or None when it is missing."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns


def _write_atomic(path: Path, text: str | Iterable[str]) -> None:
    """Replace a file with the text (or the lines, written one by one) all at once."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.writelines([text] if isinstance(text, str) else text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class Store:
    """One corpus in one store folder."""

    def __init__(
        self,
        root: Path,
        corpus: Sequence[Path],
        chunk_chars: int,
        max_file_bytes: int,
        chroma_url: str | None,
        embedder: Embedder,
    ) -> None:
        self.root = root
        self.corpus = list(corpus)
        self.chunk_chars = chunk_chars
        self.max_file_bytes = max_file_bytes
        self.chroma_url = chroma_url
        self.embedder = embedder
        self.name = corpus_name(self.corpus)
        self.folder = root / "corpora" / self.name
        self.vectors = Vectors(root, self.name, chroma_url)
        self.written: Stamp | None = None  # the manifest this object last wrote

    # -- reading ---------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    @property
    def chunks_path(self) -> Path:
        return self.folder / "chunks.jsonl"

    @property
    def collection(self) -> str:
        """This corpus's Chroma collection (see ``Vectors.collection``)."""
        return self.vectors.collection

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def manifest(self) -> Manifest:
        """The manifest on disk, or an empty one. A damaged one raises StoreDamaged, as
        does one by the in-process model a qa upgrade replaced (the store is rebuilt);
        one by any other embedding model raises EmbedderMismatch: vectors never mix."""
        if not self.manifest_path.exists():
            return Manifest.empty(self.corpus, self.chunk_chars, self.embedder.name)
        try:
            manifest = Manifest.load(self.manifest_path)
        except ValueError as exc:
            raise self._damaged(str(exc)) from exc
        made_by, wanted = manifest.embedding_model, self.embedder.name
        if made_by != wanted:
            if made_by in SHIPPED and wanted in SHIPPED:
                raise self._damaged(f"its vectors are by {made_by}, replaced by {wanted}")
            raise EmbedderMismatch(
                f"the index in {self.root} was embedded with {made_by}, and this run "
                f"embeds with {wanted}: give the same --embed-url and --embed-model, "
                "or re-embed it with qa index --rebuild"
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
            folder: Path | None = self._lexical_folder()
        except OSError:
            folder = None
        with suppress(OSError, ValueError):
            if folder is not None:
                return LexicalIndex.load(folder)
        index = LexicalIndex.build(_identified(self.chunks()))
        with suppress(OSError):  # a read-only store still answers
            if folder is not None and self._lexical_folder() == folder:
                self._save_lexical(index, folder)
        return index

    def search(self, vector: list[float], k: int) -> list[Chunk]:
        """The k chunks nearest to a query vector, nearest first."""
        return self.vectors.search(vector, k)

    def fetch(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids that Chroma holds, in the order asked."""
        return self.vectors.fetch(ids)

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
        return damaged(self.root, why)

    def is_stale(self) -> bool:
        """Whether any file was added, changed, removed or only touched (its new time is
        then saved, so it is hashed once, not on every run) since the last index run."""
        if not self.exists():
            return True
        current = self.manifest()
        if current.chunk_chars != self.chunk_chars:
            return True
        if not plan(documents.discover(self.corpus), current).up_to_date:
            return True
        self.check_vectors(current)
        return False

    def check_vectors(self, manifest: Manifest) -> None:
        """StoreDamaged unless Chroma holds a vector for every indexed chunk."""
        wanted = sum(entry.chunks for entry in manifest.files.values())
        held = self.vectors.count()
        if held < wanted:
            raise self._damaged(f"{wanted - held} of {wanted} chunk vectors are missing")

    def info(self) -> StoreInfo:
        """Counts and state of this corpus's index, without loading any model."""
        current = self.manifest()
        indexed = self.exists()
        return StoreInfo(
            corpus=[str(r) for r in self.corpus],
            store=str(self.root),
            vectors_at=f"Chroma server {self.chroma_url}" if self.chroma_url else "local Chroma",
            indexed=indexed,
            up_to_date=indexed and not self.is_stale(),
            files=len(current.files),
            chunks=sum(e.chunks for e in current.files.values()),
            vectors=self.vectors.count() if indexed else 0,
            embedding_model=self.embedder.description,
        )

    # -- writing ---------------------------------------------------------

    def lock(self, timeout: float = 600.0) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / ".lock"), timeout=timeout)

    def save_chunks(self, fresh: list[ChunkRow], kept: dict[str, FileEntry]) -> None:
        """Write the chunk list (the new chunks, and the old ones of files kept as they
        were), then its BM25 index from the list as written. Chunks travel as JSON lines
        and are parsed one at a time: at 50 MB of documents, 127,000 chunk objects took
        290 MB. ``fresh`` is emptied, so that the rows are freed before BM25 is built."""
        self.folder.mkdir(parents=True, exist_ok=True)
        renewed = {source for source, _, _ in fresh}
        old = [
            row(c)
            for c in self.chunks()
            if c.source not in renewed and c.source in kept and kept[c.source].sha256 == c.doc_hash
        ]
        rows = sorted(old + fresh)
        fresh.clear()
        del old
        _write_atomic(self.chunks_path, (line + "\n" for _, _, line in rows))
        rows.clear()
        with self.chunks_path.open(encoding="utf-8") as lines:
            parsed = (Chunk.model_validate_json(line) for line in lines)
            index = LexicalIndex.build(_identified(parsed))
        self._save_lexical(index, self._lexical_folder())

    def save_manifest(self, manifest: Manifest) -> None:
        """Replace the manifest atomically: the last write of an index run."""
        _write_atomic(self.manifest_path, manifest.to_json())
        self.written = stamp(self.manifest_path)

    def manifest_stamp(self) -> Stamp | None:
        """The manifest file's identity now: every index run that changes the store
        replaces the file, so a long-lived reader can tell another process's run."""
        return stamp(self.manifest_path)

    def drop(self, warn: Warn) -> None:
        """Forget this corpus entirely, for a rebuild from the files. The vectors go
        first: a server that fails leaves the local files as they were."""
        self.vectors.drop(warn)
        if self.folder.exists():
            shutil.rmtree(self.folder)


def _identified(chunks: Iterable[Chunk]) -> Iterator[tuple[str, Chunk]]:
    return ((chunk_id(c.source, c.doc_hash, c.index), c) for c in chunks)


ChunkRow = tuple[str, int, str]
"""A chunk as the chunk list holds it: its source and index (the list's order), and
its JSON line."""


def row(chunk: Chunk) -> ChunkRow:
    return chunk.source, chunk.index, chunk.model_dump_json()
