"""Tests for qa.answer.support: whether one sentence shows that a phrase answers the question,
from the LLM's first-token probability of "Yes"."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from qa.answer.support import CHECK_TOKENS, SupportCheck
from qa.llm.inprocess import LlamaCppLLM
from qa.models import Evidence
from qa.settings import Settings
from tests.fakes import TokenLLM

CHECK_PROMPT = Path(__file__).resolve().parent.parent / "prompts" / "check.txt"


def sentence(text: str) -> Evidence:
    return Evidence(source="a.txt", start=0, end=len(text), line_start=1, line_end=1, text=text)


def yes_llm() -> TokenLLM:
    first = {"Yes": math.log(0.8), "No": math.log(0.15)}
    return TokenLLM(tokens=[("Yes", math.log(0.8))], alternatives=[first])


def user_turn(prompt: str) -> str:
    assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")
    return prompt.rsplit("<|im_start|>user\n", 1)[1].removesuffix(
        "<|im_end|>\n<|im_start|>assistant\n"
    )


def test_the_check_reads_the_sentence_the_question_and_the_phrase() -> None:
    llm = yes_llm()
    check = SupportCheck(llm, CHECK_PROMPT)
    assert check("Who built  it?", sentence("It was built\nby Ana."), "Ana") == pytest.approx(0.8)
    [prompt] = llm.prompts
    assert user_turn(prompt) == (
        "Document: a\nSentence: It was built by Ana.\nQuestion: Who built it?\nProposed answer: Ana"
    )


def test_the_document_title_is_its_file_name() -> None:
    llm = yes_llm()
    evidence = sentence("Its wheel was made by Ana Ruiz.").model_copy(
        update={"source": "/docs/Old_Mill.txt"}
    )
    SupportCheck(llm, CHECK_PROMPT)("Who made the mill's wheel?", evidence, "Ana Ruiz")
    [prompt] = llm.prompts
    assert user_turn(prompt).splitlines()[:2] == [
        "Document: Old Mill",
        "Sentence: Its wheel was made by Ana Ruiz.",
    ]


def test_every_check_starts_with_the_shared_prompt_read_ahead() -> None:
    """The worked examples are read ahead (``Pipeline.prepare``); every check's prompt
    starts with exactly that text, so the model's cache of it is reused."""
    llm = yes_llm()
    check = SupportCheck(llm, CHECK_PROMPT)
    check("Who built it?", sentence("It was built by Ana."), "Ana")
    [asked] = llm.prompts
    assert check.prefix().endswith("<|im_start|>user\nDocument:")
    assert asked.startswith(check.prefix())


def test_a_backend_without_alternatives_gives_no_probability() -> None:
    llm = TokenLLM(tokens=[("Yes", math.log(0.9))])
    assert SupportCheck(llm, CHECK_PROMPT)("Who?", sentence("Ana did."), "Ana") is None


BRIDGE = "The harbour bridge was designed by Ana Ruiz and opened to traffic in 1931."


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "answer", "supported"),
    [
        ("Who was the architect of the harbour bridge?", "Ana Ruiz", True),
        ("When could cars first cross the bridge?", "1931", True),
        ("Who was the architect of the railway station?", "Ana Ruiz", False),
        ("When was the harbour bridge closed to traffic?", "1931", False),
        ("Who demolished the harbour bridge?", "Ana Ruiz", False),
    ],
)
def test_the_model_says_whether_the_sentence_answers_what_was_asked(
    question: str, answer: str, supported: bool
) -> None:
    check = SupportCheck(
        LlamaCppLLM(threads=Settings().threads, max_tokens=CHECK_TOKENS), CHECK_PROMPT
    )
    probability = check(question, sentence(BRIDGE), answer)
    assert probability is not None
    assert (probability >= 0.5) is supported, probability
