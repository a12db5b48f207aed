"""Tests for qa.answer.yes_no: the judge's verdict on one sentence, from its first token's
probabilities, and how the reader hands it a yes/no question."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from qa.answer.generator import Generator
from qa.answer.reading import read
from qa.answer.yes_no import Judge, Judged, first_token_probability, supporting
from qa.models import Evidence, Passage
from tests.fakes import ScriptedLLM, TokenLLM
from tests.test_reading import PROMPT, ScriptedReader, passages  # noqa: F401
from tests.test_verifier import CAMPUS, CONTRACT, WEAPONS, doc, evidence  # noqa: F401

JUDGE_PROMPT = Path(__file__).resolve().parent.parent / "prompts" / "yes-no.txt"


def judged(yes: float | None, no: float | None) -> Judged:
    sentence = Evidence(source="a.txt", start=0, end=4, line_start=1, line_end=1, text="Text")
    return Judged(sentence, yes, no)


@pytest.mark.parametrize(
    ("yes", "no", "verdict", "probability"),
    [
        (0.90, 0.05, "Yes", 0.90),
        (0.65, 0.30, None, 0.65),  # the model leans to "Yes": a "Yes" needs more
        (0.20, 0.60, "No", 0.60),
        (0.40, 0.50, None, 0.50),
        (None, None, None, 0.0),  # no probabilities: nothing is answered
    ],
)
def test_a_verdict_needs_its_probability(
    yes: float | None, no: float | None, verdict: str | None, probability: float
) -> None:
    assert judged(yes, no).verdict == verdict
    assert judged(yes, no).probability == probability


def test_first_token_probability_adds_up_the_spellings_of_the_word() -> None:
    first = {"Yes": math.log(0.5), " yes": math.log(0.1), "YES": math.log(0.1)}
    first |= {"Yesterday": math.log(0.2), "No": math.log(0.1)}
    assert first_token_probability(first, "yes") == pytest.approx(0.7)
    assert first_token_probability(first, "no") == pytest.approx(0.1)


def test_the_supporting_sentence_is_the_most_similar_with_the_question_terms(doc: Path) -> None:  # noqa: F811
    weapons = evidence(doc, WEAPONS, similarity=0.5)
    campus = evidence(doc, CAMPUS, similarity=0.6)
    assert supporting("Does the contract forbid weapons development?", [campus, weapons]) == weapons
    assert supporting("Is the contract about weapons?", []) is None


def test_the_judge_reads_one_sentence_and_the_question(doc: Path) -> None:  # noqa: F811
    first = {"No": math.log(0.7), "Yes": math.log(0.2), "UN": math.log(0.1)}
    llm = TokenLLM(tokens=[("No", math.log(0.7))], alternatives=[first])
    verdict = Judge(llm, JUDGE_PROMPT).judge(
        "Is OpenAI allowed to build weapons?", evidence(doc, WEAPONS)
    )
    assert (verdict.yes, verdict.no) == (pytest.approx(0.2), pytest.approx(0.7))
    assert verdict.verdict == "No"
    [prompt] = llm.prompts
    user = f"Sentence: {WEAPONS}\n\nQuestion: Is OpenAI allowed to build weapons?<|im_end|>"
    assert prompt.endswith(f"{user}\n<|im_start|>assistant\n")
    assert prompt.startswith(Judge(llm, JUDGE_PROMPT).prefix())  # what is read ahead


def test_a_backend_without_alternatives_gives_no_verdict(doc: Path) -> None:  # noqa: F811
    llm = TokenLLM(tokens=[("Yes", math.log(0.9))])
    verdict = Judge(llm, JUDGE_PROMPT).judge("Is the campus in Redmond?", evidence(doc, CAMPUS))
    assert (verdict.yes, verdict.no, verdict.verdict) == (None, None, None)


def test_a_yes_no_question_goes_to_the_judge_not_to_the_answer_prompt(
    passages: list[Passage],  # noqa: F811
) -> None:
    answering = ScriptedLLM(reply="Yes")
    first = {"Yes": math.log(0.9)}
    judging = TokenLLM(tokens=[("Yes", math.log(0.9))], alternatives=[first])
    scored: list[str] = []

    def score(question: str, sentences: list[Evidence]) -> None:
        scored.append(question)
        for sentence in sentences:
            sentence.similarity = 0.9 if sentence.text == CONTRACT else 0.1

    judge = (Judge(judging, JUDGE_PROMPT), score)
    question = "Is the contract worth $200 million?"
    reading = read(question, passages, ScriptedReader(), Generator(answering, PROMPT), judge=judge)
    assert answering.prompts == [] and scored == [question]
    assert reading.judged is not None and reading.judged.sentence.text == CONTRACT
    assert reading.judged.verdict == "Yes" and reading.generated is None

    reading = read(
        "Where is the campus?",
        passages,
        ScriptedReader(),
        Generator(answering, PROMPT),
        judge=judge,
    )
    assert reading.judged is None and len(answering.prompts) == 1


def test_a_question_offering_a_choice_is_not_yes_no(passages: list[Passage]) -> None:  # noqa: F811
    judging = TokenLLM(tokens=[("Yes", 0.0)], alternatives=[{"Yes": 0.0}])
    judge = (Judge(judging, JUDGE_PROMPT), lambda question, sentences: None)
    answering = ScriptedLLM(reply="Redmond")
    question = "Is the campus in Redmond or in Seattle?"
    reading = read(question, passages, ScriptedReader(), Generator(answering, PROMPT), judge=judge)
    assert reading.judged is None and judging.prompts == []
