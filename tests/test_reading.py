"""Reading plumbing: passages map spans to sentences, the LLM sees the best sentences,
and the verifier answers with the reader's span, cited by its own sentence.

The span reader is scripted here; tests/test_extractive.py runs the real one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from qa import abstention
from qa.abstention import Logistic
from qa.extractive import Found
from qa.models import Passage
from qa.reader import Reader
from qa.reading import Reading, locate, read
from qa.verifier import ABSTAIN, verify_reading
from tests.fakes import ScriptedLLM
from tests.test_verifier import CAMPUS, CONTRACT, COUNTRIES, doc, evidence  # noqa: F401

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
    return [
        Passage(sentences=[evidence(doc, CONTRACT), evidence(doc, CAMPUS)]),
        Passage(sentences=[evidence(doc, COUNTRIES)]),
    ]


def test_passage_text_joins_sentences_and_maps_spans_back(passages: list[Passage]) -> None:
    passage = passages[0]
    assert passage.text == f"{CONTRACT} {CAMPUS}"
    at = passage.text.index("Redmond")
    sentence, start = passage.sentence_at(at, at + len("Redmond")) or (None, -1)
    assert sentence is not None and sentence.text == CAMPUS
    assert sentence.text[at - start : at - start + len("Redmond")] == "Redmond"
    assert passage.sentence_at(passage.text.index("Defense"), passage.text.index("Redmond")) is None


def test_locate_drops_spans_across_sentences(passages: list[Passage]) -> None:
    text = passages[0].text
    across = Found(0, text.index("Defense"), text.index("Redmond") + 7, "x", 5.0, 0.0)
    inside = Found(1, 3, 7, "2020", 4.0, 0.0)
    [candidate] = locate([across, inside], passages)
    assert candidate.sentence.text == COUNTRIES
    assert candidate.sentence.text[candidate.start : candidate.end] == "2020"


def test_read_shows_the_llm_the_sentences_of_the_best_spans(passages: list[Passage]) -> None:
    llm = ScriptedLLM(reply=" Redmond")
    reader = ScriptedReader(("Redmond, Washington", 9.0, 1.0), ("2020", 3.0, 2.0))
    reading = read("Where is the campus?", passages, reader, Reader(llm, PROMPT))
    assert [c.sentence.text for c in reading.candidates] == [CAMPUS, COUNTRIES]
    assert reading.free == " Redmond"
    [prompt] = llm.prompts
    assert f"Text: {CAMPUS} {COUNTRIES}\nQuestion: Where is the campus?" in prompt
    assert reading.extract_s >= 0


def test_read_without_an_llm_asks_no_model(passages: list[Passage]) -> None:
    reading = read("Where?", passages, ScriptedReader(("Redmond", 9.0, 1.0)))
    assert reading.free == ""
    assert [c.sentence.text for c in reading.candidates] == [CAMPUS]


def reading_of(passages: list[Passage], free: str, *phrases: tuple[str, float, float]) -> Reading:
    return Reading(
        locate(ScriptedReader(*phrases).read("q", [p.text for p in passages]), passages), free
    )


def test_verify_reading_answers_with_the_span_and_cites_its_sentence(
    passages: list[Passage],
) -> None:
    reading = reading_of(passages, " $200 million.", ("$200 million", 8.0, -4.0))
    verdict = verify_reading("How much is the contract worth?", reading, "combined", 0.0)
    assert verdict.answer == "$200 million [1]"
    [citation] = verdict.citations
    assert citation.quote == CONTRACT
    assert verdict.signals is not None
    assert (verdict.signals.reader_score, verdict.signals.reader_margin) == (8.0, 12.0)
    assert verdict.signals.agree and verdict.signals.free_found


def test_the_llm_agreeing_with_a_lower_span_raises_nothing_but_agreement(
    passages: list[Passage], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = Logistic(weights={"reader_margin": 1.0, "agree": 2.0}, bias=0.0, threshold=0.5)
    monkeypatch.setattr(abstention, "model_for", lambda mode: model)
    second = reading_of(passages, "Redmond", ("2020", 1.0, 0.5), ("Redmond", 0.9, 0.5))
    verdict = verify_reading("Where is the campus?", second, "combined", 0.0)
    assert verdict.answer == "2020 [1]"
    assert verdict.signals is not None and not verdict.signals.agree
    agreed = reading_of(passages, "2020", ("2020", 1.0, 0.5), ("Redmond", 0.9, 0.5))
    confident = verify_reading("Where is the campus?", agreed, "combined", 0.0)
    assert confident.signals is not None and confident.signals.agree
    assert confident.signals.confidence > verdict.signals.confidence


def test_verify_reading_abstains_below_the_threshold_and_without_candidates(
    passages: list[Passage],
) -> None:
    reading = reading_of(passages, "", ("Redmond", -8.0, 6.0))
    verdict = verify_reading("Where is the campus?", reading, "extractive", 0.99)
    assert verdict.abstained and verdict.answer == ABSTAIN
    assert verdict.reason.startswith("confidence ")
    assert verify_reading("Where?", Reading(), "combined", 0.2).reason.startswith(
        "the reader found"
    )
