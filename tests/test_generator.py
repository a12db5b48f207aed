"""Tests for qa.answer.generator: the prompt the LLM reads, and what is taken from its reply."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from qa.answer.generator import STOP, Generated, Generator, context_text, not_found_probability
from qa.errors import ModelError
from qa.models import Evidence
from tests.fakes import ScriptedLLM, TokenLLM

PROMPT = Path(__file__).resolve().parent.parent / "prompts" / "answer.txt"


# --- Generated -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Paris", "Paris"),
        ("Paris.", "Paris"),
        ('"Paris"', "Paris"),
        ("“Paris.”", "Paris"),
        ('"Paris".', "Paris"),
        ("Answer: Paris.", "Paris"),
        ("answer : 'Paris'", "Paris"),
        ("A: $200 million.", "$200 million"),
        ("**Redmond, Washington**", "Redmond, Washington"),
        ("  Paris\nBecause it is the capital.", "Paris"),
        ("\n\n  Paris;  ", "Paris"),
        ("U.S.", "U.S"),
        ("Apple", "Apple"),
        ("Azure: a cloud", "Azure: a cloud"),
        ("", ""),
        ("   ", ""),
        ('"."', ""),
    ],
)
def test_phrase_strips_labels_quotes_and_a_final_stop(raw: str, expected: str) -> None:
    assert Generated(raw).phrase == expected


@pytest.mark.parametrize(
    ("raw", "declined"),
    [
        ("NOT FOUND", True),
        (" Not found.", True),
        ('"not  found in the text"', True),
        ("Answer: NOT FOUND", True),
        ("", True),
        ("  \n", True),
        ("Paris", False),
        ("Not foundations", False),
        ("It was not found until 1921", False),
    ],
)
def test_declined_is_not_found_or_nothing(raw: str, declined: bool) -> None:
    assert Generated(raw).declined is declined


@pytest.mark.parametrize(
    ("raw", "yes_no"),
    [
        ("Yes", "Yes"),
        (" no.", "No"),
        ("No, the contract forbids it.", "No"),
        ("Answer: YES", "Yes"),
        ("Nobody", None),
        ("Yesterday", None),
        ("Paris", None),
        ("", None),
    ],
)
def test_yes_no_is_a_leading_yes_or_no(raw: str, yes_no: str | None) -> None:
    assert Generated(raw).yes_no == yes_no


# --- context_text and render ---------------------------------------------------


def item(text: str, source: str = "doc.txt") -> Evidence:
    return Evidence(source=source, start=0, end=len(text), line_start=1, line_end=1, text=text)


EVIDENCE = [
    item("Microsoft’s main campus\nsits in  Redmond, Washington."),
    item("OpenAI signed a $200 million contract."),
    item("The zoo opened in 1921.", "zoo.txt"),
]
CONTEXT = (
    "Microsoft’s main campus sits in Redmond, Washington. OpenAI signed a $200 million "
    "contract.\n\nThe zoo opened in 1921."
)


def test_context_runs_sentences_of_a_file_on_and_keeps_files_apart() -> None:
    assert context_text(EVIDENCE) == CONTEXT
    assert context_text([]) == ""


def test_render_fills_the_chatml_prompt_with_evidence_and_question() -> None:
    prompt = Generator(ScriptedLLM(), PROMPT).render("Where is   the\nmain campus?", EVIDENCE)
    question = "Where is the main campus?"
    template = PROMPT.read_text(encoding="utf-8")
    assert prompt == template.replace("{context}", CONTEXT).replace("{question}", question)
    assert prompt.startswith("<|im_start|>system\n")
    user = f"<|im_start|>user\nText:\n{CONTEXT}\n\nQuestion: {question}<|im_end|>\n"
    assert prompt.endswith(user + "<|im_start|>assistant\n")


def test_a_missing_prompt_template_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read prompt template"):
        Generator(ScriptedLLM(), tmp_path / "missing.txt")


# --- answer --------------------------------------------------------------------


def test_answer_sends_the_prompt_with_the_stop_sequences() -> None:
    llm = ScriptedLLM(reply=" Redmond, Washington")
    generator = Generator(llm, PROMPT)
    generated = generator.answer("Where is the main campus?", EVIDENCE)
    # a model that gives no log-probabilities: unknown, not 0.0 (certainty)
    assert generated == Generated(" Redmond, Washington", None)
    assert llm.prompts == [generator.render("Where is the main campus?", EVIDENCE)]
    assert llm.calls == [{"stop": STOP}]


def test_answer_averages_the_tokens_log_probabilities() -> None:
    llm = TokenLLM(tokens=[(" $200", -0.5), (" million", -0.25)])
    generated = Generator(llm, PROMPT).answer("How much?", EVIDENCE)
    assert generated == Generated(" $200 million", -0.375)
    assert generated.phrase == "$200 million"


def test_answer_streams_each_token_to_on_token() -> None:
    llm = TokenLLM(tokens=[(" $200", -1.0), (" million", -0.5)])
    tokens: list[str] = []
    generated = Generator(llm, PROMPT).answer("How much?", EVIDENCE, tokens.append)
    assert tokens == [" $200", " million"]
    assert generated == Generated(" $200 million", -0.75)
    assert len(llm.prompts) == 1


def test_a_model_that_stops_at_once_has_declined() -> None:
    tokens: list[str] = []
    generated = Generator(TokenLLM(tokens=[]), PROMPT).answer("How much?", EVIDENCE, tokens.append)
    assert "".join(tokens) == ""
    assert generated == Generated("", None)
    assert generated.declined


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ({"NOT": math.log(0.3), "$": math.log(0.6)}, 0.3),
        ({"Not": math.log(0.1), " not": math.log(0.05), "$": math.log(0.8)}, 0.15),
        ({"No": math.log(0.7), "Yes": math.log(0.3)}, 0.0),  # a yes/no answer, not a decline
        ({"N": math.log(0.2), "$": math.log(0.7)}, 0.0),  # too short to tell
        ({}, None),
    ],
)
def test_not_found_probability_sums_the_first_tokens_that_begin_it(
    first: dict[str, float], expected: float | None
) -> None:
    found = not_found_probability([first, {"NOT": 0.0}])
    assert found == (None if expected is None else pytest.approx(expected))


def test_a_backend_without_alternatives_leaves_it_unmeasured() -> None:
    assert not_found_probability([]) is None


def test_the_prefix_read_ahead_begins_every_answer_prompt() -> None:
    """What is read while the user types must be exactly the start of the prompt the
    question then sends, or the model's cache of it is no use."""
    generator = Generator(ScriptedLLM(), PROMPT)
    corpus = EVIDENCE
    for question in ("Who built it?", "who built it", "Q"):
        assert generator.render(question, corpus).startswith(generator.prefix(corpus))
        # a corpus too large to read whole: only what comes before the evidence is shared
        assert generator.render(question, corpus).startswith(generator.prefix(None))
    assert generator.prefix(corpus).endswith(CONTEXT + "\n\nQuestion:")
    assert generator.prefix(None).endswith("<|im_start|>user\nText:\n")
