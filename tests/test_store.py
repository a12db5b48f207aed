"""Incremental indexing into a real Chroma store with the real embedding model."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from qa.corpus.documents import read_text
from qa.errors import DocsError, EmbedderMismatch, StoreDamaged
from qa.index.indexing import update
from qa.index.store import Store
from qa.models import Chunk, IndexProgress
from tests.stores import make_store


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_index_is_incremental(workdir: Path) -> None:
    docs = workdir / "docs"
    write(docs / "a.txt", "Alpha is the first letter. It comes before beta.")
    write(docs / "sub" / "b.md", "# Beta\n\nBeta is the second letter.")
    store = make_store(workdir, docs)

    first = update(store)
    assert (first.added, first.updated, first.removed, first.unchanged) == (2, 0, 0, 0)
    assert not store.is_stale()

    written = store.manifest_stamp()
    again = update(store)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 2)
    assert store.manifest_stamp() == written  # a run that changed nothing writes nothing
    os.utime(docs / "a.txt", ns=(1, 1))
    touched = update(store)
    assert touched.unchanged == 2 and store.manifest_stamp() != written  # the new time is kept

    write(docs / "a.txt", "Alpha changed. Gamma is the third letter.")
    assert store.is_stale()
    changed = update(store)
    assert (changed.added, changed.updated, changed.unchanged) == (0, 1, 1)

    (docs / "sub" / "b.md").unlink()
    removed = update(store)
    assert (removed.removed, removed.unchanged) == (1, 1)
    chunks = store.chunks()
    assert {Path(c.source).name for c in chunks} == {"a.txt"}
    assert store.vectors.count() == len(chunks)


def test_chunks_quote_their_files_exactly(workdir: Path) -> None:
    docs = workdir / "docs"
    write(docs / "crlf.txt", "Line one.\r\nLine two is here.\r\n\r\nA new paragraph starts.")
    store = make_store(workdir, docs)
    update(store)
    for chunk in store.chunks():
        assert read_text(Path(chunk.source))[chunk.start : chunk.end] == chunk.text


def test_touched_but_unchanged_file_is_not_reembedded(workdir: Path) -> None:
    docs = workdir / "docs"
    write(docs / "a.txt", "Alpha is the first letter.")
    store = make_store(workdir, docs)
    update(store)
    os.utime(docs / "a.txt", ns=(1, 1))
    report = update(store)
    assert (report.updated, report.unchanged) == (0, 1)


def test_a_touched_file_is_hashed_not_extracted_and_its_time_saved(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = workdir / "docs"
    write(docs / "a.txt", "Alpha is the first letter.")
    store = make_store(workdir, docs)
    update(store)
    os.utime(docs / "a.txt", ns=(10**18, 10**18))
    extracted: list[Path] = []
    monkeypatch.setattr("qa.corpus.formats.extract", lambda *a: extracted.append(a[0]) or "")
    assert store.is_stale()  # only touched, but its new time is to be saved
    report = update(store)
    assert (report.changed, report.unchanged) == (False, 1)
    assert (
        json.loads(store.manifest_path.read_text())["files"][str((docs / "a.txt").resolve())][
            "mtime_ns"
        ]
        == 10**18
    )
    assert not store.is_stale()
    assert extracted == []


def test_unreadable_files_are_skipped_with_a_warning(workdir: Path) -> None:
    docs = workdir / "docs"
    write(docs / "good.txt", "Good text lives here.")
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02")
    (docs / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    warnings: list[str] = []
    report = update(make_store(workdir, docs), warn=warnings.append)
    assert report.added == 1
    assert sorted(w.split(":")[0] for w in warnings) == [
        "skipped docs/binary.txt",
        "skipped docs/latin1.txt",
    ]


def test_empty_docs_folder_is_an_error(workdir: Path) -> None:
    (workdir / "empty").mkdir()
    with pytest.raises(DocsError, match=r"^no txt/md/pdf/html/htm/docx files in "):
        update(make_store(workdir, workdir / "empty"))


def test_damaged_manifest_is_rebuilt_by_itself_with_a_warning(workdir: Path) -> None:
    docs = workdir / "docs"
    write(docs / "a.txt", "Alpha is the first letter.")
    store = make_store(workdir, docs)
    update(store)
    store.manifest_path.write_text("{not json", encoding="utf-8")
    with pytest.raises(StoreDamaged, match=r"damaged: unreadable manifest"):
        store.is_stale()
    warnings: list[str] = []
    report = update(store, warn=warnings.append)
    assert report.added == 1
    assert warnings == [
        f"store {store.root} is damaged: unreadable manifest (Expecting property name "
        "enclosed in double quotes: line 1 column 2 (char 1)); rebuilding it from the documents"
    ]
    assert not store.is_stale()


def test_store_of_another_qa_version_or_shipped_model_is_rebuilt(workdir: Path) -> None:
    docs = workdir / "docs"
    write(docs / "a.txt", "Alpha is the first letter.")
    store = make_store(workdir, docs)
    update(store)
    for field, value, why in (
        ("version", 99, "built by another qa version (format 99)"),
        *(
            (
                "embedding_model",
                old,
                f"its vectors are by {old}, replaced by all-MiniLM-L6-v2 int8, 7-bit weights",
            )
            for old in ("all-MiniLM-L6-v2", "all-MiniLM-L6-v2 int8")
        ),
    ):
        raw = json.loads(store.manifest_path.read_text())
        raw[field] = value
        store.manifest_path.write_text(json.dumps(raw))
        with pytest.raises(StoreDamaged, match=re.escape(why)):
            store.is_stale()
        warnings: list[str] = []
        assert update(store, warn=warnings.append).added == 1
        assert warnings == [
            f"store {store.root} is damaged: {why}; rebuilding it from the documents"
        ]
        assert not store.is_stale()


def test_vectors_of_another_embedding_model_are_never_mixed(workdir: Path) -> None:
    docs = workdir / "docs"
    write(docs / "a.txt", "Alpha is the first letter.")
    store = make_store(workdir, docs)
    update(store)
    raw = json.loads(store.manifest_path.read_text())
    raw["embedding_model"] = "bge-large (server)"
    store.manifest_path.write_text(json.dumps(raw))
    said = (
        f"the index in {store.root} was embedded with bge-large (server), and this run embeds "
        "with all-MiniLM-L6-v2 int8, 7-bit weights: give the same --embed-url and --embed-model, "
        "or re-embed it with qa index --rebuild"
    )
    for attempt in (store.is_stale, lambda: update(store)):
        with pytest.raises(EmbedderMismatch) as caught:
            attempt()
        assert str(caught.value) == said
    assert update(store, rebuild=True).added == 1
    assert json.loads(store.manifest_path.read_text())["embedding_model"] == (
        "all-MiniLM-L6-v2 int8, 7-bit weights"
    )
    assert not store.is_stale()


def test_a_new_chunk_size_rechunks_every_file(workdir: Path) -> None:
    docs = workdir / "docs"
    write(docs / "a.txt", " ".join(f"Sentence number {i} is about letters." for i in range(40)))
    write(docs / "b.txt", "Beta is the second letter.")
    before = update(make_store(workdir, docs)).chunks
    store = make_store(workdir, docs, chunk_chars=200)
    said: list[str] = []
    assert store.is_stale()
    report = update(store, warn=said.append)
    assert said == ["chunk_chars changed from 600 to 200: re-chunking and re-embedding every file"]
    assert (report.added, report.unchanged) == (2, 0)
    assert report.chunks > before
    assert max(len(c.text) for c in store.chunks()) <= 200
    assert json.loads(store.manifest_path.read_text())["chunk_chars"] == 200
    assert store.vectors.count() == report.chunks
    assert not store.is_stale()


def test_a_chunk_list_replaced_while_read_leaves_no_mismatched_bm25_index(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = workdir / "docs"
    write(docs / "a.txt", "Alpha is the first letter.")
    store = make_store(workdir, docs)
    update(store)
    for old in store.folder.glob("lexical-*"):
        shutil.rmtree(old)
    read = Store.chunks

    def read_then_replaced(self: Store) -> list[Chunk]:
        chunks = read(self)
        text = self.chunks_path.read_text(encoding="utf-8")
        draft = self.chunks_path.with_name("draft")
        draft.write_text(text + text, encoding="utf-8")  # another run's list, in one rename
        draft.replace(self.chunks_path)
        return chunks

    monkeypatch.setattr(Store, "chunks", read_then_replaced)
    assert store.lexical().ids  # answers from what it read
    assert not list(store.folder.glob("lexical-*"))  # but saved nothing under the new stamp


def test_progress_counts_files_chunks_and_bytes(workdir: Path) -> None:
    docs = workdir / "docs"
    for i in range(3):
        write(docs / f"{i}.txt", f"Report {i} covers harbour traffic. " * 40)
    store = make_store(workdir, docs, chunk_chars=200)
    states: list[IndexProgress] = []
    report = update(store, progress=states.append)
    last = states[-1]
    assert (last.files_done, last.files_total) == (3, 3)
    assert last.chunks_done == report.chunks > 3
    assert last.bytes_done == last.bytes_total == sum(p.stat().st_size for p in docs.iterdir())
    assert last.seconds_left == 0.0
    done = [(s.files_done, s.chunks_done, s.bytes_done) for s in states]
    assert done == sorted(done)  # never goes back
    states.clear()
    update(store, progress=states.append)  # nothing changed: nothing to read or embed
    assert states == []
