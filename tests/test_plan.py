"""The plan of an index run, and the manifest's shape on disk: pure, no files read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.corpus.documents import FileState
from qa.index.manifest import FileEntry, Manifest, plan

A, B, C = Path("/docs/a.txt"), Path("/docs/b.md"), Path("/docs/c.pdf")


def entry(size: int, mtime_ns: int, sha256: str = "0" * 64, chunks: int = 2) -> FileEntry:
    return FileEntry(sha256=sha256, size=size, mtime_ns=mtime_ns, chunks=chunks)


def manifest(**files: FileEntry) -> Manifest:
    empty = Manifest.empty(
        [Path("/docs")], chunk_chars=600, embedding_model="all-MiniLM-L6-v2 int8"
    )
    return empty.model_copy(update={"files": {f"/docs/{k}": v for k, v in files.items()}})


def test_nothing_indexed_yet_means_every_file_is_new() -> None:
    found = [FileState(A, 10, 1), FileState(B, 20, 2)]
    todo = plan(found, manifest())
    assert todo.to_check == [(found[0], None), (found[1], None)]
    assert (todo.unchanged, todo.removed, todo.up_to_date) == ({}, [], False)


def test_same_size_and_time_is_unchanged() -> None:
    old = entry(10, 1)
    todo = plan([FileState(A, 10, 1)], manifest(**{"a.txt": old}))
    assert todo.unchanged == {str(A): old}
    assert (todo.to_check, todo.removed, todo.up_to_date) == ([], [], True)


@pytest.mark.parametrize("size, mtime_ns", [(11, 1), (10, 2), (0, 0)])
def test_another_size_or_time_is_checked_with_its_old_entry(size: int, mtime_ns: int) -> None:
    old = entry(10, 1)
    state = FileState(A, size, mtime_ns)
    todo = plan([state], manifest(**{"a.txt": old}))
    assert todo.to_check == [(state, old)]
    assert (todo.unchanged, todo.up_to_date) == ({}, False)


def test_files_not_found_are_removed_and_the_found_order_is_kept() -> None:
    kept, gone = entry(10, 1), entry(5, 5)
    found = [FileState(A, 10, 1), FileState(B, 1, 1), FileState(C, 3, 3)]
    todo = plan(found, manifest(**{"a.txt": kept, "c.pdf": entry(4, 4), "gone.txt": gone}))
    assert todo.unchanged == {str(A): kept}
    assert [state.path for state, _ in todo.to_check] == [B, C]
    assert [old is None for _, old in todo.to_check] == [True, False]
    assert todo.removed == ["/docs/gone.txt"]
    assert not todo.up_to_date


def test_only_removed_files_are_not_up_to_date() -> None:
    todo = plan([], manifest(**{"a.txt": entry(10, 1)}))
    assert (todo.unchanged, todo.to_check, todo.removed) == ({}, [], [str(A)])
    assert not todo.up_to_date


def test_manifest_json_keeps_the_shape_stores_were_written_in() -> None:
    """Stores built before the manifest was a pydantic model open without a rebuild."""
    written = manifest(**{"a.txt": entry(10, 1, "f" * 64, 3)}).to_json()
    as_before = {
        "roots": ["/docs"],
        "embedding_model": "all-MiniLM-L6-v2 int8",
        "chunk_chars": 600,
        "version": 1,
        "files": {"/docs/a.txt": {"sha256": "f" * 64, "size": 10, "mtime_ns": 1, "chunks": 3}},
    }
    assert written == json.dumps(as_before, indent=1)
    assert Manifest.model_validate(json.loads(written)) == manifest(
        **{"a.txt": entry(10, 1, "f" * 64, 3)}
    )
