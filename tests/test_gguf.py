"""A GGUF model of the user's own (``--llm-file``): its header is read and checked before
llama.cpp loads it; every wrong file is one line that says what is wrong."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.cli.main import run
from qa.errors import ModelError
from qa.llm.gguf import check_model
from qa.llm.model_files import model_path

CHATML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>{% endfor %}"


def string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf(path: Path, strings: dict[str, str], ids: dict[str, int] | None = None) -> Path:
    """A GGUF header with a number, an array of strings (as the vocabulary is), the
    given string values and the given token ids (uint32)."""
    pairs = [
        string("general.alignment") + struct.pack("<II", 4, 32),
        string("tokenizer.ggml.tokens")
        + struct.pack("<IIQ", 9, 8, 3)
        + b"".join(string(t) for t in ("<s>", "hello", "</s>")),
        *(string(key) + struct.pack("<I", 8) + string(value) for key, value in strings.items()),
        *(string(key) + struct.pack("<II", 4, value) for key, value in (ids or {}).items()),
    ]
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(pairs)) + b"".join(pairs))
    return path


def test_a_chatml_model_is_named_from_its_metadata(tmp_path: Path) -> None:
    named = {"general.name": "Tiny Chat", "tokenizer.chat_template": CHATML}
    path = gguf(tmp_path / "m.gguf", named)
    model = check_model(path)
    assert (model.path, model.name, model.size) == (path, "Tiny Chat", path.stat().st_size)


def folder(path: Path) -> Path:
    path.mkdir()
    return path


def text(path: Path) -> Path:
    path.write_text("hello")
    return path


def cut_short(path: Path) -> Path:
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 5))
    return path


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p, "no model file at"),
        (folder, "is a folder; --llm-file takes a .gguf file"),
        (text, "is not a GGUF model file"),
        (cut_short, "ends early"),
        (lambda p: gguf(p, {"general.name": "Base"}), "carries no chat template"),
        (lambda p: gguf(p, {"tokenizer.chat_template": "[INST] {{ x }} [/INST]"}), "leaves out"),
        (
            lambda p: gguf(p, {"tokenizer.chat_template": "{% for m in messages %}"}),
            "cannot be read",
        ),
    ],
)
def test_a_wrong_file_is_one_line_that_says_why(
    tmp_path: Path, make: Callable[[Path], Path], says: str
) -> None:
    with pytest.raises(ModelError) as caught:
        check_model(make(tmp_path / "m.gguf"))
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_the_cli_says_it_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "notes.gguf").write_text("not a model")
    code = run(["ask", "Who?", "--no-resident", "--llm-file", str(tmp_path / "notes.gguf")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_the_packaged_models_own_file_checks_and_is_named() -> None:
    model = check_model(model_path())
    assert "Qwen2.5" in model.name and model.size > 10**9


@pytest.mark.slow
def test_a_model_file_given_by_path_answers(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        [
            "ask",
            "How much is OpenAI's new Pentagon contract worth?",
            "--no-resident",
            "--llm-file",
            str(model_path()),
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.startswith("$200 million [1]")
