"""The verifier: turns the reader's proposal into an answer only when the
source text supports it; otherwise abstains.

The answer it returns is always a verbatim span of a cited sentence (or "Yes" / "No"
with the sentence that shows it), so every number and name in it appears in the quote,
and every quote is re-read from its file and compared before it is returned. Which span:
the LLM's phrase where it aligns to the evidence, else the extractive reader's best.
Whether to answer at all: the fitted abstention model over every signal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.answer import abstention
from qa.answer.alignment import Span
from qa.answer.reading import Reading
from qa.answer.yes_no import Judged
from qa.corpus import documents
from qa.models import Citation, Evidence, Signals
from qa.terms import (
    asks_for_number,
    content_terms,
    fold,
    mentions_number,
    normalize_answer,
    token_f1,
    words,
)

ABSTAIN = "I can't find that in the documents."
MAX_ANSWER_WORDS = 30
NO_SPAN_MARGIN = -10.0  # the reader margin when it found no span: far below any it gives
_MARKER = re.compile(r"\[\d+\]")
_ABBREVIATION = re.compile(r"\b(?:[A-Za-z]\.)+[A-Za-z]$")
_CODE = re.compile(r"`[^`\n]+`")
_CODE_WORD = re.compile(r"[-~@$]*\w+(?:[-_.:/]\w+)*")
_FACT = re.compile(r"\d[\d,.]*|\b[A-Z][\w’'&.-]*")

# (question, sentence, phrase) -> the probability that the sentence shows the phrase
# answers the question (``qa.answer.support``); None when the LLM gave no probabilities.
Check = Callable[[str, Evidence, str], float | None]


@dataclass(frozen=True)
class Verdict:
    """The verifier's decision: an answer with its citations, or an abstention with why
    (its fields are `Answer`'s own, which the pipeline fills from them)."""

    answer: str
    abstained: bool
    citations: list[Citation]
    reason: str = ""
    signals: Signals | None = None


def is_yes_no(answer: str) -> bool:
    """Whether the answer is a bare "Yes" or "No" (a verdict on its quote, not a phrase of it)."""
    return _MARKER.sub(" ", answer).strip() in ("Yes", "No")


def ungrounded(answer: str, quotes: list[str]) -> list[str]:
    """Numbers and capitalised names in the answer that no quote contains (a bare "Yes"
    or "No" names nothing)."""
    if is_yes_no(answer):
        return []
    haystack = fold(" ".join(quotes))
    facts = [m.group().rstrip(".,") for m in _FACT.finditer(_MARKER.sub(" ", answer))]
    return [f for f in facts if f and fold(f) not in haystack]


def cite(item: Evidence, answer: tuple[int, int] | None = None) -> Citation | None:
    """A citation for an evidence sentence, only if the file still holds the quote; with
    the answer's place in it when given."""
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
        answer_start=answer[0] if answer else None,
        answer_end=answer[1] if answer else None,
    )


def abstain(reason: str, signals: Signals | None = None) -> Verdict:
    return Verdict(ABSTAIN, True, [], reason, signals)


def type_mismatch(question: str, candidate: str) -> bool:
    """The question asks for a number or a date and the candidate holds none."""
    return asks_for_number(question) and not mentions_number(candidate)


def agrees(free: str, candidate: str) -> bool:
    """Whether two answers name the same thing (token F1 >= 0.5)."""
    return token_f1(normalize_answer(free).split(), normalize_answer(candidate).split()) >= 0.5


def repeats(span: str, said: str) -> bool:
    """Whether the span only repeats words already said (the question, or an answer
    shown earlier in the conversation). Marks inside a word count: "create-user" does
    not repeat "create_user", nor "--user-name" "user_name"."""
    return f" {_spoken(span)} " in f" {_spoken(said)} "


def _spoken(text: str) -> str:
    """The text's words with the marks inside and before them, lower case, no articles."""
    found = _CODE_WORD.findall(fold(text))
    return " ".join(w for w in found if w not in ("a", "an", "the"))


def whole_code(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to every inline code span (`...`) it reaches into: a name in
    code is shown whole, with its backticks ("`typer.progressbar()`", not
    "typer.progressbar"); and begun after a code block's language label."""
    for code in _CODE.finditer(text):
        if start < code.end() and code.start() < end:
            start, end = min(start, code.start()), max(end, code.end())
    return _past_fence_label(text, start, end), end


def _past_fence_label(text: str, start: int, end: int) -> int:
    """The start moved past a code block's language label ("bash" after its opening
    fence), which a phrase copied from the block's first lines takes in, and which is
    no part of the code."""
    line_end = text.find("\n", start, end)
    if line_end == -1 or not text[:start].rstrip(" \t").endswith("```"):
        return start
    start = line_end + 1
    while start < end and text[start].isspace():
        start += 1
    return start


def choose(question: str, reading: Reading, said: str = "") -> tuple[Span | None, Signals]:
    """What to answer, and the signals the abstention model judges it by: the LLM's
    phrase where it aligned and says something new, else the reader's best span."""
    generated, aligned = reading.generated, reading.aligned
    best = reading.candidates[0] if reading.candidates else None
    signals = Signals(
        llm_asked=generated is not None,
        declined=generated is None or generated.declined,
        aligned=aligned.share if aligned else 0.0,
        llm_logprob=generated.logprob if generated else None,
        llm_not_found=generated.not_found if generated else None,
        reader_score=best.found.score if best else 0.0,
        reader_margin=best.found.margin if best else NO_SPAN_MARGIN,
    )
    choice = None
    if aligned and not repeats(aligned.text, said or question):
        choice = Span(
            aligned.sentence, *whole_code(aligned.sentence.text, aligned.start, aligned.end)
        )
        signals.from_llm = True
    elif best:
        choice = Span(best.sentence, *whole_code(best.sentence.text, best.start, best.end))
    if choice is None:
        return None, signals
    if best:
        same = (best.sentence.source, best.sentence.start) == (
            choice.sentence.source,
            choice.sentence.start,
        )
        overlap = same and best.start < choice.end and choice.start < best.end
        signals.agree = overlap or agrees(best.sentence.text[best.start : best.end], choice.text)
    support = choice.sentence
    signals.candidate = choice.text
    signals.similarity = support.similarity
    signals.coverage = support.coverage
    signals.missing = support.missing
    signals.type_mismatch = type_mismatch(question, choice.text)
    return choice, signals


def verify_reading(
    question: str,
    reading: Reading,
    mode: str,
    min_confidence: float,
    shown: Sequence[str] = (),
    check: Check | None = None,
    fit: Path | None = None,
) -> Verdict:
    """Answer with the chosen span when the abstention model trusts it, citing its
    sentence; else abstain. An answer that only repeats the question, or an answer
    already ``shown`` in the conversation, is none. The support ``check`` is asked
    only when its answer could change the decision and the model without it is not
    sure. The model is the mode's in ``fit`` (the answering model's own) if given."""
    if not words(question):
        return abstain("the question has no words")
    if reading.judged is not None:
        return verify_yes_no(question, reading.judged, reading.context)
    said = " ".join([question, *shown])
    choice, signals = choose(question, reading, said)
    if choice is None:
        return abstain("nothing in the retrieved text answers it", signals)
    span = shown_span(choice)
    reason = rule_out(question, span, said)
    if reason:
        return abstain(reason, signals)
    model = abstention.model_for(mode, fit)
    likelihood = model.sure(signals, min_confidence) if check is not None else None
    if likelihood is None:
        if check is not None and model.undecided(signals, min_confidence):
            signals.supported = check(question, choice.sentence, span)
        likelihood = model.probability(signals)
    signals.confidence = round(likelihood, 4)
    return decide(choice, span, signals, likelihood, min_confidence)


def _same_stem(a: str, b: str) -> bool:
    return a == b or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)))


def names_elsewhere(question: str, here: list[Evidence], evidence: list[Evidence]) -> list[str]:
    """The question's names and numbers that the evidence holds but these sentences do
    not: they are then about something else ("Is Microsoft allowed to build weapons?"
    against OpenAI's policies). A name the evidence never uses ("Pentagon" for "Department
    of Defense") tells nothing."""
    elsewhere = content_terms(" ".join(item.text for item in evidence))
    held = content_terms(" ".join(item.text for item in here))

    def lacks(term: str) -> bool:  # "Germany" (germani) is held by "German Empire" (german)
        return term in elsewhere and not any(_same_stem(term, h) for h in held)

    names = [m.group() for m in _FACT.finditer(question) if m.start() > 0]
    return [name for name in names if any(lacks(t) for t in content_terms(name))]


def verify_yes_no(question: str, judged: Judged, context: list[Evidence]) -> Verdict:
    """The judge's Yes or No, citing the sentence it judged, when its probability
    reaches its bar (``qa.answer.yes_no``) and the sentence names what the question names;
    else an abstention."""
    sentence = judged.sentence
    signals = Signals(
        candidate=judged.verdict or "",
        similarity=sentence.similarity,
        coverage=sentence.coverage,
        missing=sentence.missing,
        llm_asked=True,
        declined=judged.verdict is None,
        yes_no=True,
        confidence=round(judged.probability, 4),
    )
    if judged.verdict is None:
        if judged.yes is None:
            return abstain("the LLM gave no probabilities for yes or no", signals)
        return abstain(
            f"the text does not show yes or no (yes {judged.yes:.2f}, no {judged.no or 0:.2f})",
            signals,
        )
    lacking = names_elsewhere(question, [sentence], context)
    if lacking:
        return abstain(f"the sentence judged does not name {', '.join(lacking)}", signals)
    citation = cite(sentence)
    if citation is None:
        return abstain("the cited file changed since indexing", signals)
    return Verdict(f"{judged.verdict} [1]", False, [citation], "", signals)


def shown_span(choice: Span) -> str:
    """The chosen span as an answer: without trailing punctuation, but keeping the
    full stop of an abbreviation ("U.S.")."""
    span = choice.text.strip().rstrip(".,;:")
    rest = choice.sentence.text[choice.end :]
    if _ABBREVIATION.search(span) and rest.startswith("."):
        span += "."
    return span


def rule_out(question: str, span: str, said: str) -> str:
    """Why the span cannot answer the question whatever its confidence, or "" (``said``:
    the question and the answers shown before it in the conversation)."""
    if not normalize_answer(span):
        return f"proposal has no words: {span!r}"
    if repeats(span, said):
        return f"proposal only repeats the question: {span!r}"
    if len(span.split()) > MAX_ANSWER_WORDS:
        return "proposal longer than a short answer"
    return ""


def decide(
    choice: Span, span: str, signals: Signals, likelihood: float, min_confidence: float
) -> Verdict:
    """The answer for the chosen span (``span``: as shown) with the given likelihood, if
    the likelihood reaches the bar and the file still holds the sentence."""
    if likelihood < min_confidence:
        return abstain(f"confidence {signals.confidence:.2f} below {min_confidence:.2f}", signals)
    at = choice.start + len(choice.text) - len(choice.text.lstrip())
    citation = cite(choice.sentence, (at, at + len(span)))
    if citation is None:
        return abstain("the cited file changed since indexing", signals)
    if ungrounded(span, [citation.quote]):
        return abstain("answer holds facts the quote does not", signals)
    return Verdict(f"{span} [1]", False, [citation], "", signals)
