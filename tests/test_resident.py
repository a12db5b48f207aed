"""The resident process behind one-shot ``qa ask``: one per settings and folder,
fresh documents on every answer, retired when another process re-indexes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qa import api
from qa.cli import resident
from qa.cli.main import app
from qa.pipeline import Pipeline
from qa.settings import Settings
from tests.fakes import ScriptedLLM

QUESTION = "How much is OpenAI's new Pentagon contract worth?"
ARTICLE = Path("seeds/openai-dod-microsoft.txt")
runner = CliRunner()


@pytest.fixture
def run_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short private runtime folder (a socket's path must stay under 108 bytes), and
    every resident process started in it stopped afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="qa-run-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("QA_RESIDENT", "true")
    yield folder / "qa"
    resident.stop_all()
    shutil.rmtree(folder, ignore_errors=True)


def scripted(settings: Settings) -> Pipeline:
    return Pipeline(settings, llm=ScriptedLLM(reply=" $200 million."))


def test_one_process_per_settings_folder_and_code(
    run_dir: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = Settings()
    here = resident.socket_path(base)
    assert here is not None and here.parent == run_dir
    assert resident.socket_path(Settings()) == here
    assert resident.socket_path(Settings(top_k=3)) != here
    assert resident.socket_path(Settings(llm_api_key="one")) != resident.socket_path(
        Settings(llm_api_key="two")
    )
    (workdir / "elsewhere").mkdir()
    monkeypatch.chdir(workdir / "elsewhere")  # relative docs/ and index/ mean other folders
    assert resident.socket_path(base) != here


def test_a_run_folder_too_deep_for_a_socket_is_not_used(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = run_dir.parent / ("d" * 90)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    assert resident.run_dir() == deep / "qa"
    assert resident.socket_path(Settings()) is None
    assert resident.ask(Settings(), QUESTION, print, print) is None


def test_a_run_folder_open_to_others_is_not_used(run_dir: Path) -> None:
    assert resident.run_dir() == run_dir
    run_dir.chmod(0o755)
    assert resident.run_dir() is None
    assert resident.ask(Settings(), QUESTION, print, print) is None


def test_no_process_means_the_caller_answers(run_dir: Path) -> None:
    assert resident.ask(Settings(), QUESTION, print, print) is None
    assert resident.stop_all() == 0


def test_answers_from_the_current_documents() -> None:
    loaded = resident.Resident(scripted(Settings()))
    sent: list[dict[str, Any]] = []
    assert loaded.handle({"question": QUESTION}, sent.append)
    assert sent[-1]["answer"]["answer"] == "$200 million [1]"

    ARTICLE.write_text(ARTICLE.read_text().replace("$200 million", "$300 million"))
    sent.clear()
    loaded.runner.llm.reply = " $300 million."  # type: ignore[attr-defined]
    assert loaded.handle({"question": QUESTION}, sent.append)
    assert sent[0]["note"].startswith("Indexed 1 files: 0 added, 1 updated")
    assert sent[-1]["answer"]["answer"] == "$300 million [1]"
    assert "$300 million" in sent[-1]["answer"]["citations"][0]["quote"]


def test_retires_when_another_process_reindexes() -> None:
    loaded = resident.Resident(scripted(Settings()))
    sent: list[dict[str, Any]] = []
    assert loaded.handle({"question": QUESTION}, sent.append)
    api.index(settings=Settings())  # another Store, as another process; nothing changed
    assert loaded.handle({"question": QUESTION}, sent.append)
    assert sent[-1]["answer"]["answer"] == "$200 million [1]"
    api.index(settings=Settings(), rebuild=True)
    sent.clear()
    assert not loaded.handle({"question": QUESTION}, sent.append)
    assert sent == [{"retire": True}]


def test_an_index_run_during_the_warm_up_retires_it_at_the_first_question() -> None:
    api.index(settings=Settings())
    loaded = resident.Resident(scripted(Settings()))  # notes the manifest, as serve() does
    api.index(settings=Settings(), rebuild=True)  # another process, while it warms up
    loaded.runner.ask(QUESTION)
    sent: list[dict[str, Any]] = []
    assert not loaded.handle({"question": QUESTION}, sent.append)
    assert sent == [{"retire": True}]


def test_a_library_error_is_sent_as_one_line() -> None:
    loaded = resident.Resident(scripted(Settings()))
    sent: list[dict[str, Any]] = []
    shutil.rmtree("seeds")
    assert loaded.handle({"question": QUESTION}, sent.append)
    assert sent == [{"error": "docs folder not found: seeds"}]


@pytest.mark.slow
def test_qa_ask_starts_then_uses_a_resident_process(run_dir: Path) -> None:
    first = runner.invoke(app, ["ask", QUESTION])
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("$200 million [1]")
    path = resident.socket_path(Settings())
    assert path is not None
    deadline = time.monotonic() + 120
    while not path.exists():  # it loads the models, then listens
        assert time.monotonic() < deadline, (path.with_suffix(".log")).read_text()
        time.sleep(0.2)

    served = resident.ask(Settings(), QUESTION, print, print)
    assert served is not None and served.answer == "$200 million [1]"
    again = runner.invoke(app, ["ask", QUESTION])
    assert again.exit_code == 0 and again.stdout == first.stdout
    shutil.rmtree("seeds")
    failed = runner.invoke(app, ["ask", QUESTION])
    assert failed.exit_code == 1 and failed.stderr == "error: docs folder not found: seeds\n"
    assert path.exists()  # the process still serves

    result = runner.invoke(app, ["stop"])
    assert result.exit_code == 0 and result.stdout == "Stopped 1 resident process.\n"
    assert not path.exists()
    assert resident.ask(Settings(), QUESTION, print, print) is None


def test_no_resident_flag_starts_none(run_dir: Path) -> None:
    result = runner.invoke(app, ["ask", "--no-resident", QUESTION, "--reader", "extractive"])
    assert result.exit_code == 0, result.output
    assert not list(run_dir.glob("*.log"))


def test_stop_with_none_running(run_dir: Path) -> None:
    result = runner.invoke(app, ["stop"])
    assert result.exit_code == 0 and result.stdout == "Stopped 0 resident processes.\n"


def test_a_caller_waits_for_a_process_still_loading_and_not_for_a_dead_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answering in-process beside a process that is loading would load everything a
    second time on the same cores; a process that died while loading is not waited for."""
    monkeypatch.setattr(resident, "START_WAIT_S", 0.5)
    path = tmp_path / "key.sock"
    notes: list[str] = []
    resident.wait_for_start(path, notes.append)  # none was started
    assert notes == []
    path.with_suffix(".starting").write_text(str(os.getpid()))  # alive, not listening
    started = time.monotonic()
    resident.wait_for_start(path, notes.append)
    assert time.monotonic() - started >= 0.5
    assert notes == ["waiting for the background process to finish loading"]
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path.with_suffix(".starting").write_text(dead.strip())
    started = time.monotonic()
    resident.wait_for_start(path, notes.append)
    assert time.monotonic() - started < 0.5
    path.touch()  # it listens
    path.with_suffix(".starting").write_text(str(os.getpid()))
    resident.wait_for_start(path, notes.append)
    assert len(notes) == 1
