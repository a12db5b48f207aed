"""Bad input through the CLI: one clear line on stderr, the right exit code, no traceback.

`run` is the console script without its final ``os._exit``; the generator is scripted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qa.cli.main import run
from qa.pipeline import store_for
from qa.settings import Settings
from tests.fakes import ScriptedLLM


@pytest.fixture(autouse=True)
def llm(monkeypatch: pytest.MonkeyPatch) -> ScriptedLLM:
    scripted = ScriptedLLM(reply=" Madrid.")
    monkeypatch.setattr("qa.pipeline.LlamaCppLLM", lambda **_: scripted)
    return scripted


def qa(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ask", "--nosuch"], 2, "error: No such option: --nosuch (see `qa ask --help`)\n"),
        (["ask"], 2, "error: Missing argument 'question'. (see `qa ask --help`)\n"),
        (["nosuch"], 2, "error: No such command 'nosuch'. (see `qa --help`)\n"),
        (["eval"], 2, "error: Missing argument 'file'. (see `qa eval --help`)\n"),
        (["ask", ""], 1, "error: the question is empty\n"),
        (["ask", " \t\n "], 1, "error: the question is empty\n"),
        (["ask", "x" * 2001], 1, "error: the question is longer than 2000 characters\n"),
        (["ask", "q?", "--docs", "nowhere"], 1, "error: docs folder not found: nowhere\n"),
        (["index", "nowhere"], 1, "error: docs folder not found: nowhere\n"),
        (["eval", "missing.jsonl"], 1, "error: cannot read missing.jsonl: "),
    ],
)
def test_bad_arguments(
    capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    got, out, err = qa(capsys, *args)
    assert got == code
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert out == ""


@pytest.mark.parametrize(
    "question", ["?!?...", "¿Cuánto vale el contrato?", "合同价值多少？", "🙂"]
)
def test_odd_questions_are_answered_or_declined_not_errors(
    capsys: pytest.CaptureFixture[str], question: str
) -> None:
    """Which of the two depends on the fitted abstention model; either is one answer line
    with its sources, or the abstention line."""
    code, out, err = qa(capsys, "ask", question)
    assert code == 0, err
    answered = re.fullmatch(r"[^\n]+ \[1\]\n\n\[1\] seeds/[^\n]+\n    “[^\n]+”\n", out)
    assert answered or out == "I can't find that in the documents.\n", out


def test_unreadable_docs_folder(
    capsys: pytest.CaptureFixture[str], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests run as root here, so the permission error is raised for the folder."""
    (workdir / "locked").mkdir()

    def refuse(path: object) -> list[str]:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("qa.corpus.documents.os.listdir", refuse)
    code, _, err = qa(capsys, "index", "locked")
    assert (code, err) == (1, "error: cannot read docs folder locked: Permission denied\n")


def test_files_that_are_not_text_are_skipped_with_one_warning_each(
    capsys: pytest.CaptureFixture[str], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = workdir / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("The harbour opened in 1890.\n", encoding="utf-8")
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02PK")
    (docs / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (docs / "empty.txt").write_bytes(b"")
    (docs / "big.md").write_text("Big. " * 300, encoding="utf-8")
    monkeypatch.setenv("QA_MAX_FILE_BYTES", "1000")
    code, out, err = qa(capsys, "index", "docs")
    assert code == 0
    assert err.splitlines() == [
        "warning: skipped docs/big.md: larger than 1000 bytes",
        "warning: skipped docs/binary.txt: binary file",
        "warning: skipped docs/empty.txt: empty",
        "warning: skipped docs/latin1.txt: not UTF-8 (byte 3)",
    ]
    assert out.startswith("Indexed 5 files: 1 added")


def test_a_very_long_single_line_is_indexed_in_bounded_chunks(
    capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    docs = workdir / "docs"
    docs.mkdir()
    words = " ".join(f"word{i}" for i in range(4_000))  # 35 KB, no newline, no full stop
    (docs / "line.txt").write_text(words, encoding="utf-8")
    code, out, err = qa(capsys, "index", "docs")
    assert (code, err) == (0, "")
    assert out.startswith("Indexed 1 files: 1 added")
    chunks = store_for(Settings(docs=[docs])).chunks()
    assert max(len(c.text) for c in chunks) <= 600
    assert all(words[c.start : c.end] == c.text for c in chunks)


def test_symlink_loop_in_the_docs_folder(capsys: pytest.CaptureFixture[str], workdir: Path) -> None:
    docs = workdir / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "sub" / "a.txt").write_text("The harbour opened in 1890.\n", encoding="utf-8")
    (docs / "sub" / "loop").symlink_to(docs)
    code, out, err = qa(capsys, "index", "docs")
    assert (code, err) == (0, "")
    assert out.startswith("Indexed 1 files: 1 added")


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"answers": ["x"]}), "question: Field required"),
        (json.dumps({"question": 5}), "question:"),
        (json.dumps({"question": "Q?", "answers": "x"}), "answers:"),
    ],
)
def test_malformed_eval_line_is_named(
    capsys: pytest.CaptureFixture[str], workdir: Path, line: str, detail: str
) -> None:
    questions = workdir / "q.jsonl"
    questions.write_text(json.dumps({"question": "ok?"}) + "\n" + line + "\n", encoding="utf-8")
    code, _, err = qa(capsys, "eval", "q.jsonl")
    assert code == 1
    assert err.startswith(f"error: q.jsonl:2: {detail}")
    assert err.count("\n") == 1
