"""A corpus's manifest (the files its index holds) and the plan of an index run.

``manifest.json`` has always been written by ``json.dumps(..., indent=1)`` with the
keys roots, embedding_model, chunk_chars, version and files (path -> sha256, size,
mtime_ns, chunks); ``Manifest`` keeps that shape, so stores built by earlier qa
versions open without a rebuild. ``plan`` is pure: it compares the files found with
a manifest by size and modification time, and reads nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from qa.corpus.documents import FileState

FORMAT_VERSION = 1


class FileEntry(BaseModel):
    """One indexed file: its content hash, the size and time it had, its chunk count."""

    model_config = ConfigDict(extra="forbid")

    sha256: str
    size: int
    mtime_ns: int
    chunks: int


class Manifest(BaseModel):
    """What a corpus's index holds, and how it was built."""

    model_config = ConfigDict(extra="forbid")

    roots: list[str]
    embedding_model: str
    chunk_chars: int
    version: int
    files: dict[str, FileEntry]

    @classmethod
    def empty(cls, roots: Sequence[Path], chunk_chars: int, embedding_model: str) -> Manifest:
        """The manifest of a corpus not indexed yet, by this qa and embedding model."""
        return cls(
            roots=[str(r) for r in roots],
            embedding_model=embedding_model,
            chunk_chars=chunk_chars,
            version=FORMAT_VERSION,
            files={},
        )

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """The manifest saved at path. ValueError, saying why for the damage message, when
        it is unreadable or was built by another qa version (the store checks the model)."""
        try:
            manifest = cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            why = f"{where}: {first['msg']}" if where else first["msg"]
            raise ValueError(f"unreadable manifest ({why})") from exc
        except (OSError, ValueError) as exc:
            raise ValueError(f"unreadable manifest ({exc})") from exc
        if manifest.version != FORMAT_VERSION:
            raise ValueError(f"built by another qa version (format {manifest.version})")
        return manifest

    def to_json(self) -> str:
        """The text saved on disk, byte for byte as qa has always written it."""
        return json.dumps(self.model_dump(), indent=1)


@dataclass(frozen=True)
class Plan:
    """What an index run does with each file found, before reading any of them."""

    unchanged: dict[str, FileEntry]
    """Files with the size and modification time the manifest records: kept as they are."""
    to_check: list[tuple[FileState, FileEntry | None]]
    """New files (no entry) and changed or only touched ones (their old entry)."""
    removed: list[str]
    """Files the manifest names that were not found."""

    @property
    def up_to_date(self) -> bool:
        return not self.to_check and not self.removed


def plan(found: Sequence[FileState], manifest: Manifest) -> Plan:
    """Compare the files found with the manifest by size and modification time; the
    files in to_check keep the order they were found in."""
    unchanged: dict[str, FileEntry] = {}
    to_check: list[tuple[FileState, FileEntry | None]] = []
    for state in found:
        old = manifest.files.get(str(state.path))
        if old and (old.size, old.mtime_ns) == (state.size, state.mtime_ns):
            unchanged[str(state.path)] = old
        else:
            to_check.append((state, old))
    seen = {str(state.path) for state in found}
    return Plan(unchanged, to_check, [path for path in manifest.files if path not in seen])
