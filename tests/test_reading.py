"""Reading plumbing: passages map spans to sentences, the LLM reads its context in
document order, its phrase is aligned to a sentence, and the verifier answers from that.

The span reader is scripted here; tests/test_span_reader.py runs the real one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from qa.answer import abstention
from qa.answer.generator import Generator, context_text
from qa.answer.reading import LLM_PASSAGES, Reading, llm_context, locate, read
from qa.answer.span_reader import Found
from qa.answer.verifier import verify_reading
from qa.models import Passage
from tests.fakes import ScriptedLLM
from tests.test_verifier import (  # noqa: F401
    CAMPUS,
    CONTRACT,
    COUNTRIES,
    WEAPONS,
    Fixed,
    doc,
    evidence,
)

PROMPT = Path(__file__).resolve().parent.parent / "prompts" / "answer.txt"


class ScriptedReader:
    """Finds the given phrases, in order, in whichever passage holds them."""

    def __init__(self, *phrases: tuple[str, float, float]) -> None:
        self.phrases = phrases
        self.calls: list[tuple[str, list[str]]] = []

    def read(self, question: str, passages: Sequence[str], top: int = 5) -> list[Found]:
        self.calls.append((question, list(passages)))
        found = []
        for phrase, score, no_answer in self.phrases:
            for i, text in enumerate(passages):
                if phrase in text:
                    at = text.index(phrase)
                    found.append(Found(i, at, at + len(phrase), phrase, score, no_answer))
                    break
        return found[:top]


@pytest.fixture
def passages(doc: Path) -> list[Passage]:  # noqa: F811
    """Three passages, best first, as retrieval ranks them: not in document order."""
    return [
        Passage(sentences=[evidence(doc, COUNTRIES)]),
        Passage(sentences=[evidence(doc, CONTRACT), evidence(doc, CAMPUS)]),
        Passage(sentences=[evidence(doc, WEAPONS)]),
    ]


def texts(reading: Reading) -> list[str]:
    return [s.text for s in reading.context]


def test_passage_text_joins_sentences_and_maps_spans_back(passages: list[Passage]) -> None:
    passage = passages[1]
    assert passage.text == f"{CONTRACT} {CAMPUS}"
    at = passage.text.index("Redmond")
    sentence, start = passage.sentence_at(at, at + len("Redmond")) or (None, -1)
    assert sentence is not None and sentence.text == CAMPUS
    assert sentence.text[at - start : at - start + len("Redmond")] == "Redmond"
    assert passage.sentence_at(passage.text.index("Defense"), passage.text.index("Redmond")) is None


def test_locate_drops_spans_across_sentences(passages: list[Passage]) -> None:
    text = passages[1].text
    across = Found(1, text.index("Defense"), text.index("Redmond") + 7, "x", 5.0, 0.0)
    inside = Found(0, 3, 7, "2020", 4.0, 0.0)
    [candidate] = locate([across, inside], passages)
    assert candidate.sentence.text == COUNTRIES
    assert candidate.sentence.text[candidate.start : candidate.end] == "2020"


def test_llm_context_is_the_first_passages_and_the_readers_best_in_document_order(
    passages: list[Passage],
) -> None:
    assert LLM_PASSAGES == 2
    first_two = [CONTRACT, CAMPUS, COUNTRIES]
    assert [s.text for s in llm_context(passages, False, None)] == first_two
    assert [s.text for s in llm_context(passages, False, 1)] == first_two
    everything = [CONTRACT, CAMPUS, COUNTRIES, WEAPONS]
    assert [s.text for s in llm_context(passages, False, 2)] == everything
    assert [s.text for s in llm_context(passages, True, None)] == everything
    assert llm_context([], True, None) == []


def test_read_shows_the_llm_its_context_and_aligns_its_phrase(passages: list[Passage]) -> None:
    llm = ScriptedLLM(reply=" redmond, washington.")
    reader = ScriptedReader(("$200 million", 9.0, 1.0), ("2020", 3.0, 2.0))
    generator = Generator(llm, PROMPT)
    reading = read("Where is the campus?", passages, reader, generator)
    assert [c.sentence.text for c in reading.candidates] == [CONTRACT, COUNTRIES]
    assert texts(reading) == [CONTRACT, CAMPUS, COUNTRIES]
    assert llm.prompts == [generator.render("Where is the campus?", reading.context)]
    user = f"Text:\n{context_text(reading.context)}\n\nQuestion: Where is the campus?"
    assert user in llm.prompts[0]
    assert reading.generated is not None and reading.generated.text == " redmond, washington."
    assert reading.aligned is not None
    assert reading.aligned.text == "Redmond, Washington"  # the file's own spelling
    assert [s.text for s in reading.sentences] == [CAMPUS, CONTRACT, COUNTRIES]
    assert reading.extract_s >= 0


def test_read_whole_shows_the_llm_every_passage(passages: list[Passage]) -> None:
    llm = ScriptedLLM(reply="NOT FOUND")
    reading = read("Where?", passages, ScriptedReader(), Generator(llm, PROMPT), whole=True)
    assert texts(reading) == [CONTRACT, CAMPUS, COUNTRIES, WEAPONS]
    assert WEAPONS in llm.prompts[0]
    assert reading.generated is not None and reading.generated.declined
    assert reading.aligned is None


def test_a_phrase_not_in_the_context_aligns_nowhere(passages: list[Passage]) -> None:
    generator = Generator(ScriptedLLM(reply="Seattle, Oregon"), PROMPT)
    reading = read("Where is the campus?", passages, ScriptedReader(), generator)
    assert reading.generated is not None and reading.aligned is None


def test_a_yes_or_no_to_a_yes_no_question_is_not_aligned(passages: list[Passage]) -> None:
    generator = Generator(ScriptedLLM(reply="No"), PROMPT)
    reading = read("Is OpenAI allowed to build weapons?", passages, ScriptedReader(), generator)
    assert reading.generated is not None and reading.generated.yes_no == "No"
    assert reading.aligned is None


def test_read_without_an_llm_asks_no_model(passages: list[Passage]) -> None:
    reading = read("Where?", passages, ScriptedReader(("Redmond", 9.0, 1.0)))
    assert reading.generated is None and reading.context == []
    assert [c.sentence.text for c in reading.candidates] == [CAMPUS]


def test_read_without_a_reader_still_asks_the_llm(passages: list[Passage]) -> None:
    llm = ScriptedLLM(reply="Redmond")
    reading = read("Where is the campus?", passages, None, Generator(llm, PROMPT))
    assert reading.candidates == []
    assert texts(reading) == [CONTRACT, CAMPUS, COUNTRIES]
    assert reading.aligned is not None and reading.aligned.sentence.text == CAMPUS


def test_read_of_no_passages_asks_no_model() -> None:
    llm = ScriptedLLM(reply="Redmond")
    reading = read("Where?", [], ScriptedReader(), Generator(llm, PROMPT))
    assert reading == Reading(extract_s=reading.extract_s)
    assert llm.prompts == []


def test_the_llms_aligned_phrase_is_answered_and_cited(
    passages: list[Passage], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(abstention, "model_for", lambda mode, fit=None: Fixed(0.9))
    generator = Generator(ScriptedLLM(reply=" Redmond, Washington."), PROMPT)
    reader = ScriptedReader(("$200 million", 9.0, 1.0))
    reading = read("Where is the main campus?", passages, reader, generator)
    verdict = verify_reading("Where is the main campus?", reading, "combined", 0.5)
    assert verdict.answer == "Redmond, Washington [1]"
    [citation] = verdict.citations
    assert citation.quote == CAMPUS


def test_the_extractive_reader_alone_answers_with_its_span(
    passages: list[Passage], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(abstention, "model_for", lambda mode, fit=None: Fixed(0.9))
    reading = read("How much is the contract worth?", passages, ScriptedReader(("$200", 8.0, -4.0)))
    verdict = verify_reading("How much is the contract worth?", reading, "extractive", 0.5)
    assert verdict.answer == "$200 [1]"
    [citation] = verdict.citations
    assert citation.quote == CONTRACT
    assert verdict.signals is not None
    assert (verdict.signals.reader_score, verdict.signals.reader_margin) == (8.0, 12.0)
    assert not verdict.signals.llm_asked
