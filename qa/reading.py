"""Reading the retrieved passages: the extractive reader proposes answer spans with
their offsets, and the LLM, shown the sentences that hold the best of them, answers
freely (this is what streams in ``qa chat``). Neither decides: the verifier does,
and its agreement signal is where the two meet."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from qa.extractive import Found, SpanReader
from qa.models import Evidence, Passage
from qa.reader import Reader

CANDIDATES = 5
LLM_SENTENCES = 2


@dataclass(frozen=True)
class Candidate:
    """A reader span inside one evidence sentence: ``sentence.text[start:end]``."""

    found: Found
    sentence: Evidence
    start: int
    end: int


@dataclass(frozen=True)
class Reading:
    """The reader's candidates, best first, and the LLM's free answer ("" if not asked)."""

    candidates: list[Candidate] = field(default_factory=list)
    free: str = ""
    free_logprob: float | None = None
    extract_s: float = 0.0

    @property
    def sentences(self) -> list[Evidence]:
        """The distinct sentences holding the candidates, in candidate order."""
        seen: dict[tuple[str, int], Evidence] = {}
        for c in self.candidates:
            seen.setdefault((c.sentence.source, c.sentence.start), c.sentence)
        return list(seen.values())


def locate(found: list[Found], passages: list[Passage]) -> list[Candidate]:
    """Each span in its sentence; spans that run across sentences are dropped."""
    candidates = []
    for span in found:
        hit = passages[span.passage].sentence_at(span.start, span.end)
        if hit is not None:
            sentence, at = hit
            candidates.append(Candidate(span, sentence, span.start - at, span.end - at))
    return candidates


def read(
    question: str,
    passages: list[Passage],
    reader: SpanReader,
    llm: Reader | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Reading:
    """The reader's candidates, then (when an LLM is given) its free answer from the
    sentences of the best ones."""
    started = time.perf_counter()
    found = reader.read(question, [p.text for p in passages], CANDIDATES)
    candidates = locate(found, passages)
    spent = time.perf_counter() - started
    if llm is None or not candidates:
        return Reading(candidates, extract_s=spent)
    context = Reading(candidates).sentences[:LLM_SENTENCES]
    free, logprob = llm.answer(question, context, on_token)
    return Reading(candidates, free, logprob, spent)
