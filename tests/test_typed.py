"""Tests for qa.typed: a question typed casually is the same question."""

from __future__ import annotations

import json

import pytest

from qa.typed import casing, normalise

from .conftest import REPO, SHARED_DATA

CORPUS = """In May OpenAI won a contract from the U.S. Department of Defense.
It launched OpenAI for Government, and the government AI work grows.
You can set TYPER_USE_RICH to turn Rich off, as Microsoft leads and the department says.
## Options For The Department Of Defense"""


def casual(question: str) -> str:
    """How people type it: lower case, no question mark."""
    return question.lower().rstrip(" ?")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("is openai allowed to build weapons", "Is OpenAI allowed to build weapons?"),
        ("Is OpenAI allowed to build weapons?", "Is OpenAI allowed to build weapons?"),
        ("  who  leads\tMICROSOFT ??", "Who leads Microsoft?"),
        ("what is the u.s. department of defense", "What is the U.S. Department of Defense?"),
        ("who runs openai for government", "Who runs OpenAI for Government?"),
        ("what does typer_use_rich do", "What does TYPER_USE_RICH do?"),
        ("What about “Google”—and Pentagon?", 'What about "google"-and pentagon?'),
    ],
)
def test_normalise_gives_the_corpus_its_case(typed: str, expected: str) -> None:
    assert normalise(typed, casing([CORPUS])) == expected


def test_a_word_written_only_where_any_word_is_capitalised_is_lower_case() -> None:
    """Sentence starts and lines in capitals (headings) say nothing of a word's case."""
    cased = casing(["Microsoft said no. Options For Everyone"])
    assert normalise("what about MICROSOFT options", cased) == "What about microsoft options?"
    cased = casing(["We asked Microsoft and then microsoft.com about options."])
    assert normalise("what about MICROSOFT options", cased) == "What about Microsoft options?"


def test_punctuation_alone_is_left_for_the_checks() -> None:
    assert normalise(" ?? ", casing([CORPUS])) == "??"


SETS = {
    "seed-questions": REPO / "seeds",
    "docs-sample": SHARED_DATA / "docs-sample" / "corpus",
    "nq-sample": SHARED_DATA / "nq-sample" / "corpus",
    "squad2-dev-sample": SHARED_DATA / "squad2-dev-sample" / "corpus",
}


@pytest.mark.parametrize("name", sorted(SETS))
def test_each_public_question_and_its_casual_form_are_one_question(name: str) -> None:
    """The metamorphic check of the issue: the same input reaches every step, so the
    same decision follows (an end-to-end test asks some of them through the model)."""
    questions = SHARED_DATA / name / "questions.jsonl"
    if not questions.exists():
        pytest.skip(f"{questions} is not here")
    cased = casing(p.read_text(encoding="utf-8") for p in sorted(SETS[name].iterdir()))
    asked = [json.loads(line)["question"] for line in questions.read_text().splitlines() if line]
    same = [normalise(q, cased) == normalise(casual(q), cased) for q in asked]
    assert sum(same) / len(same) >= 0.97
