"""How answers, sources and numbers are shown, in a terminal and in the HTML report.

Document text is shown, never obeyed: every control character becomes its visible
escape, so a document cannot clear the screen or retitle the window. ``--json`` and
the API keep the exact text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from rich.markdown import Markdown

    from qa.evaluate import EvalSummary
    from qa.models import Answer, Citation

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


def show_citation(number: int, citation: Citation, full: bool = False) -> None:
    """One source under an answer; long quotes are cut unless ``full``."""
    quote = " ".join(citation.quote.split())
    if not full and len(quote) > 160:
        quote = quote[:157] + "..."
    out.print(
        f"[{number}] {shown(citation.source)}{where(citation)} "
        f"(chars {citation.start}-{citation.end})\n    “{shown(quote)}”"
    )


def show_answer(answer: Answer) -> None:
    """The answer and its sources as plain lines (for pipes, files and tests)."""
    out.print(shown(answer.answer))
    if answer.citations:
        out.print()
        for number, citation in enumerate(answer.citations, 1):
            show_citation(number, citation)


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
            f"   > {md(' '.join(citation.quote.split()))}",
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
