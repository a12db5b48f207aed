"""Table-driven tests of qa.answer.alignment: the LLM's phrase back to exact characters."""

from __future__ import annotations

import pytest

from qa.answer.alignment import align
from qa.models import Evidence

SENTENCES = [
    "OpenAI’s newly secured $200 million contract with the U.S. Department of Defense "
    "signals more than a strategic pivot.",
    "Under the “OpenAI for Government” initiative, teams in Washington, D.C. will prototype "
    "AI tools.",
    "OpenAI aims to transition to a public‑benefit corporation, complete with a potential IPO.",
    "Contentious points include Microsoft’s desire for a larger future stake.",
    "In response, OpenAI is diversifying its compute partnerships, engaging Oracle, "
    "Google Cloud and SoftBank.",
    "The bridge, built in 1932, spans 503 metres.",
    "This moment turns Microsoft from ally into rival.",
]


def evidence() -> list[Evidence]:
    at, items = 0, []
    for text in SENTENCES:
        items.append(
            Evidence(
                source="doc.txt", start=at, end=at + len(text), line_start=1, line_end=1, text=text
            )
        )
        at += len(text) + 1
    return items


@pytest.mark.parametrize(
    ("phrase", "question", "shown", "share"),
    [
        ("$200 million", "", "$200 million", 1.0),
        ("200 million", "", "$200 million", 1.0),  # the currency sign belongs to the amount
        ("OPENAI FOR GOVERNMENT", "", "OpenAI for Government", 1.0),  # case
        ("Washington, D.C.", "", "Washington, D.C", 1.0),  # the verifier adds the final stop
        ("public-benefit corporation", "", "public‑benefit corporation", 1.0),  # U+2011 hyphen
        ("public benefit corporation", "", "public‑benefit corporation", 1.0),
        ("Oracle, Google Cloud, and SoftBank", "", "Oracle, Google Cloud and SoftBank", 1.0),
        ("Oracle, Google Cloud, SoftBank", "", "Oracle, Google Cloud and SoftBank", 1.0),
        ("the larger future stake", "", "larger future stake", 1.0),  # an added article
        ("Microsoft’s desire", "", "Microsoft’s desire", 1.0),
        ("Microsoft", "Who wants a larger stake?", "Microsoft", 1.0),  # without the "'s"
        ("Microsoft's", "Who wants a larger stake?", "Microsoft’s", 1.0),
        ("Microsofts desire", "", None, 0.0),  # a misspelt word is not the text
        # words of the question around a phrase of the text
        ("Microsoft wants a larger future stake", "What does Microsoft want?",
         "larger future stake", 0.6),
        ("503 metres", "How long is the bridge?", "503 metres", 1.0),
        # an answer put as a sentence: only its own word need be in the text
        ("Microsoft was an ally.", "What was Microsoft before it became a rival?", "ally", 1 / 3),
    ],
)  # fmt: skip
def test_align_finds_the_text_the_phrase_copies(
    phrase: str, question: str, shown: str | None, share: float
) -> None:
    found = align(phrase, evidence(), question)
    if shown is None:
        assert found is None
        return
    assert found is not None
    assert found.text == shown
    assert found.sentence.text[found.start : found.end] == shown
    assert found.share == pytest.approx(share)


@pytest.mark.parametrize(
    ("phrase", "question"),
    [
        ("Sam Altman", "Who is OpenAI's chief executive?"),  # invented
        ("$1.5 billion", "How much is the contract worth?"),  # a number the text lacks
        ("OpenAI's chief executive is Sam Altman", "Who is OpenAI's chief executive?"),
        ("Paris", "Where will the teams work?"),
        ("the", "What is it?"),  # nothing but a function word
        ("built in 1950", "When was the bridge built?"),  # the wrong year beside a right word
    ],
)
def test_align_refuses_what_the_text_does_not_hold(phrase: str, question: str) -> None:
    assert align(phrase, evidence(), question) is None


def test_the_first_sentence_with_an_exact_match_wins() -> None:
    found = align("OpenAI", evidence())
    assert found is not None and found.sentence.start == 0


@pytest.mark.parametrize(
    ("phrase", "shown"),
    [
        ("--user-name", "--user-name"),  # the marks the words alone would drop
        ("typer.prompt()", "typer.prompt()"),
        ("user-name", "user-name"),  # none the phrase does not have
        ("is_eager=True.", "is_eager=True"),  # a full stop is the sentence's
    ],
)
def test_align_keeps_the_marks_around_a_name_in_code(phrase: str, shown: str) -> None:
    sentence = "It would be `--user-name`, so call `typer.prompt()` with `is_eager=True`."
    item = Evidence(
        source="d.md", start=0, end=len(sentence), line_start=1, line_end=1, text=sentence
    )
    found = align(phrase, [item])
    assert found is not None
    assert found.text == shown
