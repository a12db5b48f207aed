"""Find the corpus files and read their exact text.

Plain text is decoded from bytes without newline translation, so character
offsets computed here are offsets into exactly what a reader of the file sees;
PDF, HTML and DOCX files are read through ``qa.corpus.formats``, and offsets refer to
the text extracted from them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from qa.corpus import formats
from qa.errors import DocsError

SUFFIXES = formats.SUFFIXES


@dataclass(frozen=True)
class FileState:
    """A corpus file as found on disk, before reading it."""

    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Document:
    """A corpus file read as text."""

    path: Path
    text: str
    sha256: str


class Skipped(Exception):
    """A file that is not indexed, with the reason to warn about."""


def discover(roots: Iterable[Path]) -> list[FileState]:
    """List the readable files under the roots, sorted. Symlinked folders are not
    followed, and a symlinked file only when its target lies inside one of the
    roots and has a document suffix itself: a link cannot pull in a file from
    elsewhere on the machine. A root named directly is read even if it is a link."""
    roots = list(roots)
    inside = [root.resolve() for root in roots if root.is_dir()]
    found: dict[Path, FileState] = {}
    for root in roots:
        if not root.exists():
            raise DocsError(f"docs folder not found: {root}")
        if root.is_file():
            candidates: Iterable[Path] = [root]
        elif root.is_dir():
            try:
                os.listdir(root)
            except OSError as exc:
                raise DocsError(f"cannot read docs folder {root}: {exc.strerror}") from exc
            candidates = _walk(root)
        else:
            raise DocsError(f"not a file or folder: {root}")
        for path in candidates:
            if path.suffix.lower() not in SUFFIXES:
                continue
            resolved = path.resolve()
            if path != root and path.is_symlink() and not _kept_link(resolved, inside):
                continue
            try:
                stat = resolved.stat()
            except OSError:
                continue
            found[resolved] = FileState(resolved, stat.st_size, stat.st_mtime_ns)
    return [found[p] for p in sorted(found)]


def _kept_link(target: Path, inside: list[Path]) -> bool:
    return target.suffix.lower() in SUFFIXES and any(target.is_relative_to(r) for r in inside)


def _walk(root: Path) -> Iterable[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def read(path: Path, max_bytes: int) -> Document:
    """Read one file's text, or raise Skipped saying why it is left out."""
    try:
        if path.stat().st_size > max_bytes:
            raise Skipped(f"larger than {max_bytes} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise Skipped(f"unreadable ({exc.strerror})") from exc
    try:
        text = formats.extract(path.suffix.lower(), data)
    except formats.Unreadable as why:
        raise Skipped(str(why)) from why
    if not text.strip():
        raise Skipped("empty" if not data.strip() else "no text in it")
    return Document(path, text, hashlib.sha256(data).hexdigest())


def fingerprint(path: Path) -> str:
    """The SHA-256 of a file's bytes, as ``read`` records it: enough to tell a touched
    file from a changed one without extracting its text (a PDF parse)."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise Skipped(f"unreadable ({exc.strerror})") from exc


def read_text(path: Path) -> str:
    """The current text of a file, for checking quotes against it (OSError, or
    formats.Unreadable, a ValueError, when it can no longer be read)."""
    stat = path.stat()
    return _text(path, stat.st_size, stat.st_mtime_ns)


def text_holding(path: Path, start: int, end: int, quote: str) -> str | None:
    """The file's current text if it still holds ``quote`` at ``start:end``; None when
    it changed or can no longer be read. Every citation is checked this way."""
    try:
        text = read_text(path)
    except (OSError, ValueError):
        return None
    return text if text[start:end] == quote else None


@lru_cache(maxsize=64)
def _text(path: Path, size: int, mtime_ns: int) -> str:
    """Extraction is slow for large PDFs; size and mtime tell when to do it again."""
    return formats.extract(path.suffix.lower(), path.read_bytes())


def page(path: Path | str, text: str, offset: int) -> int | None:
    """The page of a PDF that holds the character at offset; None for other files."""
    return formats.page_of(text, offset) if str(path).lower().endswith(".pdf") else None


def display_path(path: Path) -> str:
    """A path relative to the working folder when it lies inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
