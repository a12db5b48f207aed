"""Batch evaluation of a question set, with SQuAD-style metrics so numbers
compare across tools."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ValidationError, field_validator

from qa.answer.verifier import MAX_ANSWER_WORDS, is_yes_no, ungrounded
from qa.corpus import documents
from qa.errors import EvalFileError, QuestionError
from qa.models import Answer, Citation, Signals, Turn, answer_text
from qa.terms import fold, normalize_answer, token_f1


class EvalQuestion(BaseModel):
    """One line of a question-set file; unknown fields are ignored."""

    id: str = ""
    question: str
    answers: list[str] = []
    answerable: bool | None = None
    history: list[str] = []  # earlier questions of the conversation, asked first
    # Groups of case-insensitive substrings a right answer holds: one of each group
    # (a list's items, a bare identifier). When given, it is the gold, not ``answers``.
    must: list[list[str]] = []

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @property
    def expects_answer(self) -> bool | None:
        """True/False when gold says so; None when the line carries no gold."""
        if self.answerable is not None:
            return self.answerable
        return True if self.answers else None


class EvalResult(BaseModel):
    id: str
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    latency_s: float
    correct: bool | None = None
    f1: float | None = None
    ungrounded: list[str] = []
    reason: str = ""
    signals: Signals | None = None
    standalone: str = ""  # the question as searched, when qa rewrote a follow-up


class EvalSummary(BaseModel):
    questions: int
    answerable: int
    unanswerable: int
    answer_accuracy: float | None
    mean_f1: float | None
    abstention_accuracy: float | None
    false_abstentions: int
    citations: int
    citation_validity: float | None
    ungrounded_answers: float | None
    first_citation_has_gold: float | None
    latency_p50_s: float
    latency_p95_s: float


class EvalReport(BaseModel):
    summary: EvalSummary
    results: list[EvalResult]
    baseline: EvalReport | None = None


def load_questions(path: Path) -> list[EvalQuestion]:
    """Parse a JSONL question set; a bad line raises EvalFileError naming it."""
    try:
        lines = path.read_text(encoding="utf-8-sig").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"cannot read {path}: {exc}") from exc
    questions = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = EvalQuestion.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise EvalFileError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "line"
            raise EvalFileError(f"{path}:{number}: {where}: {problem['msg']}") from exc
        if not item.question.strip():
            raise EvalFileError(f"{path}:{number}: question is empty")
        item = item.model_copy(update={"id": item.id or str(number)})
        if item.id in seen:
            raise EvalFileError(f"{path}:{number}: duplicate id {item.id!r} (line {seen[item.id]})")
        seen[item.id] = number
        questions.append(item)
    if not questions:
        raise EvalFileError(f"{path}: no questions")
    return questions


def is_correct(answer: str, golds: Iterable[str], max_words: int | None = MAX_ANSWER_WORDS) -> bool:
    """Whether the normalised answer contains a normalised gold answer."""
    text = answer_text(answer)
    if max_words is not None and len(text.split()) > max_words:
        return False
    normal = normalize_answer(text)
    return any(g and normalize_answer(g) in normal for g in golds if normalize_answer(g))


def meets(answer: str, must: list[list[str]], max_words: int | None = MAX_ANSWER_WORDS) -> bool:
    """Whether the answer holds one string of every group of ``must`` (case-insensitive)."""
    text = fold(answer_text(answer))
    if max_words is not None and len(text.split()) > max_words:
        return False
    return all(any(fold(option) in text for option in group) for group in must if group)


def best_f1(answer: str, golds: Iterable[str]) -> float:
    """The answer's token F1 against its closest gold answer."""
    got = normalize_answer(answer_text(answer)).split()
    return max((token_f1(got, normalize_answer(g).split()) for g in golds), default=0.0)


def citation_valid(citation: Citation) -> bool:
    c = citation
    return documents.text_holding(Path(c.source), c.start, c.end, c.quote) is not None


def score(item: EvalQuestion, answer: Answer) -> EvalResult:
    expects = item.expects_answer
    result = EvalResult(
        id=item.id,
        question=item.question,
        answer=answer.answer,
        abstained=answer.abstained,
        citations=answer.citations,
        latency_s=round(answer.timings.total_s, 4),
        reason=answer.reason,
        signals=answer.signals,
        standalone=answer.standalone,
    )
    if not answer.abstained:
        result.ungrounded = ungrounded(
            answer_text(answer.answer), [c.quote for c in answer.citations]
        )
    if expects is True:
        result.correct = not answer.abstained and (
            meets(answer.answer, item.must)
            if item.must
            else is_correct(answer.answer, item.answers)
        )
        result.f1 = 0.0 if answer.abstained else round(best_f1(answer.answer, item.answers), 4)
    elif expects is False:
        result.correct = answer.abstained
    return result


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return round(values[0], 4) if values else 0.0
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 4)


def summarise(results: list[EvalResult], questions: list[EvalQuestion]) -> EvalSummary:
    expects = {q.id: q.expects_answer for q in questions}
    golds = {q.id: q.answers for q in questions}
    answerable = [r for r in results if expects[r.id] is True]
    right = [r for r in answerable if r.correct and r.citations and not is_yes_no(r.answer)]
    unanswerable = [r for r in results if expects[r.id] is False]
    cites = [c for r in results for c in r.citations]
    answered = [r for r in results if not r.abstained]
    latencies = [r.latency_s for r in results]
    return EvalSummary(
        questions=len(results),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        answer_accuracy=_share(sum(bool(r.correct) for r in answerable), len(answerable)),
        mean_f1=round(statistics.fmean(r.f1 or 0.0 for r in answerable), 4) if answerable else None,
        abstention_accuracy=_share(sum(r.abstained for r in unanswerable), len(unanswerable)),
        false_abstentions=sum(r.abstained for r in answerable),
        citations=len(cites),
        citation_validity=_share(sum(citation_valid(c) for c in cites), len(cites)),
        ungrounded_answers=_share(sum(bool(r.ungrounded) for r in answered), len(answered)),
        first_citation_has_gold=_share(
            sum(is_correct(r.citations[0].quote, golds[r.id], max_words=None) for r in right),
            len(right),
        ),
        latency_p50_s=_percentile(latencies, 50),
        latency_p95_s=_percentile(latencies, 95),
    )


Ask = Callable[[str, Sequence[Turn]], Answer]  # a question and the turns before it


def evaluate(
    questions: list[EvalQuestion],
    ask: Ask,
    on_result: Callable[[EvalResult], None] | None = None,
) -> EvalReport:
    """Ask every question and score the answers; a question with a history is asked
    after its earlier questions, in one conversation (they are not scored)."""
    results = []
    for item in questions:
        try:
            turns: list[Turn] = []
            for earlier in item.history:
                turns.append(Turn.after(ask(earlier, turns)))
            answer = ask(item.question, turns)
        except QuestionError as exc:
            answer = Answer(question=item.question, answer="", abstained=True, reason=str(exc))
        result = score(item, answer)
        results.append(result)
        if on_result:
            on_result(result)
    return EvalReport(summary=summarise(results, questions), results=results)
