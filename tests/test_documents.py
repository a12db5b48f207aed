"""Tests for qa.corpus.documents: finding corpus files and reading their exact text."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from qa.corpus import documents
from qa.corpus.documents import Skipped, discover, read
from qa.errors import DocsError


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def found(roots: list[Path]) -> list[Path]:
    return [state.path for state in discover(roots)]


# --- discover ----------------------------------------------------------------


def test_discover_finds_txt_and_md_recursively_sorted(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    for name in ("zeta.md", "alpha.txt", "sub/beta.md", "sub/deeper/gamma.txt", "sub/upper.TXT"):
        write(root / name, "text")
    assert found([root]) == [
        (root / name).resolve()
        for name in (
            "alpha.txt",
            "sub/beta.md",
            "sub/deeper/gamma.txt",
            "sub/upper.TXT",
            "zeta.md",
        )
    ]


def test_discover_ignores_other_suffixes(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    for name in ("keep.txt", "a.PDF", "b.html", "c.txt.bak", "d.markdown", "noext", "e.rst"):
        write(root / name, "text")
    kept = [(root / name).resolve() for name in ("a.PDF", "b.html", "keep.txt")]
    assert found([root]) == kept


def test_discover_ignores_hidden_files_and_folders(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    write(root / "visible.md", "text")
    write(root / ".hidden.md", "text")
    write(root / ".git" / "notes.txt", "text")
    write(root / "sub" / ".secret" / "x.txt", "text")
    assert found([root]) == [(root / "visible.md").resolve()]


def test_discover_reports_size_and_mtime(tmp_path: Path) -> None:
    path = write(tmp_path / "docs" / "a.txt", "hello")
    os.utime(path, ns=(1_000_000_000, 2_000_000_000))
    [state] = discover([tmp_path / "docs"])
    assert state.path == path.resolve()
    assert state.size == 5
    assert state.mtime_ns == 2_000_000_000


def test_discover_accepts_a_file_root_and_merges_duplicates(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    a = write(root / "a.txt", "text")
    write(root / "b.md", "text")
    assert found([a]) == [a.resolve()]
    assert found([root, a]) == [a.resolve(), (root / "b.md").resolve()]


def test_discover_file_root_with_other_suffix_yields_nothing(tmp_path: Path) -> None:
    other = write(tmp_path / "doc.rst", "text")
    assert found([other]) == []


def test_discover_missing_root_raises_docs_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(DocsError, match="docs folder not found") as info:
        discover([missing])
    assert str(missing) in str(info.value)


def test_discover_empty_folder_is_empty(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert discover([tmp_path / "empty"]) == []


def test_discover_does_not_hang_on_symlink_loop(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    write(root / "sub" / "a.txt", "text")
    os.symlink(root, root / "sub" / "loop")
    os.symlink(root / "sub", root / "sub" / "self")
    result: list[list[Path]] = []
    worker = threading.Thread(target=lambda: result.append(found([root])), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "discover did not finish on a symlink loop"
    assert result == [[(root / "sub" / "a.txt").resolve()]]


def test_discover_follows_a_file_link_only_to_a_document_inside_the_roots(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    real = write(root / "sub" / "real.txt", "kept")
    write(tmp_path / "other" / "shared.md", "kept: its folder is a root too")
    secret = write(tmp_path / "home" / "secret.txt", "outside every root")
    keys = write(tmp_path / "home" / "id_rsa", "no document suffix")
    os.symlink(real, root / "alias.txt")
    os.symlink(secret, root / "secret.txt")
    os.symlink(keys, root / "notes.txt")
    os.symlink(tmp_path / "other" / "shared.md", root / "shared.md")
    assert found([root, tmp_path / "other"]) == [
        real.resolve(),
        (tmp_path / "other" / "shared.md").resolve(),
    ]
    assert found([root]) == [real.resolve()]
    assert found([root / "secret.txt"]) == [secret.resolve()]  # named directly: the user's call


# --- read ----------------------------------------------------------------------


def test_read_returns_exact_text_and_hash(tmp_path: Path) -> None:
    data = "Café ☕ costs 3€.\nNext line.\n".encode()
    path = write(tmp_path / "a.txt", data)
    doc = read(path, max_bytes=1000)
    assert doc.path == path
    assert doc.text == "Café ☕ costs 3€.\nNext line.\n"
    assert doc.sha256 == hashlib.sha256(data).hexdigest()


def test_read_keeps_crlf_so_offsets_are_exact(tmp_path: Path) -> None:
    path = write(tmp_path / "dos.txt", b"First line.\r\nSecond line.\r\n")
    doc = read(path, max_bytes=1000)
    assert doc.text == "First line.\r\nSecond line.\r\n"
    start = doc.text.index("Second")
    assert start == 13
    assert doc.text[start : start + 12] == "Second line."
    assert documents.read_text(path) == doc.text


def test_read_keeps_lone_cr(tmp_path: Path) -> None:
    path = write(tmp_path / "mac.txt", b"one\rtwo")
    assert read(path, max_bytes=100).text == "one\rtwo"


def test_read_skips_binary_file(tmp_path: Path) -> None:
    path = write(tmp_path / "bin.txt", b"looks like text\x00\x01\x02")
    with pytest.raises(Skipped, match="binary"):
        read(path, max_bytes=1000)


def test_read_skips_non_utf8_file(tmp_path: Path) -> None:
    path = write(tmp_path / "latin.txt", "caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(Skipped, match=r"not UTF-8 \(byte 3\)"):
        read(path, max_bytes=1000)


@pytest.mark.parametrize("data", [b"", b"   ", b"\n\n\r\n\t "])
def test_read_skips_empty_or_blank_file(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path / "blank.md", data)
    with pytest.raises(Skipped, match="empty"):
        read(path, max_bytes=1000)


def test_read_skips_file_over_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "x" * 101)
    with pytest.raises(Skipped, match="larger than 100 bytes"):
        read(path, max_bytes=100)


def test_read_accepts_file_exactly_at_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "edge.txt", "x" * 100)
    assert read(path, max_bytes=100).text == "x" * 100


def test_read_missing_file_is_skipped(tmp_path: Path) -> None:
    with pytest.raises(Skipped, match="unreadable"):
        read(tmp_path / "gone.txt", max_bytes=100)


def test_display_path_relative_inside_cwd(tmp_path: Path) -> None:
    # conftest chdirs into tmp_path
    assert documents.display_path(Path.cwd() / "sub" / "a.txt") == os.path.join("sub", "a.txt")
    outside = Path(os.path.abspath(os.sep)) / "elsewhere" / "b.txt"
    assert documents.display_path(outside) == str(outside)
