"""The ``qa`` command: a thin shell over ``qa.api``.

Library errors become one line on stderr and exit code 1; ``--debug`` shows the
traceback instead. The options the commands share are declared in ``qa.cli.options``, how
things look in ``qa.cli.display``, and the chat loop in ``qa.cli.chat``.

The pipeline's modules (LangChain, Chroma, the models) are imported inside the commands
that run it, so that ``qa --help`` and a ``qa ask`` answered by a resident process
(``qa.cli.resident``) start in a fifth of a second.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qa.cli import resident
from qa.cli.calibrate import calibrate_command
from qa.cli.display import (
    err,
    index_progress,
    out,
    show_answer,
    shown,
    summary_table,
    toml_line,
    warn,
)
from qa.cli.options import Given, RunState, debugging, with_settings
from qa.errors import QAError
from qa.guard import check_question
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.evaluation.evaluate import Ask, EvalQuestion, EvalReport, EvalResult
    from qa.pipeline import Pipeline

app = typer.Typer(
    help="Answer questions about a folder of documents, offline, with checked citations.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Answer questions about a folder of documents, offline, with checked citations."""
    ctx.obj = RunState(debug=debug)


def prepared(settings: Settings) -> Pipeline:
    """The pipeline with its index brought up to date, saying so when that took work."""
    from qa import api

    runner = api.pipeline(settings)
    report = runner.refresh(warn)
    if report is not None:
        note(report.summary())
    return runner


def notify_fit(settings: Settings) -> None:
    """Once per model with no abstention fit of its own, say so on stderr."""
    from qa.answer.abstention import fit_notice

    notice = fit_notice(settings)
    if notice:
        err.print(shown(notice))


def note(text: str) -> None:
    """What the index run before an answer did, on stderr."""
    err.print(shown(text))


@app.command()
@with_settings(only=("docs", "store", "chroma_url", "embed_url", "embed_model"))
def index(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders to index (default: --docs).")
    ] = None,
    *,
    given: Given,
    rebuild: Annotated[bool, typer.Option(help="Drop the store and re-embed everything.")] = False,
) -> None:
    """Index documents into the store (only what changed since last time)."""
    from qa import api

    settings = given.settings(docs=paths)  # the PATHS given win over --docs
    with index_progress() as progress:
        report = api.index(settings=settings, rebuild=rebuild, progress=progress, warn=warn)
    out.print(shown(report.summary()))


@app.command()
@with_settings()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    *,
    given: Given,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    keep_loaded: Annotated[
        bool | None,
        typer.Option(
            "--resident/--no-resident",
            help="Answer through a background process that keeps the models loaded "
            "(started by the first call, stopped by `qa stop` or when idle): each later "
            "call skips starting Python, loading the index, the reader and the LLM, and "
            "putting back or reading the answer prompt; it answers in about a second "
            "where --no-resident takes several (docs/performance.md). "
            "[env: QA_RESIDENT; default: on]",
        ),
    ] = None,
) -> None:
    """Answer one question with its sources."""
    question = check_question(question)
    settings = given.settings()
    if keep_loaded is not None:
        settings = settings.model_copy(update={"resident": keep_loaded})
    notify_fit(settings)
    answer = resident.ask(settings, question, warn, note) if settings.resident else None
    in_process = answer is None
    if answer is None:
        answer = prepared(settings).ask(question, warn=warn)
    if as_json:
        fields = {"question", "answer", "abstained", "citations", "timings"}
        out.print_json(json.dumps(answer.model_dump(include=fields)), indent=None)
    else:
        show_answer(answer)
    if settings.resident and in_process:  # after the answer is shown: the next call is fast
        resident.start(settings)


@app.command()
def stop() -> None:
    """Stop the background processes that keep the models loaded for `qa ask`."""
    stopped = resident.stop_all()
    out.print(f"Stopped {stopped} resident process{'' if stopped == 1 else 'es'}.")


@app.command()
@with_settings()
def chat(*, given: Given) -> None:
    """Ask questions interactively; answers stream as they are written."""
    from qa.cli.chat import run_chat

    settings = given.settings()
    notify_fit(settings)
    run_chat(prepared(settings), given.debug)


@app.command("eval")
@with_settings()
def eval_command(
    file: Annotated[Path, typer.Argument(help="JSONL question set.")],
    *,
    given: Given,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON report here.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N questions.")] = None,
    baseline: Annotated[
        bool, typer.Option(help="Also run the LangChain tutorial RAG recipe, side by side.")
    ] = False,
    html_file: Annotated[
        Path | None,
        typer.Option("--html", help="Write a self-contained HTML report here (charts, sources)."),
    ] = None,
) -> None:
    """Answer a question set and score it (accuracy, F1, abstention, citations, latency)."""
    from qa.evaluation.evaluate import load_questions

    settings = given.settings()
    questions = load_questions(file)[:limit]
    notify_fit(settings)
    runner = prepared(settings)
    recipes: list[tuple[str, Ask]] = [("qa", lambda q, turns: runner.ask(q, history=turns))]
    if baseline:  # the tutorial recipe has no memory: a follow-up is asked as it is
        recipes.append(("baseline", lambda q, _: runner.baseline().ask(q)))
    report, *others = scored(questions, recipes)
    report.baseline = others[0] if others else None
    out.print(summary_table(report.summary, report.baseline.summary if report.baseline else None))
    if out_file:
        text = report.model_dump_json(indent=1, exclude=None if baseline else {"baseline"})
        write(out_file, text, "Report")
    if html_file:
        from qa.cli.report import render_html

        write(html_file, render_html(report, file.name), "HTML report")


def scored(questions: list[EvalQuestion], recipes: Sequence[tuple[str, Ask]]) -> list[EvalReport]:
    """Each recipe's report, with a progress bar per recipe that counts right answers."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from qa.evaluation.evaluate import evaluate

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[accuracy]}"),
    )
    reports = []
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        for name, answer in recipes:
            task = bar.add_task(name, total=len(questions), accuracy="")
            marks: list[bool] = []

            def tick(result: EvalResult, task: Any = task, marks: list[bool] = marks) -> None:
                if result.correct is not None:
                    marks.append(result.correct)
                right = f"right {sum(marks)}/{len(marks)}" if marks else ""
                bar.update(task, advance=1, accuracy=right)

            reports.append(evaluate(questions, answer, tick))
    return reports


def write(path: Path, text: str, what: str) -> None:
    """Write a report and say where; a write error is a QAError."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise QAError(f"cannot write {path}: {exc.strerror}") from exc
    out.print(f"{what} written to {shown(str(path))}")


app.command("calibrate")(with_settings()(calibrate_command))


@app.command("config")
@with_settings()
def config_command(*, given: Given) -> None:
    """Show the effective settings, as qa.toml lines, and where each comes from."""
    settings = given.settings()
    origins = Settings.origins(**given.flags)
    for name in Settings.model_fields:
        out.print(f"{shown(toml_line(name, getattr(settings, name)))}  # {shown(origins[name])}")


@app.command("info")
@with_settings()
def info_command(*, given: Given) -> None:
    """Show the corpus, what the store holds, the models and their versions."""
    from qa import api

    facts = api.info(settings=given.settings())
    freshness = (
        "up to date"
        if facts.up_to_date
        else "changed since the last index run"
        if facts.indexed
        else "not indexed yet"
    )
    rows = [
        ("corpus", ", ".join(facts.corpus)),
        ("store", f"{facts.store} (vectors: {facts.vectors_at})"),
        ("index", freshness),
        ("files", str(facts.files)),
        ("chunks", str(facts.chunks)),
        ("vectors", str(facts.vectors)),
        ("embedding", facts.embedding_model),
        ("generator", facts.generator),
        ("reader", facts.reader),
        ("abstention", facts.abstention),
        ("cpu", facts.cpu),
        ("versions", ", ".join(f"{k} {v}" for k, v in facts.versions.items())),
    ]
    for label, value in rows:
        out.print(f"{label:<10} {shown(value)}")


@app.command("serve-llm")
@with_settings(only=())
def serve_llm(
    *,
    given: Given,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
) -> None:
    """Serve the packaged LLM over OpenAI-compatible HTTP, for --llm-url."""
    import time

    from qa.llm.inprocess import serve
    from qa.llm.model_files import MODEL_NAME

    url = serve(host, port, given.settings().threads)
    out.print(f"Serving {MODEL_NAME} at {url} (chat and completions); Ctrl-C stops it.")
    out.print(f"Use it with: qa chat --llm-url {url}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:  # the way to stop a server: not an error
        out.print("Stopped.")


def run(args: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; usage errors (an unknown option, a
    missing argument) are one line on stderr, like every other error."""
    try:
        code = app(args=args, prog_name="qa", standalone_mode=False)
    except typer.TyperException as exc:  # click's usage errors, as Typer vendors them
        context = getattr(exc, "ctx", None)
        if debugging(context):  # the root callback has run when a command's usage is wrong
            raise
        command = context.command_path if context else "qa"
        message = getattr(exc, "format_message", exc.__str__)()
        if message:  # none when the help was shown instead (`qa` alone)
            err.print(f"error: {shown(message)} (see `{command} --help`)")
        return int(getattr(exc, "exit_code", 2))
    except typer.Abort:
        err.print("interrupted")
        return 130
    except SystemExit as done:  # --show-completion and --install-completion end this way
        return done.code if isinstance(done.code, int) else 0
    return code if isinstance(code, int) else 0


def main() -> None:
    """The console script. It ends with ``os._exit`` once output is flushed, which
    skips 0.3 s of interpreter teardown (freeing the models and modules) on every
    run; every store write is committed when its call returns, so nothing is lost
    (a killed run is safe too, see ``qa.index.store``)."""
    code = run()
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError):  # the reader went away, as with `qa ask … | head -1`
            stream.flush()
    os._exit(code)
