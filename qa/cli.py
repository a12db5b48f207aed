"""The ``qa`` command: a thin shell over ``qa.api``.

Library errors become one line on stderr and exit code 1; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from qa import api, documents
from qa.errors import QAError
from qa.evaluate import EvalResult, EvalSummary, evaluate, load_questions
from qa.models import Answer, Citation
from qa.pipeline import Pipeline, check_question
from qa.settings import PROJECT_CONFIG, Settings

if TYPE_CHECKING:
    from rich.markdown import Markdown

app = typer.Typer(
    help="Answer questions about a folder of documents, offline, with checked citations.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
state: dict[str, Any] = {"debug": False}
# Control characters (ESC starts the sequences that clear a screen or retitle a window)
# and the bidirectional overrides that reorder what a reader sees.
HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """Text for a terminal: each control character shown as its escape (``\\x1b``), so a
    document cannot write to the user's terminal. ``--json`` and the API keep the text."""
    return HIDDEN.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def shown(text: str) -> str:
    """Text for Rich: control characters made visible, markup brackets escaped."""
    return escape(visible(text))


DocsOpt = Annotated[
    list[Path] | None,
    typer.Option("--docs", help="Documents folder (repeatable). [env: QA_DOCS; default: seeds/]"),
]
StoreOpt = Annotated[
    Path | None, typer.Option("--store", help="Store folder. [env: QA_STORE; default: index/]")
]
LlmUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--llm-url",
        help="OpenAI-compatible LLM server, e.g. http://127.0.0.1:8080/v1; key from "
        "QA_LLM_API_KEY. [env: QA_LLM_URL; default: packaged Gemma, in-process]",
    ),
]
LlmModelOpt = Annotated[
    str | None,
    typer.Option("--llm-model", help="Model name for the LLM server. [env: QA_LLM_MODEL]"),
]
LlmApiOpt = Annotated[
    str | None,
    typer.Option(
        "--llm-api",
        help="chat (chat-tuned models) or completions (base models such as the packaged "
        "Gemma). [env: QA_LLM_API; default: chat]",
    ),
]
ReaderOpt = Annotated[
    str | None,
    typer.Option(
        "--reader",
        help="combined (the extractive reader checked against the LLM), extractive "
        "(the reader alone) or llm (the LLM alone). [env: QA_READER; default: combined]",
    ),
]
ChromaUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--chroma-url",
        help="Chroma server, e.g. http://127.0.0.1:8000. [env: QA_CHROMA_URL; "
        "default: Chroma in the store folder]",
    ),
]

CHAT_HELP = """Ask a question and press Enter (arrow keys recall earlier questions). Commands:
  /sources   show the full quotes behind the last answer
  /docs      list the documents and their chunks
  /help      this text
  /quit      leave (Ctrl-D works too)"""


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Answer questions about a folder of documents, offline, with checked citations."""
    state["debug"] = debug


@contextmanager
def clean_errors() -> Iterator[None]:
    """Turn library errors into one line on stderr and a non-zero exit."""
    try:
        yield
    except QAError as exc:
        if state["debug"]:
            raise
        err.print(f"error: {shown(str(exc))}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


def flags(**given: Any) -> dict[str, Any]:
    """The settings given as flags (those left out are None or empty)."""
    return {name: value for name, value in given.items() if value}


def settings_from(**given: Any) -> Settings:
    try:
        settings = Settings(**flags(**given))
    except ValueError as exc:
        raise QAError(f"bad settings: {_first_error(exc)}") from exc
    for name, url in Settings.servers_from_project(**flags(**given)).items():
        warn(f"{PROJECT_CONFIG.resolve()} sets {name} = {url}: document text goes to that server")
    return settings


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}"
    return str(exc).splitlines()[0]


def warn(message: str) -> None:
    err.print(f"warning: {shown(message)}")


def prepared(settings: Settings) -> Pipeline:
    """The pipeline with its index brought up to date, saying so when that took work."""
    runner = api.pipeline(settings)
    report = runner.refresh(warn)
    if report is not None:
        err.print(shown(report.summary()))
    return runner


def show_citation(number: int, citation: Citation, full: bool = False) -> None:
    lines = (
        f"{citation.line_start}"
        if citation.line_start == citation.line_end
        else f"{citation.line_start}-{citation.line_end}"
    )
    where = f" p. {citation.page}" if citation.page else f":{lines}"
    quote = " ".join(citation.quote.split())
    if not full and len(quote) > 160:
        quote = quote[:157] + "..."
    out.print(
        f"[{number}] {shown(citation.source)}{where} "
        f"(chars {citation.start}-{citation.end})\n    “{shown(quote)}”"
    )


def show_docs(runner: Pipeline) -> None:
    files = runner.store.manifest().files
    for source, entry in files.items():
        out.print(f"{shown(documents.display_path(Path(source)))}  ({entry.chunks} chunks)")
    total = sum(entry.chunks for entry in files.values())
    out.print(f"{len(files)} documents, {total} chunks")


def answer_markdown(answer: Answer) -> Markdown:
    """The answer and its sources as Markdown, for a terminal; every character of the
    answer and quotes is escaped, so what shows is exactly what the file holds."""
    from rich.markdown import Markdown

    lines = [f"**{_md(answer.answer)}**"]
    for number, citation in enumerate(answer.citations, 1):
        where = f" p. {citation.page}" if citation.page else f":{citation.line_start}"
        chars = f"(chars {citation.start}-{citation.end})"
        lines += [
            "",
            f"{number}. `{visible(citation.source)}{where}` {chars}",
            "",
            f"   > {_md(' '.join(citation.quote.split()))}",
        ]
    return Markdown("\n".join(lines))


def _md(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|>~<])", r"\\\1", visible(text))


def show_answer(answer: Answer) -> None:
    out.print(shown(answer.answer))
    if answer.citations:
        out.print()
        for number, citation in enumerate(answer.citations, 1):
            show_citation(number, citation)


@app.command()
def index(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders to index (default: --docs).")
    ] = None,
    docs: DocsOpt = None,
    store: StoreOpt = None,
    chroma_url: ChromaUrlOpt = None,
    rebuild: Annotated[bool, typer.Option(help="Drop the store and re-embed everything.")] = False,
) -> None:
    """Index documents into the store (only what changed since last time)."""
    from rich.progress import Progress

    with clean_errors():
        settings = settings_from(docs=paths or docs, store=store, chroma_url=chroma_url)
        with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("Embedding chunks", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = api.index(settings=settings, rebuild=rebuild, progress=progress, warn=warn)
        out.print(shown(report.summary()))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    docs: DocsOpt = None,
    store: StoreOpt = None,
    llm_url: LlmUrlOpt = None,
    llm_model: LlmModelOpt = None,
    llm_api: LlmApiOpt = None,
    reader: ReaderOpt = None,
    chroma_url: ChromaUrlOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Answer one question with its sources."""
    with clean_errors():
        question = check_question(question)
        settings = settings_from(
            docs=docs,
            store=store,
            llm_url=llm_url,
            llm_model=llm_model,
            llm_api=llm_api,
            reader=reader,
            chroma_url=chroma_url,
        )
        answer = prepared(settings).ask(question, warn=warn)
        if as_json:
            fields = {"question", "answer", "abstained", "citations", "timings"}
            out.print_json(json.dumps(answer.model_dump(include=fields)), indent=None)
        else:
            show_answer(answer)


def chat_history() -> Path:
    """The chat's question history, readable by its owner only: questions can be as
    private as the documents."""
    saved = Path(typer.get_app_dir("qa")) / "chat-history"
    saved.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(saved, os.O_CREAT | os.O_APPEND, 0o600))
    saved.chmod(0o600)
    return saved


def read_question() -> str | None:
    """One line from the user: a prompt with history on a terminal, plain stdin otherwise."""
    if sys.stdin.isatty():
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        if "session" not in state:
            state["session"] = PromptSession(history=FileHistory(str(chat_history())))
        session: PromptSession[str] = state["session"]
        try:
            return session.prompt("? ")
        except EOFError:
            return None
    line = sys.stdin.readline()
    return line if line else None


@app.command()
def chat(
    docs: DocsOpt = None,
    store: StoreOpt = None,
    llm_url: LlmUrlOpt = None,
    llm_model: LlmModelOpt = None,
    llm_api: LlmApiOpt = None,
    reader: ReaderOpt = None,
    chroma_url: ChromaUrlOpt = None,
) -> None:
    """Ask questions interactively; answers stream as they are written."""
    from rich.live import Live
    from rich.text import Text

    with clean_errors():
        settings = settings_from(
            docs=docs,
            store=store,
            llm_url=llm_url,
            llm_model=llm_model,
            llm_api=llm_api,
            reader=reader,
            chroma_url=chroma_url,
        )
        runner = prepared(settings)
        out.print("Ask about your documents. /help for commands, Ctrl-D to leave.")
        last: Answer | None = None
        while (line := read_question()) is not None:
            line = line.strip()
            if not line:
                continue
            if line in ("/quit", "/exit"):
                break
            if line == "/help":
                out.print(CHAT_HELP)
                continue
            if line == "/sources":
                if last is None or not last.citations:
                    out.print("No sources yet.")
                for number, citation in enumerate(last.citations if last else [], 1):
                    show_citation(number, citation, full=True)
                continue
            if line == "/docs":
                show_docs(runner)
                continue
            if line.startswith("/"):
                out.print(f"Unknown command {shown(line)}; /help lists them.")
                continue
            draft = Text(style="dim")
            with Live(draft, console=out, transient=True, auto_refresh=False) as live:

                def stream(token: str, live: Live = live, draft: Text = draft) -> None:
                    draft.append(visible(token))
                    live.refresh()

                try:
                    last = runner.ask(line, on_token=stream, warn=warn)
                except QAError as exc:
                    if state["debug"]:
                        raise
                    err.print(f"error: {shown(str(exc))}")
                    continue
            if out.is_terminal:
                out.print(answer_markdown(last))
            else:
                show_answer(last)
            out.print()


def summary_table(summary: EvalSummary, baseline: EvalSummary | None = None) -> Table:
    table = Table(title="qa eval")
    table.add_column("metric")
    table.add_column("qa", justify="right")
    if baseline:
        table.add_column("baseline", justify="right")
    columns = [summary.model_dump()] + ([baseline.model_dump()] if baseline else [])
    for name in columns[0]:
        table.add_row(name, *(_shown(column[name]) for column in columns))
    return table


def _shown(value: object) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


@app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="JSONL question set.")],
    docs: DocsOpt = None,
    store: StoreOpt = None,
    llm_url: LlmUrlOpt = None,
    llm_model: LlmModelOpt = None,
    llm_api: LlmApiOpt = None,
    reader: ReaderOpt = None,
    chroma_url: ChromaUrlOpt = None,
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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with clean_errors():
        settings = settings_from(
            docs=docs,
            store=store,
            llm_url=llm_url,
            llm_model=llm_model,
            llm_api=llm_api,
            reader=reader,
            chroma_url=chroma_url,
        )
        questions = load_questions(file)[:limit]
        runner = prepared(settings)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[accuracy]}"),
        )
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
            recipes = [("qa", runner.ask)] + (
                [("baseline", runner.baseline().ask)] if baseline else []
            )
            reports = []
            for name, answer in recipes:
                task = bar.add_task(name, total=len(questions), accuracy="")
                scored: list[bool] = []

                def tick(result: EvalResult, task: Any = task, scored: list[bool] = scored) -> None:
                    if result.correct is not None:
                        scored.append(result.correct)
                    right = sum(scored)
                    shown = f"right {right}/{len(scored)}" if scored else ""
                    bar.update(task, advance=1, accuracy=shown)

                reports.append(evaluate(questions, answer, tick))
            report = reports[0]
            report.baseline = reports[1] if baseline else None
        out.print(
            summary_table(report.summary, report.baseline.summary if report.baseline else None)
        )
        if out_file:
            try:
                text = report.model_dump_json(
                    indent=1, exclude={"baseline"} if not baseline else None
                )
                out_file.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise QAError(f"cannot write {out_file}: {exc.strerror}") from exc
            out.print(f"Report written to {shown(str(out_file))}")
        if html_file:
            from qa.report import render_html

            try:
                html_file.write_text(render_html(report, file.name), encoding="utf-8")
            except OSError as exc:
                raise QAError(f"cannot write {html_file}: {exc.strerror}") from exc
            out.print(f"HTML report written to {shown(str(html_file))}")


@app.command("config")
def config_command(
    docs: DocsOpt = None,
    store: StoreOpt = None,
    llm_url: LlmUrlOpt = None,
    llm_model: LlmModelOpt = None,
    llm_api: LlmApiOpt = None,
    chroma_url: ChromaUrlOpt = None,
) -> None:
    """Show the effective settings, as qa.toml lines, and where each comes from."""
    with clean_errors():
        given = flags(
            docs=docs,
            store=store,
            llm_url=llm_url,
            llm_model=llm_model,
            llm_api=llm_api,
            chroma_url=chroma_url,
        )
        settings = settings_from(**given)
        origins = Settings.origins(**given)
        for name in Settings.model_fields:
            out.print(f"{shown(_toml(name, getattr(settings, name)))}  # {shown(origins[name])}")


def _toml(name: str, value: object) -> str:
    """One qa.toml line for a setting (secrets masked, unset ones commented out)."""
    if value is None:
        return f"# {name} is not set"
    if isinstance(value, SecretStr):
        return f'{name} = "********"'
    if isinstance(value, list):
        return f"{name} = [{', '.join(json.dumps(str(v)) for v in value)}]"
    if isinstance(value, (str, Path)):
        return f"{name} = {json.dumps(str(value))}"
    return f"{name} = {value}"


@app.command("info")
def info_command(
    docs: DocsOpt = None,
    store: StoreOpt = None,
    llm_url: LlmUrlOpt = None,
    llm_model: LlmModelOpt = None,
    llm_api: LlmApiOpt = None,
    chroma_url: ChromaUrlOpt = None,
) -> None:
    """Show the corpus, what the store holds, the models and their versions."""
    with clean_errors():
        settings = settings_from(
            docs=docs,
            store=store,
            llm_url=llm_url,
            llm_model=llm_model,
            llm_api=llm_api,
            chroma_url=chroma_url,
        )
        facts = api.info(settings=settings)
        state = (
            "up to date"
            if facts.up_to_date
            else "changed since the last index run"
            if facts.indexed
            else "not indexed yet"
        )
        rows = [
            ("corpus", ", ".join(facts.corpus)),
            ("store", f"{facts.store} (vectors: {facts.vectors_at})"),
            ("index", state),
            ("files", str(facts.files)),
            ("chunks", str(facts.chunks)),
            ("vectors", str(facts.vectors)),
            ("embedding", f"{facts.embedding_model} (ONNX Runtime)"),
            ("generator", facts.generator),
            ("reader", facts.reader),
            ("versions", ", ".join(f"{k} {v}" for k, v in facts.versions.items())),
        ]
        for label, value in rows:
            out.print(f"{label:<10} {shown(value)}")


@app.command("serve-llm")
def serve_llm(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
) -> None:
    """Serve the packaged Gemma over OpenAI-compatible HTTP, for --llm-url."""
    import time

    from qa.llm import serve

    with clean_errors():
        url = serve(host, port, settings_from().threads)
        out.print(f"Serving Gemma 3 270M at {url} (completions and chat); Ctrl-C stops it.")
        out.print(f"Use it with: qa chat --llm-url {url} --llm-api completions")
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
        if state["debug"]:
            raise
        context = getattr(exc, "ctx", None)
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
    (a killed run is safe too, see ``qa.store``)."""
    code = run()
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError):  # the reader went away, as with `qa ask … | head -1`
            stream.flush()
    os._exit(code)
