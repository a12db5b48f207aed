"""The verifier: turns the reader's proposal into an answer only when the
source text supports it; otherwise abstains.

The answer it returns is always a verbatim span of a cited sentence, so every
number and name in it appears in the quote, and every quote is re-read from its
file and compared before it is returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from qa import abstention, documents
from qa.models import Citation, Evidence, Signals
from qa.reader import Proposal
from qa.reading import Reading
from qa.terms import (
    WORD,
    asks_for_number,
    fold,
    mentions_number,
    normalize_answer,
    token_f1,
    words,
)

ABSTAIN = "I can't find that in the documents."
MAX_ANSWER_WORDS = 30
_MARKER = re.compile(r"\[\d+\]")
_ABBREVIATION = re.compile(r"\b(?:[A-Za-z]\.)+[A-Za-z]$")
_FACT = re.compile(r"\d[\d,.]*|\b[A-Z][\w’'&.-]*")


@dataclass(frozen=True)
class Verdict:
    """The verifier's decision: an answer with its citations, or an abstention with why
    (its fields are `Answer`'s own, which the pipeline fills from them)."""

    answer: str
    abstained: bool
    citations: list[Citation]
    reason: str = ""
    signals: Signals | None = None


@dataclass(frozen=True)
class Located:
    evidence: Evidence
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.evidence.text[self.start : self.end]


def clean(raw: str) -> str:
    """The first line of the model's output without quotes, labels or a final stop."""
    line = raw.strip().split("\n", 1)[0].strip()
    line = re.sub(r"^(answer|a)\s*:\s*", "", line, flags=re.IGNORECASE)
    previous = None
    while line != previous:
        previous = line
        line = line.strip(" \"'“”‘’`*").rstrip(".,;:")
    return line


def _verbatim(answer: str, evidence: list[Evidence]) -> Located | None:
    """The first evidence sentence holding the answer as whole words, ignoring case."""
    needle = fold(answer)
    for item in evidence if needle else []:
        at = _find_word_bounded(fold(item.text), needle)
        if at >= 0:
            return Located(item, at, at + len(needle))
    return None


def locate(answer: str, evidence: list[Evidence]) -> Located | None:
    """Find the proposed answer in the evidence: verbatim, else the closest word window."""
    if found := _verbatim(answer, evidence):
        return found
    wanted = normalize_answer(answer).split()
    if not wanted:
        return None
    best: tuple[float, Located] | None = None
    for item in evidence:
        tokens = list(WORD.finditer(item.text))
        normal = [normalize_answer(t.group()) for t in tokens]
        for i in range(len(tokens)):
            for j in range(i, min(len(tokens), i + len(wanted) + 3)):
                score = token_f1(normal[i : j + 1], wanted)
                if score >= 0.67 and (best is None or score > best[0]):
                    best = (score, Located(item, tokens[i].start(), tokens[j].end()))
    return best[1] if best else None


def _find_word_bounded(haystack: str, needle: str) -> int:
    """Where needle starts in haystack, not inside a longer word; -1 if nowhere."""
    at = haystack.find(needle)
    while at >= 0:
        before = haystack[at - 1] if at else " "
        after = haystack[at + len(needle)] if at + len(needle) < len(haystack) else " "
        if not (before.isalnum() and needle[0].isalnum()) and not (
            after.isalnum() and needle[-1].isalnum()
        ):
            return at
        at = haystack.find(needle, at + 1)
    return -1


def ungrounded(answer: str, quotes: list[str]) -> list[str]:
    """Numbers and capitalised names in the answer that no quote contains."""
    haystack = fold(" ".join(quotes))
    facts = [m.group().rstrip(".,") for m in _FACT.finditer(_MARKER.sub(" ", answer))]
    return [f for f in facts if f and fold(f) not in haystack]


def cite(item: Evidence) -> Citation | None:
    """A citation for an evidence sentence, only if the file still holds the quote."""
    text = documents.text_holding(Path(item.source), item.start, item.end, item.text)
    if text is None:
        return None
    return Citation(
        source=documents.display_path(Path(item.source)),
        start=item.start,
        end=item.end,
        line_start=item.line_start,
        line_end=item.line_end,
        quote=item.text,
        page=documents.page(item.source, text, item.start),
    )


def abstain(reason: str, signals: Signals | None = None) -> Verdict:
    return Verdict(ABSTAIN, True, [], reason, signals)


def confidence(signals: Signals) -> float:
    """Probability that the LLM's candidate is a right answer, by its fitted model."""
    return abstention.model_for("llm").probability(signals)


def type_mismatch(question: str, candidate: str) -> bool:
    """The question asks for a number or a date and the candidate holds none."""
    return asks_for_number(question) and not mentions_number(candidate)


def choose(
    proposal: Proposal, evidence: list[Evidence], question: str = ""
) -> tuple[Located | None, Signals]:
    """The candidate span (the constrained choice, else the free answer where the
    evidence holds it) and the signals the decision is made from."""
    free, span = clean(proposal.free), clean(proposal.span)
    free_found = _verbatim(free, evidence)
    found = (locate(span, evidence) if span else None) or free_found
    found = found or (locate(free, evidence) if free else None)
    signals = Signals(
        free_found=free_found is not None,
        agree=bool(normalize_answer(free)) and normalize_answer(free) == normalize_answer(span),
        free_logprob=proposal.free_logprob,
        span_logprob=proposal.span_logprob,
    )
    if found is not None:
        support = found.evidence
        signals.candidate = found.text
        signals.similarity = support.similarity
        signals.coverage = support.coverage
        signals.missing = support.missing
        signals.rank = evidence.index(support)
        signals.type_mismatch = type_mismatch(question, found.text)
    return found, signals


def verify(
    question: str, evidence: list[Evidence], proposal: Proposal, min_confidence: float
) -> Verdict:
    """Answer with a span of the evidence only when it is supported and likely right;
    cite the sentence holding it; otherwise abstain."""
    if not evidence:
        return abstain("nothing relevant retrieved")
    found, signals = choose(proposal, evidence, question)
    if found is None:
        return abstain("no proposal found in the evidence", signals)
    likelihood = confidence(signals)
    signals.confidence = round(likelihood, 4)
    return decide(question, found, signals, likelihood, min_confidence)


def decide(
    question: str, found: Located, signals: Signals, likelihood: float, min_confidence: float
) -> Verdict:
    """The answer for a located candidate of the given likelihood, if it passes every check."""
    span = found.text.strip().rstrip(".,;:")
    if _ABBREVIATION.search(span) and found.evidence.text[found.start :].startswith(span + "."):
        span += "."
    if not normalize_answer(span):
        return abstain(f"proposal has no words: {span!r}", signals)
    if f" {normalize_answer(span)} " in f" {normalize_answer(question)} ":
        return abstain(f"proposal only repeats the question: {span!r}", signals)
    if len(span.split()) > MAX_ANSWER_WORDS:
        return abstain("proposal longer than a short answer", signals)
    if likelihood < min_confidence:
        return abstain(f"confidence {signals.confidence:.2f} below {min_confidence:.2f}", signals)
    citation = cite(found.evidence)
    if citation is None:
        return abstain("the cited file changed since indexing", signals)
    if ungrounded(span, [citation.quote]):
        return abstain("answer holds facts the quote does not", signals)
    return Verdict(f"{span} [1]", False, [citation], "", signals)


def agrees(free: str, candidate: str) -> bool:
    """Whether the LLM's free answer and a reader span name the same thing (token F1 >= 0.5)."""
    return token_f1(normalize_answer(free).split(), normalize_answer(candidate).split()) >= 0.5


def reading_signals(question: str, reading: Reading) -> tuple[Located, Signals]:
    """The reader's best span located in its sentence, with the signals it is judged by."""
    candidate = reading.candidates[0]
    sentence = candidate.sentence
    free = clean(reading.free)
    located = Located(sentence, candidate.start, candidate.end)
    signals = Signals(
        candidate=located.text,
        similarity=sentence.similarity,
        coverage=sentence.coverage,
        missing=sentence.missing,
        type_mismatch=type_mismatch(question, located.text),
        rank=0,
        free_found=bool(free) and _verbatim(free, reading.sentences) is not None,
        agree=bool(free) and agrees(free, located.text),
        free_logprob=reading.free_logprob,
        reader_score=candidate.found.score,
        reader_margin=candidate.found.margin,
    )
    return located, signals


def verify_reading(question: str, reading: Reading, mode: str, min_confidence: float) -> Verdict:
    """Answer with the reader's best span when the abstention model trusts it, citing the
    span's sentence; else abstain. The LLM's free answer only weighs in as agreement: a
    lower span it agrees with is never promoted, because the LLM is the part that planted
    text can talk into agreeing (tests/test_injection.py, "Final answer: ...")."""
    if not words(question):
        return abstain("the question has no words")
    if not reading.candidates:
        return abstain("the reader found no answer in the retrieved text")
    located, signals = reading_signals(question, reading)
    likelihood = abstention.model_for(mode).probability(signals)
    signals.confidence = round(likelihood, 4)
    return decide(question, located, signals, likelihood, min_confidence)
