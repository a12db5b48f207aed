"""An index run: bring one corpus's store in step with its files.

The order of writes is what makes a run safe to kill at any point: the new chunks'
vectors first, then the old ones deleted, then the chunk list with its BM25 index,
and the manifest last, atomically. A file whose size and time are unchanged is not
opened; one that was only touched is hashed, not read. One run at a time per store
(a file lock); a damaged store is rebuilt from the documents, with a warning.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import Timeout

from qa.corpus import documents
from qa.corpus.chunking import chunk_text
from qa.errors import DocsError, StoreDamaged, StoreError
from qa.index.manifest import FileEntry, plan
from qa.index.store import row
from qa.index.vectors import chunk_id
from qa.models import Chunk, IndexProgress, IndexReport

if TYPE_CHECKING:
    from qa.corpus.documents import FileState
    from qa.index.store import ChunkRow, Progress, Store, Warn

KINDS = "/".join(s.lstrip(".") for s in documents.SUFFIXES)  # txt/md/pdf/html/htm/docx
EMBED_BATCH = 128


def update(
    store: Store,
    progress: Progress | None = None,
    warn: Warn | None = None,
    rebuild: bool = False,
) -> IndexReport:
    """Bring the store in step with the corpus files: index what changed, holding the
    store's lock (waiting for another run to finish)."""
    warn = warn or (lambda _: None)
    lock = store.lock()
    try:
        lock.acquire(timeout=0)
    except Timeout:
        warn(f"waiting for another qa run to finish indexing {store.root}")
        try:
            lock.acquire()
        except Timeout as exc:
            raise StoreError(f"store {store.root} is locked by another qa run") from exc
    try:
        return _run(store, progress, warn, rebuild)
    except StoreDamaged as damage:
        warn(f"{damage}; rebuilding it from the documents")
        return _run(store, progress, warn, rebuild=True)
    finally:
        lock.release()


def _run(store: Store, progress: Progress | None, warn: Warn, rebuild: bool) -> IndexReport:
    """Act on the plan: hash the files it says changed (only touched ones keep their
    chunks), read and chunk the rest, embedding and writing vectors as files are read,
    then delete stale vectors and write the chunk list and the manifest."""
    started = time.perf_counter()
    found = documents.discover(store.corpus)
    if not found:
        raise DocsError(f"no {KINDS} files in " + _names(store.corpus))
    old = None if rebuild else store.manifest()  # a rebuild must not read a damaged one
    if old is not None and old.chunk_chars != store.chunk_chars:
        warn(
            f"chunk_chars changed from {old.chunk_chars} to {store.chunk_chars}: "
            "re-chunking and re-embedding every file"
        )
        old = None
    if old is None:  # a rebuild: forget the corpus, then start from an empty manifest
        store.drop(warn)
        old = store.manifest()
    todo = plan(found, old)
    report = IndexReport(files=len(found), unchanged=len(todo.unchanged))
    kept = dict(todo.unchanged)
    writer = _VectorWriter(store, todo.to_check, progress, started)
    for state, entry in todo.to_check:
        key = str(state.path)
        try:
            if entry and documents.fingerprint(state.path) == entry.sha256:  # only touched
                kept[key] = entry.model_copy(
                    update={"size": state.size, "mtime_ns": state.mtime_ns}
                )
                report.unchanged += 1
                writer.file_done(state.size)
                continue
            doc = documents.read(state.path, store.max_file_bytes)
        except documents.Skipped as why:
            warn(f"skipped {documents.display_path(state.path)}: {why}")
            report.skipped.append(key)
            writer.file_done(state.size)
            continue
        markdown = state.path.suffix.lower() == ".md"
        pieces = chunk_text(doc.text, key, doc.sha256, store.chunk_chars, markdown)
        writer.add(pieces)
        writer.file_done(state.size)
        kept[key] = FileEntry(
            sha256=doc.sha256, size=state.size, mtime_ns=state.mtime_ns, chunks=len(pieces)
        )
        if entry:
            report.updated += 1
        else:
            report.added += 1
    writer.finish()
    if not kept:
        raise DocsError(f"no readable {KINDS} files in " + _names(store.corpus))
    stale_ids = [
        chunk_id(src, entry.sha256, i)
        for src, entry in old.files.items()
        if kept.get(src) is None or kept[src].sha256 != entry.sha256
        for i in range(entry.chunks)
    ]
    report.removed = sum(1 for src in old.files if src not in kept)
    if writer.fresh or stale_ids or report.removed or not store.chunks_path.exists():
        store.vectors.delete(stale_ids)
        store.save_chunks(writer.fresh, kept)
    else:  # save_chunks saved a fresh BM25 index; otherwise repair a missing one
        store.check_vectors(old)
        store.lexical()
    in_found_order = {str(s.path): kept[str(s.path)] for s in found if str(s.path) in kept}
    manifest = old.model_copy(update={"files": in_found_order, "chunk_chars": store.chunk_chars})
    if manifest != old or not store.exists():  # a run that changed nothing writes nothing
        store.save_manifest(manifest)
    report.chunks = sum(e.chunks for e in kept.values())
    report.seconds = time.perf_counter() - started
    return report


class _VectorWriter:
    """Embeds new chunks in batches as the files are read and writes their vectors,
    so a big corpus never waits in memory for its vectors; keeps each written chunk
    only as its chunk-list row (a JSON line), and reports progress."""

    def __init__(
        self,
        store: Store,
        to_check: list[tuple[FileState, FileEntry | None]],
        progress: Progress | None,
        started: float,
    ) -> None:
        self.store = store
        self.progress = progress
        self.started = started
        self.fresh: list[ChunkRow] = []
        self.pending: list[Chunk] = []
        self.state = IndexProgress(
            files_total=len(to_check), bytes_total=sum(s.size for s, _ in to_check)
        )

    def add(self, chunks: list[Chunk]) -> None:
        self.pending.extend(chunks)
        while len(self.pending) >= EMBED_BATCH:
            self._write(self.pending[:EMBED_BATCH])
            self.pending = self.pending[EMBED_BATCH:]

    def file_done(self, size: int) -> None:
        self.state.files_done += 1
        self.state.bytes_done += size
        self._report()

    def finish(self) -> None:
        if self.pending:
            self._write(self.pending)
            self.pending = []

    def _write(self, batch: list[Chunk]) -> None:
        vectors = self.store.embedder.embed_documents([c.searchable for c in batch])
        self.store.vectors.upsert(batch, np.array(vectors, dtype=np.float32))
        self.fresh.extend(row(c) for c in batch)
        self.state.chunks_done += len(batch)
        self._report()

    def _report(self) -> None:
        if self.progress:
            self.state.seconds = time.perf_counter() - self.started
            self.progress(self.state.model_copy())


def _names(roots: Iterable[Path]) -> str:
    return ", ".join(str(r) for r in roots)
