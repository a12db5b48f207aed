"""How answers, sources and numbers are shown, in a terminal and in the HTML report.

Document text is shown, never obeyed: every control character becomes its visible
escape, so a document cannot clear the screen or retitle the window. ``--json`` and
the API keep the exact text.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from rich.markdown import Markdown

    from qa.evaluation.evaluate import EvalSummary
    from qa.models import Answer, Citation, IndexProgress

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
# Control characters (ESC starts the sequences that clear a screen or retitle a window)
# and the bidirectional overrides that reorder what a reader sees.
HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """Text for a terminal: each control character shown as its escape (``\\x1b``)."""
    return HIDDEN.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def shown(text: str) -> str:
    """Text for Rich: control characters made visible, markup brackets escaped."""
    return escape(visible(text))


def md(text: str) -> str:
    """Text for Markdown: made visible, and every character Markdown reads escaped, so
    what shows is exactly what the file holds."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|>~<])", r"\\\1", visible(text))


def cell(value: object) -> str:
    """A metric in a table: three decimals for a float, ``-`` for none measured."""
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def where(citation: Citation) -> str:
    """Where a quote is, after its file name: ``p. N`` in a PDF, else its line or lines."""
    if citation.page:
        return f" p. {citation.page}"
    if citation.line_start == citation.line_end:
        return f":{citation.line_start}"
    return f":{citation.line_start}-{citation.line_end}"


def warn(message: str) -> None:
    err.print(f"warning: {shown(message)}")


def error(message: str) -> None:
    err.print(f"error: {shown(message)}")


QUOTE_CHARS = 160


def excerpt(citation: Citation, full: bool = False) -> tuple[str, str, str]:
    """The quote as the text before the answer, the answer and the text after it, spaces
    collapsed. Unless ``full``, a quote over QUOTE_CHARS keeps a window of whole words
    around the answer, with "…" where text is left out: the reader sees the words that
    answer wherever they sit in the sentence. A quote without an answer in it (a yes/no
    verdict) is cut after whole words."""
    quote, start, end = citation.quote, citation.answer_start, citation.answer_end
    if start is None or end is None:
        start = end = 0
    before, answer, after = (
        re.sub(r"\s+", " ", part) for part in (quote[:start], quote[start:end], quote[end:])
    )
    before, after = before.lstrip(), after.rstrip()
    room = QUOTE_CHARS - len(answer)
    if full or len(before) + len(answer) + len(after) <= QUOTE_CHARS:
        return before, answer, after
    keep_after = min(len(after), max(room // 2, room - len(before)))
    keep_before = max(0, room - keep_after)
    if len(before) > keep_before:
        cut = before[len(before) - keep_before :]
        before = "…" + (cut.split(" ", 1)[1] if " " in cut[1:] else cut).lstrip()
    if len(after) > keep_after:
        cut = after[:keep_after]
        after = (cut.rsplit(" ", 1)[0] if " " in cut[:-1] else cut).rstrip() + "…"
    return before, answer, after


def show_citation(number: int, citation: Citation, full: bool = False) -> None:
    """One source under an answer, the answer's words in bold; long quotes are cut
    around them unless ``full``."""
    before, answer, after = excerpt(citation, full)
    marked = f"[bold]{shown(answer)}[/bold]" if answer else ""
    out.print(
        f"[{number}] {shown(citation.source)}{where(citation)} "
        f"(chars {citation.start}-{citation.end})\n    “{shown(before)}{marked}{shown(after)}”"
    )


def show_answer(answer: Answer) -> None:
    """The answer and its sources as plain lines (for pipes, files and tests)."""
    out.print(shown(answer.answer))
    if answer.citations:
        out.print()
        for number, citation in enumerate(answer.citations, 1):
            show_citation(number, citation)


def quote_markdown(citation: Citation) -> str:
    """A quote as Markdown, cut around the answer, the answer in bold."""
    before, answer, after = excerpt(citation)
    return md(before) + (f"**{md(answer)}**" if answer else "") + md(after)


def answer_markdown(answer: Answer) -> Markdown:
    """The answer and its sources as Markdown, for a terminal."""
    from rich.markdown import Markdown

    lines = [f"**{md(answer.answer)}**"]
    for number, citation in enumerate(answer.citations, 1):
        lines += [
            "",
            f"{number}. `{visible(citation.source)}{where(citation)}` "
            f"(chars {citation.start}-{citation.end})",
            "",
            f"   > {quote_markdown(citation)}",
        ]
    return Markdown("\n".join(lines))


def summary_table(summary: EvalSummary, baseline: EvalSummary | None = None) -> Table:
    """The eval metrics, with the baseline's beside them when it ran."""
    table = Table(title="qa eval")
    table.add_column("metric")
    table.add_column("qa", justify="right")
    if baseline:
        table.add_column("baseline", justify="right")
    columns = [summary.model_dump()] + ([baseline.model_dump()] if baseline else [])
    for name in columns[0]:
        table.add_row(name, *(cell(column[name]) for column in columns))
    return table


def progress_line(state: IndexProgress) -> str:
    """``12/28 files · 1,310 chunks · 0.21 MB/s · 0:41 left``."""
    left = state.seconds_left
    clock = "?" if left is None else f"{int(left) // 60}:{int(left) % 60:02d}"
    return (
        f"{state.files_done}/{state.files_total} files · {state.chunks_done:,} chunks · "
        f"{state.megabytes_per_second:.2f} MB/s · {clock} left"
    )


LOG_EVERY_S = 10.0


@contextmanager
def index_progress() -> Iterator[Callable[[IndexProgress], None]]:
    """Show an index run's progress on stderr: a live bar over the bytes to read on a
    terminal, else (a log file) one line every ten seconds."""
    from rich.progress import BarColumn, Progress, TextColumn

    live = err.is_terminal
    columns = (TextColumn("Indexing"), BarColumn(), TextColumn("{task.description}"))
    last = [time.monotonic()]
    with Progress(*columns, console=err, transient=True, disable=not live) as bar:
        task = bar.add_task("", total=None)

        def show(state: IndexProgress) -> None:
            if live:
                bar.update(
                    task,
                    completed=state.bytes_done,
                    total=state.bytes_total or None,
                    description=progress_line(state),
                )
            elif time.monotonic() - last[0] >= LOG_EVERY_S:
                last[0] = time.monotonic()
                err.print(f"indexing: {progress_line(state)}")

        yield show


def toml_line(name: str, value: object) -> str:
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
