"""The saved BM25 index: built by `qa index`, memory-mapped by readers, rebuilt
when missing or out of date, and never a way to read chunks of an old file version."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from qa.answer import retriever as retriever_module
from qa.answer.retriever import Retriever
from qa.index.embeddings import MiniLMEmbeddings
from qa.index.indexing import update
from qa.index.lexical import LexicalIndex
from qa.index.store import Store
from qa.models import Chunk
from tests.stores import make_store

ZOO = "The city zoo opened in 1921. Its oldest resident is a tortoise named Harriet.\n"
TRAINS = "The night train leaves at ten. It reaches the coast by dawn. Trains run daily.\n"


@pytest.fixture
def store(workdir: Path) -> Store:
    docs = workdir / "docs"
    docs.mkdir()
    (docs / "zoo.txt").write_text(ZOO, encoding="utf-8")
    (docs / "trains.txt").write_text(TRAINS, encoding="utf-8")
    store = make_store(workdir, docs, chunk_chars=60)
    update(store)
    return store


def lexical_folders(store: Store) -> list[Path]:
    return sorted(store.folder.glob("lexical-*"))


def chunk(text: str, index: int = 0) -> Chunk:
    return Chunk(
        source="/docs/a.txt",
        start=0,
        end=len(text),
        line_start=1,
        line_end=1,
        text=text,
        doc_hash="0" * 64,
        index=index,
    )


def test_index_run_saves_one_lexical_index_that_a_new_reader_loads(store: Store) -> None:
    [folder] = lexical_folders(store)
    loaded = LexicalIndex.load(folder)
    assert loaded.size == len(store.chunks())
    [best, *_] = store.fetch(loaded.search("Who is the tortoise?", 3))
    assert "tortoise named Harriet" in best.text


def test_search_ranks_by_bm25_and_ignores_unknown_and_stop_words() -> None:
    index = LexicalIndex.build(
        [
            ("a", chunk("Trains and more trains leave the station.")),
            ("b", chunk("A train left.", 1)),
            ("c", chunk("The zoo is closed.", 2)),
        ]
    )
    assert index.search("trains", 3) == ["a", "b"]
    assert index.search("the and of", 3) == []
    assert index.search("giraffes", 3) == []
    assert index.document_frequency("train") == 2
    assert index.document_frequency("zoo") == 1
    assert index.document_frequency("giraff") == 0


def test_empty_index_finds_nothing(tmp_path: Path) -> None:
    empty = LexicalIndex.build([])
    empty.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    assert loaded.search("anything", 5) == []
    assert loaded.document_frequency("anything") == 0


def test_missing_lexical_index_is_rebuilt_and_saved(store: Store) -> None:
    [folder] = lexical_folders(store)
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    assert store.lexical().size == len(store.chunks())
    assert lexical_folders(store) == [folder]


def test_damaged_lexical_index_is_rebuilt(store: Store) -> None:
    [folder] = lexical_folders(store)
    (folder / "ids.json").write_text("[1, 2", encoding="utf-8")
    assert store.lexical().size == len(store.chunks())
    assert lexical_folders(store) == [folder]


def test_index_of_an_older_chunk_list_is_never_read(store: Store) -> None:
    [old] = lexical_folders(store)
    text = store.chunks_path.read_text(encoding="utf-8")
    store.chunks_path.write_text(text.splitlines(keepends=True)[0], encoding="utf-8")
    assert store.lexical().size == 1
    [new] = lexical_folders(store)
    assert new != old


def test_unchanged_reindex_rewrites_nothing(store: Store) -> None:
    before = store.chunks_path.stat().st_mtime_ns, lexical_folders(store)
    report = update(store)
    assert report.unchanged == 2
    assert (store.chunks_path.stat().st_mtime_ns, lexical_folders(store)) == before


def test_retriever_ignores_chunks_of_another_file_version(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed after writing new vectors, before the manifest, leaves chunks of
    a version the manifest does not name; readers must not answer from them (searched
    for, as in a corpus too big to be read whole)."""
    monkeypatch.setattr(retriever_module, "WHOLE_CORPUS_BYTES", 0)
    zoo = next(c for c in store.chunks() if "Harriet" in c.text)
    planted = zoo.model_copy(
        update={
            "text": "Its oldest resident is a tortoise named Boris.",
            "doc_hash": "f" * 64,
            "start": 200,
            "index": 9,
        }
    )
    vector = MiniLMEmbeddings().embed_documents([planted.searchable])
    store.vectors.upsert([planted], np.array(vector, dtype=np.float32))
    retriever = Retriever(store, top_k=6)
    passages = retriever.passages("What is the tortoise named?")
    texts = [s.text for p in passages for s in p.sentences]
    assert "Its oldest resident is a tortoise named Harriet." in texts
    assert not any("Boris" in t for t in texts)


def test_lexical_index_survives_a_read_only_store(store: Store) -> None:
    [folder] = lexical_folders(store)
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    os.chmod(store.folder, 0o555)
    try:
        assert store.lexical().size == len(store.chunks())
    finally:
        os.chmod(store.folder, 0o755)
