"""Tests for qa.cli.display: the quote under an answer shows the words that answer."""

from __future__ import annotations

import pytest
from rich.console import Console

from qa.cli import display
from qa.cli.display import QUOTE_CHARS, excerpt, quote_markdown
from qa.cli.report import render_html
from qa.evaluation.evaluate import EvalQuestion, EvalReport, EvalResult, summarise
from qa.models import Citation

FILLER = "the partnership with several suppliers of cloud computing went on for years and "


def citation(quote: str, answer: str | None, occurrence: int = 0) -> Citation:
    start = end = None
    if answer is not None:
        start = -1
        for _ in range(occurrence + 1):
            start = quote.index(answer, start + 1)
        end = start + len(answer)
    return Citation(
        source="doc.md",
        start=0,
        end=len(quote),
        line_start=1,
        line_end=1,
        quote=quote,
        answer_start=start,
        answer_end=end,
    )


def shown(cited: Citation, full: bool = False) -> str:
    return "".join(excerpt(cited, full))


def test_an_answer_at_the_end_of_a_long_sentence_is_in_the_quote() -> None:
    quote = (
        "However, " + FILLER * 5 + "directly competing with entities such as Palantir Technologies."
    )
    assert len(quote) > 400
    before, answer, after = excerpt(citation(quote, "Palantir Technologies"))
    assert answer == "Palantir Technologies"
    assert before.startswith("…") and not after.endswith("…")
    assert len(before + answer + after) <= QUOTE_CHARS + 2
    assert before[1] != " " and quote.count(before[1:].split()[0]) > 0  # whole words only


def test_an_answer_that_is_the_first_word_keeps_the_start() -> None:
    quote = "Palantir " + FILLER * 6
    before, answer, after = excerpt(citation(quote, "Palantir"))
    assert (before, answer) == ("", "Palantir")
    assert after.endswith("…")
    assert quote.startswith(before + answer + after[:-1])


def test_the_answer_marked_is_the_one_the_offsets_name() -> None:
    quote = "Oracle said no. " + FILLER * 4 + "In the end, Oracle said yes."
    second = citation(quote, "Oracle", occurrence=1)
    _, answer, after = excerpt(second)
    assert answer == "Oracle"
    assert after == " said yes."
    assert quote_markdown(second).endswith("**Oracle** said yes\\.")


def test_full_and_short_quotes_are_whole() -> None:
    quote = "Microsoft approved it in April."
    assert shown(citation(quote, "April")) == quote
    long = FILLER * 4 + "ends here."
    assert shown(citation(long, "here"), full=True) == " ".join(long.split())


def test_a_yes_no_verdict_marks_nothing_and_keeps_a_sentence_that_fits() -> None:
    quote = "OpenAI's usage policies prohibit weapons development."
    assert excerpt(citation(quote, None)) == ("", "", quote)
    before, answer, after = excerpt(citation(FILLER * 4, None))
    assert (before, answer) == ("", "") and after.endswith("…")


def test_the_terminal_shows_the_answer_in_bold(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Console(record=True, force_terminal=True, color_system="standard", width=200)
    monkeypatch.setattr(display, "out", terminal)
    display.show_citation(1, citation(FILLER * 4 + "competing with Palantir.", "Palantir"))
    assert "\x1b[1mPalantir\x1b[0m" in terminal.export_text(styles=True)


def test_the_html_report_marks_the_answer() -> None:
    quote = FILLER * 4 + "competing with Palantir."
    cited = citation(quote, "Palantir")
    result = EvalResult(
        id="1",
        question="Who?",
        answer="Palantir [1]",
        abstained=False,
        citations=[cited],
        latency_s=0.1,
    )
    summary = summarise([result], [EvalQuestion(id="1", question="Who?", answers=["Palantir"])])
    html = render_html(EvalReport(summary=summary, results=[result]), "t")
    assert "competing with <mark>Palantir</mark>." in html
