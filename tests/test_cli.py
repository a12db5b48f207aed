"""The CLI, run in-process: exit codes and exact output, error paths included.

The generator is scripted here; the store and embedder are real.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.markup import escape
from typer.main import get_command
from typer.testing import CliRunner

from qa import Answer, QuestionError
from qa.answer import abstention
from qa.answer.abstention import Logistic
from qa.cli import display
from qa.cli.display import progress_line
from qa.cli.main import app
from qa.models import IndexProgress
from tests.fakes import RewritingLLM, ScriptedLLM

GOLDEN = Path(__file__).parent / "golden"
QUESTION = "How much is OpenAI's new Pentagon contract worth?"
runner = CliRunner()


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> ScriptedLLM:
    scripted = ScriptedLLM(reply=" $200 million.")
    monkeypatch.setattr("qa.pipeline.LlamaCppLLM", lambda **_: scripted)
    return scripted


def test_every_command_has_help_text() -> None:
    commands = get_command(app).commands  # type: ignore[attr-defined]
    assert set(commands) == {
        "index",
        "ask",
        "chat",
        "eval",
        "calibrate",
        "config",
        "info",
        "serve-llm",
        "stop",
    }
    for name, command in commands.items():
        assert command.help, name
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage" in result.stdout


def test_ask_prints_answer_and_sources(llm: ScriptedLLM) -> None:
    result = runner.invoke(app, ["ask", QUESTION])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (GOLDEN / "ask_seed.txt").read_text(encoding="utf-8")
    assert result.stderr.startswith("Indexed 1 files: 1 added, 0 updated, 0 removed")


def test_ask_json_is_one_object_with_checked_citations(llm: ScriptedLLM, workdir: Path) -> None:
    result = runner.invoke(app, ["ask", "--json", QUESTION])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"question", "answer", "abstained", "citations", "timings"}
    assert payload["answer"] == "$200 million [1]"
    assert payload["abstained"] is False
    [citation] = payload["citations"]
    text = (workdir / citation["source"]).read_text(encoding="utf-8")
    assert text[citation["start"] : citation["end"]] == citation["quote"]
    assert citation["line_start"] == citation["line_end"] == 1


def test_an_llm_answer_not_in_the_documents_is_never_shown(
    llm: ScriptedLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader's span stands in for it (every answer trusted here: the decision is
    tests/test_verifier.py's)."""
    trusting = Logistic(weights={}, bias=2.0, threshold=0.5)
    monkeypatch.setattr(abstention, "model_for", lambda mode, fit=None: trusting)
    llm.reply = " Sam Altman"
    result = runner.invoke(app, ["ask", "Who is OpenAI's chief executive?"])
    assert result.exit_code == 0
    assert "Sam Altman" not in result.stdout
    assert result.stdout.startswith("Microsoft [1]\n\n[1] seeds/openai-dod-microsoft.txt:1 ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "   "], "error: the question is empty\n"),
        (["ask", "--docs", "nowhere", "q?"], "error: docs folder not found: nowhere\n"),
        (["index", "nowhere"], "error: docs folder not found: nowhere\n"),
        (["eval", "missing.jsonl"], "error: cannot read missing.jsonl: "),
    ],
)
def test_bad_input_gives_one_line_and_exit_1(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_empty_docs_folder_is_an_error(workdir: Path) -> None:
    (workdir / "empty").mkdir()
    result = runner.invoke(app, ["index", "empty"])
    assert result.exit_code == 1
    assert result.stderr == "error: no txt/md/pdf/html/htm/docx files in empty\n"


def test_malformed_eval_file_names_the_line(workdir: Path) -> None:
    bad = workdir / "bad.jsonl"
    bad.write_text('{"question": "ok?"}\n{"question": 1\n', encoding="utf-8")
    result = runner.invoke(app, ["eval", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {bad}:2: not valid JSON")


def test_debug_flag_shows_the_exception() -> None:
    result = runner.invoke(app, ["--debug", "ask", " "])
    assert result.exit_code == 1
    assert isinstance(result.exception, QuestionError)


def test_index_reports_then_finds_nothing_to_do() -> None:
    first = runner.invoke(app, ["index"])
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith("Indexed 1 files: 1 added, 0 updated, 0 removed, 0 unchanged")
    second = runner.invoke(app, ["index"])
    assert second.stdout.startswith("Indexed 1 files: 0 added, 0 updated, 0 removed, 1 unchanged")


def test_index_progress_goes_to_a_log_as_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """stderr that is not a terminal gets a line every LOG_EVERY_S seconds (here: each)."""
    monkeypatch.setattr(display, "LOG_EVERY_S", 0.0)
    result = runner.invoke(app, ["index"])
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    shape = r"indexing: 1/1 files · \d+ chunks · [\d.]+ MB/s · \d+:\d\d left"
    assert lines and all(re.fullmatch(shape, line) for line in lines), lines


def test_progress_line_reads_as_a_person_would_say_it() -> None:
    state = IndexProgress(
        files_done=135, files_total=1308, chunks_done=14336, bytes_done=5_000_000,
        bytes_total=50_000_000, seconds=20.0,
    )  # fmt: skip
    assert progress_line(state) == "135/1308 files · 14,336 chunks · 0.25 MB/s · 3:00 left"
    assert progress_line(IndexProgress(files_total=2)).endswith("0.00 MB/s · ? left")


def test_index_skips_binary_files_with_a_warning(workdir: Path) -> None:
    (workdir / "seeds" / "blob.txt").write_bytes(b"\x00\xff")
    result = runner.invoke(app, ["index"])
    assert result.exit_code == 0
    assert result.stderr == "warning: skipped seeds/blob.txt: binary file\n"


def test_eval_writes_summary_and_report(llm: ScriptedLLM, workdir: Path) -> None:
    questions = workdir / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": QUESTION, "answers": ["$200 million"]})
        + "\n"
        + json.dumps({"id": "b", "question": "Who won?", "answers": [], "answerable": False})
        + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["eval", str(questions), "--out", "report.json"])
    assert result.exit_code == 0, result.stderr
    assert "answer_accuracy" in result.stdout
    report = json.loads((workdir / "report.json").read_text())
    assert set(report) == {"summary", "results"}
    assert report["summary"]["answer_accuracy"] == 1.0
    assert report["summary"]["citation_validity"] == 1.0
    assert [r["id"] for r in report["results"]] == ["a", "b"]
    assert {"id", "question", "answer", "abstained", "citations", "latency_s", "correct"} <= set(
        report["results"][0]
    )


def test_chat_answers_and_shows_sources(llm: ScriptedLLM) -> None:
    session = f"/help\n{QUESTION}\n/sources\n/nope\n/quit\n"
    result = runner.invoke(app, ["chat"], input=session)
    assert result.exit_code == 0, result.stderr
    assert "/sources   show the full quotes" in result.stdout
    assert "$200 million [1]" in result.stdout
    assert result.stdout.count("[1] seeds/openai-dod-microsoft.txt:1") == 2
    assert "Unknown command /nope" in result.stdout


def test_chat_answers_a_follow_up_as_the_question_it_stands_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scripted = RewritingLLM(reply=" $200 million.", rewrite="How much is OpenAI's contract worth?")
    monkeypatch.setattr("qa.pipeline.LlamaCppLLM", lambda **_: scripted)
    session = f"{QUESTION}\nAnd how much is that worth?\n/new\nAnd how much is that worth?\n/quit\n"
    result = runner.invoke(app, ["chat"], input=session)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("searched: How much is OpenAI's contract worth?") == 1
    assert "New conversation." in result.stdout
    rewrites = [p for p in scripted.prompts if "Last question:" in p]
    assert len(rewrites) == 1  # after /new the question has nothing to lean on
    assert f"User: {QUESTION}\nAssistant: $200 million\n" in rewrites[0]


def test_eval_asks_a_lines_history_first_and_reports_the_standalone_question(
    monkeypatch: pytest.MonkeyPatch, workdir: Path
) -> None:
    scripted = RewritingLLM(
        replies=["U.S. Department of Defense"],
        reply=" $200 million.",
        rewrite="How much is OpenAI's contract worth?",
    )
    monkeypatch.setattr("qa.pipeline.LlamaCppLLM", lambda **_: scripted)
    history = "Who awarded OpenAI's contract?"
    line = {"id": "f", "history": [history], "question": "And how much is that worth?"}
    (workdir / "q.jsonl").write_text(json.dumps({**line, "answers": ["$200 million"]}) + "\n")
    result = runner.invoke(app, ["eval", "q.jsonl", "--out", "report.json"])
    assert result.exit_code == 0, result.stderr
    [scored] = json.loads((workdir / "report.json").read_text())["results"]
    assert (scored["question"], scored["standalone"], scored["correct"]) == (
        "And how much is that worth?",
        "How much is OpenAI's contract worth?",
        True,
    )


def test_chat_ends_on_end_of_input(llm: ScriptedLLM) -> None:
    result = runner.invoke(app, ["chat"], input="")
    assert result.exit_code == 0


def test_eval_baseline_runs_side_by_side(llm: ScriptedLLM, workdir: Path) -> None:
    questions = workdir / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": QUESTION, "answers": ["$200 million"]}) + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["eval", str(questions), "--baseline", "--out", "report.json"])
    assert result.exit_code == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "metric" in line)
    assert "baseline" in header
    report = json.loads((workdir / "report.json").read_text())
    assert set(report) == {"summary", "results", "baseline"}
    [theirs] = report["baseline"]["results"]
    assert theirs["answer"] == "$200 million."
    assert report["baseline"]["summary"]["citations"] == 3
    assert report["baseline"]["summary"]["citation_validity"] == 1.0


def test_chat_lists_the_documents(llm: ScriptedLLM) -> None:
    result = runner.invoke(app, ["chat"], input="/docs\n/quit\n")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"seeds/openai-dod-microsoft\.txt  \(\d+ chunks\)", lines[1])
    assert re.fullmatch(r"1 documents, \d+ chunks", lines[2])


def test_markdown_answer_shows_quotes_exactly() -> None:
    from rich.console import Console

    from qa.cli.display import answer_markdown
    from qa.models import Citation

    quote = "Costs fell *sharply* to $5_000 [est.] in 2024 (see #3) - a `record` > 2023."
    answer = Answer(
        question="q",
        answer="$5_000 [1]",
        abstained=False,
        citations=[
            Citation(source="r.pdf", start=0, end=9, line_start=1, line_end=1, quote=quote, page=4)
        ],
    )
    console = Console(record=True, width=200, color_system=None)
    console.print(answer_markdown(answer))
    shown = console.export_text()
    assert "$5_000 [1]" in shown
    assert quote in shown
    assert "r.pdf p. 4 (chars 0-9)" in shown


def test_shell_completion_script(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typer detects the user's shell from the parent processes (it ignores a shell
    named after the flag); a run with no shell above it, such as CI under setsid, would
    find none, so the detection is fixed here."""
    from qa.cli.main import run

    monkeypatch.setattr("typer.completion._get_shell_name", lambda: "bash")
    assert run(["--show-completion"]) == 0
    script = capsys.readouterr().out
    assert "_QA_COMPLETE=complete_bash" in script
    assert script.rstrip().endswith("complete -o default -F _qa_completion qa")


LAUNCH = "The launch code is ALPHA\x1b[2J\x1b]0;pwned\x07 SEVEN."


@pytest.fixture
def launch_codes(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A document with terminal escapes in a line; no abstention, as display is tested."""
    monkeypatch.setenv("QA_MIN_CONFIDENCE", "0")
    folder = workdir / "codes"
    folder.mkdir()
    (folder / "codes.txt").write_text(
        f"Operations manual for the night shift.\n{LAUNCH}\nThe generator is tested on Mondays.\n",
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize("command", ["ask", "chat"])
def test_control_characters_in_a_document_are_shown_not_obeyed(
    llm: ScriptedLLM, launch_codes: Path, command: str
) -> None:
    llm.reply = " ALPHA SEVEN"
    question = "What is the launch code?"
    args, given = (
        (["ask", "--docs", "codes", question], None)
        if command == "ask"
        else (["chat", "--docs", "codes"], f"{question}\n/sources\n/quit\n")
    )
    result = runner.invoke(app, args, input=given)
    assert result.exit_code == 0, result.stderr
    assert "The launch code is ALPHA\\x1b[2J\\x1b]0;pwned\\x07 SEVEN." in result.stdout
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", result.stdout + result.stderr)


def test_json_keeps_the_exact_text_of_a_quote_with_control_characters(
    llm: ScriptedLLM, launch_codes: Path
) -> None:
    llm.reply = " ALPHA SEVEN"
    result = runner.invoke(app, ["ask", "--json", "--docs", "codes", "What is the launch code?"])
    assert result.exit_code == 0, result.stderr
    [citation] = json.loads(result.stdout)["citations"]
    assert citation["quote"] == LAUNCH
    text = (launch_codes / "codes.txt").read_text(encoding="utf-8")
    assert text[citation["start"] : citation["end"]] == LAUNCH


def test_markdown_answer_shows_control_characters_visibly() -> None:
    from rich.console import Console

    from qa.cli.display import answer_markdown
    from qa.models import Citation

    answer = Answer(
        question="q",
        answer="ALPHA\x1b[2J [1]",
        abstained=False,
        citations=[
            Citation(source="c\x1b.txt", start=0, end=9, line_start=2, line_end=2, quote=LAUNCH)
        ],
    )
    console = Console(record=True, width=200, color_system=None)
    console.print(answer_markdown(answer))
    shown = console.export_text()
    assert "\x1b" not in shown and "\x07" not in shown
    assert "ALPHA\\x1b[2J [1]" in shown
    assert "ALPHA\\x1b[2J\\x1b]0;pwned\\x07 SEVEN." in shown
    assert "c\\x1b.txt:2" in shown


def test_a_project_qa_toml_that_sends_text_to_a_server_is_named_every_run(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "qa.toml").write_text(
        'llm_url = "http://198.51.100.7:8080/v1"\nchroma_url = "http://127.0.0.1:9"\n',
        encoding="utf-8",
    )
    said = [
        f"warning: {workdir / 'qa.toml'} sets llm_url = http://198.51.100.7:8080/v1: "
        "document text goes to that server",
        f"warning: {workdir / 'qa.toml'} sets chroma_url = http://127.0.0.1:9: "
        "document text goes to that server",
    ]
    for _ in range(2):
        result = runner.invoke(app, ["config"])
        assert result.exit_code == 0, result.stderr
        assert result.stderr.splitlines() == said
    result = runner.invoke(app, ["ask", QUESTION])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == said
    note, error = result.stderr.splitlines()[2:]  # the model's fit is not its own
    assert note.startswith("note: http://198.51.100.7:8080/v1 is weighed by the abstention fit")
    assert error.startswith("error: cannot reach the Chroma server")

    monkeypatch.setenv("QA_CHROMA_URL", "")  # the user's own choice overrides the file
    result = runner.invoke(app, ["config", "--llm-url", "http://127.0.0.1:8080/v1"])
    assert (result.exit_code, result.stderr) == (0, "")


def test_chat_history_is_private(workdir: Path) -> None:
    from qa.cli.chat import chat_history

    saved = workdir / "config" / "qa" / "chat-history"
    saved.parent.mkdir(parents=True)
    saved.write_text("an earlier question\n")
    saved.chmod(0o644)
    assert chat_history() == saved
    assert saved.stat().st_mode & 0o777 == 0o600
    assert saved.read_text() == "an earlier question\n"
    saved.unlink()
    assert chat_history().stat().st_mode & 0o777 == 0o600


def test_a_quote_over_several_lines_shows_the_range_in_every_view() -> None:
    from rich.console import Console

    from qa.cli.display import answer_markdown, where
    from qa.models import Citation

    spread = Citation(source="a.txt", start=0, end=9, line_start=3, line_end=5, quote="x")
    assert where(spread) == ":3-5"
    assert where(spread.model_copy(update={"line_end": 3})) == ":3"
    assert where(spread.model_copy(update={"page": 2})) == " p. 2"
    answer = Answer(question="q", answer="x [1]", abstained=False, citations=[spread])
    console = Console(record=True, width=200, color_system=None)
    console.print(answer_markdown(answer))
    assert "a.txt:3-5 (chars 0-9)" in console.export_text()


@pytest.mark.parametrize("name", ["ask", "chat", "eval", "config", "info"])
def test_commands_take_every_shared_option_after_the_subcommand(name: str) -> None:
    from qa.cli.options import SHARED

    command = get_command(app).commands[name]  # type: ignore[attr-defined]
    flags = {flag for param in command.params for flag in param.opts}
    assert {option.flag for option in SHARED} <= flags
    helps = {param.opts[0]: param.help for param in command.params}
    assert all(helps[option.flag] == escape(option.help) for option in SHARED)


def test_help_shows_each_options_variable_and_default() -> None:
    """Typer reads help texts as Rich markup, where "[env: ...]" would be a tag."""
    result = runner.invoke(app, ["ask", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "[env: QA_DOCS; default: seeds/]" in result.stdout
    assert "[env: QA_READER; default: combined]" in result.stdout


def test_index_takes_its_paths_and_the_store_options_only() -> None:
    command = get_command(app).commands["index"]  # type: ignore[attr-defined]
    assert [param.name for param in command.params] == [
        "paths",
        "docs",
        "store",
        "embed_url",
        "embed_model",
        "chroma_url",
        "rebuild",
    ]


def test_index_paths_win_over_docs(workdir: Path) -> None:
    result = runner.invoke(app, ["index", "nowhere", "--docs", "seeds"])
    assert (result.exit_code, result.stderr) == (1, "error: docs folder not found: nowhere\n")


def test_config_shows_where_a_flag_comes_from() -> None:
    result = runner.invoke(app, ["config", "--reader", "extractive", "--llm-api", "completions"])
    assert result.exit_code == 0, result.stderr
    assert 'reader = "extractive"  # flag' in result.stdout.splitlines()
    assert 'llm_api = "completions"  # flag' in result.stdout.splitlines()
    result = runner.invoke(app, ["config", "--llm-api", "nope"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: bad settings: llm_api: Input should be")


def test_debug_is_per_run_not_left_behind(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from qa.cli.main import run

    with pytest.raises(typer.TyperException, match="No such option: --nosuch"):
        run(["--debug", "ask", "q", "--nosuch"])
    assert run(["ask", "q", "--nosuch"]) == 2
    assert capsys.readouterr().err.startswith("error: No such option: --nosuch")


def test_only_names_shared_options() -> None:
    from qa.cli.options import with_settings

    with pytest.raises(ValueError, match="not shared options"):
        with_settings(only=("docs", "dosc"))
