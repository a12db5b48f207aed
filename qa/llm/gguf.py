"""A GGUF model file of the user's own (``--llm-file``): checked before llama.cpp loads it,
so that a wrong file is one line that says what is wrong, never a crash or a model that
answers in a template it was not trained on.

Only the header is read: the magic, the version and the key-value metadata, where the
model's name (``general.name``), its chat template (``tokenizer.chat_template``) and its
vocabulary (for the text of its BOS and EOS tokens) are. qa's prompts are written in
ChatML; a model with another template has them rendered in its own
(``qa.llm.template``), which is tried on a short conversation here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

from qa.errors import ModelError
from qa.llm.template import check as check_template

# GGUF value types and their struct formats: the numbers and bool; 8 is a string, 9 an array.
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9
_MAX_ITEMS = 50_000_000  # a count past this is a damaged header, not a model
_WANTED = ("general.name", "tokenizer.chat_template")
_TOKEN_IDS = ("tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id")
_TOKENS = "tokenizer.ggml.tokens"


@dataclass(frozen=True)
class ModelFile:
    """A local GGUF model: where it is, its size, the name its metadata gives, and its
    chat template with the text of its BOS and EOS tokens."""

    path: Path
    size: int
    name: str
    template: str = ""
    bos: str = ""
    eos: str = ""

    @property
    def chatml(self) -> bool:
        """Whether its template is ChatML, the one qa's prompts are written in."""
        return "<|im_start|>" in self.template


def _read(stream: BinaryIO, fmt: str) -> int | float | bool:
    raw = stream.read(struct.calcsize(fmt))
    if len(raw) != struct.calcsize(fmt):
        raise ValueError("the header ends early")
    value: int | float | bool = struct.unpack("<" + fmt, raw)[0]
    return value


def _count(stream: BinaryIO) -> int:
    count = int(_read(stream, "Q"))
    if count > _MAX_ITEMS:
        raise ValueError(f"a count of {count}")
    return count


def _string(stream: BinaryIO, keep: bool = True) -> str:
    length = _count(stream)
    if not keep:
        stream.seek(length, 1)
        return ""
    raw = stream.read(length)
    if len(raw) != length:
        raise ValueError("the header ends early")
    return raw.decode("utf-8", errors="replace")


def _skip(stream: BinaryIO, kind: int) -> None:
    if kind == _STRING:
        _string(stream, keep=False)
    elif kind == _ARRAY:
        item, count = int(_read(stream, "I")), _count(stream)
        if item in _SCALARS:
            stream.seek(struct.calcsize(_SCALARS[item]) * count, 1)
        else:
            for _ in range(count):
                _skip(stream, item)
    elif kind in _SCALARS:
        _read(stream, _SCALARS[kind])
    else:
        raise ValueError(f"an unknown value type {kind}")


def metadata(stream: BinaryIO) -> dict[str, str]:
    """The string values of the wanted keys in a GGUF header (version 2 or 3), and the
    text of its BOS and EOS tokens ("bos", "eos") where it names them."""
    if stream.read(4) != b"GGUF":
        raise ValueError("it does not start as a GGUF file does")
    version = int(_read(stream, "I"))
    if version not in (2, 3):
        raise ValueError(f"GGUF version {version} (llama.cpp reads 2 and 3)")
    _count(stream)  # tensors
    found: dict[str, str] = {}
    ids: dict[str, int] = {}
    tokens: list[str] = []
    for _ in range(_count(stream)):
        key = _string(stream)
        kind = int(_read(stream, "I"))
        if key in _WANTED and kind == _STRING:
            found[key] = _string(stream)
        elif key in _TOKEN_IDS and kind in _SCALARS:
            ids[key.split(".")[-1]] = int(_read(stream, _SCALARS[kind]))
        elif key == _TOKENS and kind == _ARRAY and int(_read(stream, "I")) == _STRING:
            tokens = [_string(stream) for _ in range(_count(stream))]
        elif key == _TOKENS and kind == _ARRAY:
            raise ValueError("its vocabulary is not a list of strings")
        else:
            _skip(stream, kind)
    for name in ("bos", "eos"):
        at = ids.get(f"{name}_token_id")
        if at is not None and 0 <= at < len(tokens):
            found[name] = tokens[at]
    return found


def check_model(path: Path) -> ModelFile:
    """The model file at ``path``, if llama.cpp can run it with qa's prompts; else a
    ModelError that says why in one line. Read once per version of the file (reading
    the vocabulary for the BOS and EOS tokens takes a third of a second)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ModelError(f"no model file at {path}") from None
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror}") from None
    return _checked(path, stat.st_size, stat.st_mtime_ns)


@cache
def _checked(path: Path, size: int, mtime_ns: int) -> ModelFile:
    try:
        with path.open("rb") as stream:
            found = metadata(stream)
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModelError(f"no model file at {path}") from None
    except IsADirectoryError:
        raise ModelError(f"{path} is a folder; --llm-file takes a .gguf file") from None
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, struct.error) as exc:
        raise ModelError(f"{path} is not a GGUF model file: {exc}") from None
    template = found.get("tokenizer.chat_template")
    if not template:
        raise ModelError(
            f"{path} carries no chat template; qa needs an instruction-tuned model with one"
        )
    model = ModelFile(
        path,
        size,
        found.get("general.name") or path.stem,
        template,
        found.get("bos", ""),
        found.get("eos", ""),
    )
    if not model.chatml:
        try:
            check_template(model.template, model.bos, model.eos)
        except ModelError as exc:
            raise ModelError(f"{path}: {exc}") from None
    return model
