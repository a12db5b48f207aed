"""Reading the retrieved passages: the extractive reader proposes answer spans with their
offsets and no-answer scores, and the instruction-tuned LLM reads the evidence and
answers in a phrase of it (this is what streams in ``qa chat``). Neither decides: the
verifier weighs them together.

A yes/no question is not put to the LLM as a phrase to copy: the judge (``qa.answer.yes_no``)
reads the one sentence that best matches it and says Yes, No or UNKNOWN.

The LLM reads a small corpus whole (the retriever hands it over in document order, so
every question shares the prompt read before) and otherwise the best LLM_PASSAGES
retrieved passages, in document order too, with the extractive reader's best passage
among them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from qa.answer.alignment import Aligned, align
from qa.answer.generator import Generated, Generator
from qa.answer.span_reader import Found, SpanReader
from qa.answer.yes_no import Judge, Judged, supporting
from qa.models import Evidence, Passage
from qa.terms import asks_yes_no

Scorer = Callable[[str, list[Evidence]], None]

CANDIDATES = 5
LLM_PASSAGES = 2


@dataclass(frozen=True)
class Candidate:
    """A reader span inside one evidence sentence: ``sentence.text[start:end]``."""

    found: Found
    sentence: Evidence
    start: int
    end: int


@dataclass(frozen=True)
class Reading:
    """The reader's candidates, best first; the sentences the LLM read, in document
    order; what it answered (None when it was not asked), and where its phrase sits in
    those sentences (None when nowhere); for a yes/no question, the judge's verdict
    on its best sentence instead."""

    candidates: list[Candidate] = field(default_factory=list)
    context: list[Evidence] = field(default_factory=list)
    generated: Generated | None = None
    aligned: Aligned | None = None
    extract_s: float = 0.0
    judged: Judged | None = None

    @property
    def sentences(self) -> list[Evidence]:
        """The sentences an answer may cite: the aligned phrase's, then the candidates'."""
        seen: dict[tuple[str, int], Evidence] = {}
        first = [self.aligned.sentence] if self.aligned else []
        for sentence in [*first, *(c.sentence for c in self.candidates)]:
            seen.setdefault((sentence.source, sentence.start), sentence)
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


def llm_context(passages: list[Passage], whole: bool, best: int | None) -> list[Evidence]:
    """The sentences the LLM reads: every passage of a corpus read whole, else the first
    LLM_PASSAGES and the reader's best passage; in document order."""
    chosen = list(range(len(passages))) if whole else list(range(min(LLM_PASSAGES, len(passages))))
    if best is not None and best not in chosen:
        chosen.append(best)
    sentences = [s for i in chosen for s in passages[i].sentences]
    return sorted(sentences, key=lambda s: (s.source, s.start))


def read(
    question: str,
    passages: list[Passage],
    reader: SpanReader | None,
    llm: Generator | None = None,
    on_token: Callable[[str], None] | None = None,
    whole: bool = False,
    judge: tuple[Judge, Scorer] | None = None,
) -> Reading:
    """The reader's candidates (when a reader is given), then the LLM's answer (when an
    LLM is given) from its context; for a yes/no question, the judge's verdict (when a
    judge and the scorer that sets each sentence's similarity are given)."""
    started = time.perf_counter()
    found = reader.read(question, [p.text for p in passages], CANDIDATES) if reader else []
    candidates = locate(found, passages)
    spent = time.perf_counter() - started
    if llm is None or not passages:
        return Reading(candidates, extract_s=spent)
    best = candidates[0].found.passage if candidates else None
    context = llm_context(passages, whole, best)
    if judge is not None and asks_yes_no(question):
        judged = judge_yes_no(question, context, *judge)
        return Reading(candidates, context, extract_s=spent, judged=judged)
    generated = llm.answer(question, context, on_token)
    aligned = None
    if not generated.declined and not (asks_yes_no(question) and generated.yes_no):
        aligned = align(generated.phrase, context, question)
    return Reading(candidates, context, generated, aligned, spent)


def judge_yes_no(
    question: str, context: list[Evidence], judge: Judge, score: Scorer
) -> Judged | None:
    """The judge's verdict on the sentence of the context that best matches the question."""
    score(question, context)
    sentence = supporting(question, context)
    return judge.judge(question, sentence) if sentence else None
