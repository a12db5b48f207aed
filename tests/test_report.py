"""`qa eval --html`: one self-contained page, every value escaped; rendered in
headless Chromium when the machine has it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from qa.cli.main import run
from tests.fakes import ScriptedLLM

CHROMIUM = shutil.which("chromium")
QUESTION = "How much is OpenAI's new Pentagon contract worth?"
HOSTILE = 'Mallory wrote <script>alert("x")</script> and <img src=x onerror=alert(1)>.'


@pytest.fixture
def evaluated(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> BeautifulSoup:
    scripted = ScriptedLLM(reply=" $200 million.")
    monkeypatch.setattr("qa.pipeline.LlamaCppLLM", lambda **_: scripted)
    (workdir / "seeds" / "hostile.txt").write_text(HOSTILE + "\n", encoding="utf-8")
    questions = workdir / "set.jsonl"
    lines = [
        {"id": "a", "question": QUESTION, "answers": ["$200 million"]},
        {"id": "b", "question": 'What did Mallory write <b>"bold"</b>?', "answerable": False},
        {"id": "c", "question": "Who leads the project?"},
    ]
    questions.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    page = workdir / "report.html"
    assert run(["eval", str(questions), "--baseline", "--html", str(page)]) == 0
    assert capsys.readouterr().out.endswith(f"HTML report written to {page}\n")
    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


def test_the_page_is_self_contained_and_escaped(evaluated: BeautifulSoup) -> None:
    assert evaluated.find("script") is None
    assert evaluated.find("img") is None
    assert not evaluated.select("[src], [href], link")
    text = evaluated.get_text()
    assert 'What did Mallory write <b>"bold"</b>?' in text  # shown as text, not markup
    assert evaluated.title is not None and evaluated.title.string == "qa eval: set.jsonl"


def test_summary_charts_and_every_question(evaluated: BeautifulSoup) -> None:
    header = [th.get_text() for th in evaluated.find("table").find_all("th")]
    assert header == ["metric", "qa", "baseline"]
    assert [f.figcaption.get_text() for f in evaluated.find_all("figure")] == [
        "Accuracy and abstention",
        "Latency (s)",
    ]
    assert len(evaluated.find_all("rect")) == 8  # 2 metrics x 2 recipes, twice
    questions = evaluated.select("div.q")
    assert [q.h3.get_text() for q in questions] == [
        f"a. {QUESTION}",
        'b. What did Mallory write <b>"bold"</b>?',
        "c. Who leads the project?",
    ]
    first = questions[0]
    assert first.select_one(".tag").get_text() == "answered, right"
    assert "$200 million [1]" in first.get_text()
    assert "seeds/openai-dod-microsoft.txt:1" in first.select_one(".where").get_text()
    assert questions[2].select_one(".tag").get_text() == "no gold answer"
    assert all(q.details is not None for q in questions)  # the baseline's answer


def test_write_error_is_one_line(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    questions = workdir / "set.jsonl"
    questions.write_text('{"question": "Why?"}\n', encoding="utf-8")
    target = workdir / "missing" / "report.html"
    assert run(["eval", str(questions), "--html", str(target), "--limit", "1"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: cannot write {target}: No such file or directory"
    )


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")
def test_chromium_renders_the_report(evaluated: BeautifulSoup, workdir: Path) -> None:
    png = workdir / "report.png"
    subprocess.run(
        [
            str(CHROMIUM),
            *chromium_flags(workdir),
            f"--screenshot={png}",
            "--window-size=1000,1400",
            (workdir / "report.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000  # a drawn page, not a blank one


def chromium_flags(workdir: Path) -> list[str]:
    """Headless, offline: no background networking, updates or sync."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={workdir / 'chromium-profile'}",
    ]
