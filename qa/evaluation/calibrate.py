"""``qa calibrate``: weigh a model's signals by a fit of its own.

The shipped abstention model was fitted on the packaged LLM's signals; another model's
log-probabilities and NOT FOUND habits differ, so it is declined or trusted at the wrong
points. Calibrating asks a question set with the model in use, asks the support check
for every candidate (so the fit sees it everywhere, as the shipped fit did), and fits
the abstention model and its band the way the shipped one was fitted
(``qa.evaluation.fitting``). Each answer is appended to a file beside the fit as soon
as it is scored, so a run that is stopped goes on where it stopped.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from qa.answer.abstention import AbstentionModels, Logistic, load, model_for, save
from qa.answer.retriever import Retriever
from qa.errors import EvalFileError, ModelError
from qa.evaluation.evaluate import Ask, EvalQuestion, EvalResult, score
from qa.evaluation.fitting import FEATURES, decisions, fit, probabilities, rows
from qa.models import Evidence, Turn

Check = Callable[[str, Evidence, str], float | None]


@dataclass(frozen=True)
class Calibrated:
    """The fit written, and how it decides on the questions it was fitted on."""

    path: Path
    model: Logistic
    how: str  # the shipped fit recalibrated, or fitted afresh
    asked: int  # questions asked in this run
    kept: int  # answers a run before had recorded
    right: int
    answerable: int
    declined: int
    unanswerable: int


def answers_file(fit_path: Path) -> Path:
    return fit_path.with_suffix(".answers.jsonl")


def recorded(path: Path, questions_sha: str) -> dict[str, EvalResult]:
    """The answers a run on the same question set recorded; a damaged line is asked again."""
    if not path.is_file():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != questions_sha:
        return {}  # another question set, or none: start again
    found = {}
    for line in lines[1:]:
        try:
            result = EvalResult.model_validate_json(line)
        except ValidationError:
            continue
        found[result.id] = result
    return found


def cited_sentence(result: EvalResult) -> Evidence | None:
    """The sentence an answered candidate cites."""
    if not result.citations:
        return None
    c = result.citations[0]
    return Evidence(
        source=c.source,
        start=c.start,
        end=c.end,
        line_start=c.line_start,
        line_end=c.line_end,
        text=c.quote,
    )


def retrieved_sentence(retriever: Retriever, question: str, candidate: str) -> Evidence | None:
    """For a declined candidate (no citation): the first retrieved sentence holding it."""
    for passage in retriever.passages(question):
        for sentence in passage.sentences:
            if candidate.lower() in sentence.text.lower():
                return sentence
    return None


def checked(result: EvalResult, retriever: Retriever, check: Check) -> EvalResult:
    """The result with the support check's probability for its candidate, asked even
    where the abstention model would not have asked it."""
    signals = result.signals
    if signals is None or not signals.candidate or signals.yes_no:
        return result
    sentence = cited_sentence(result) or retrieved_sentence(
        retriever, result.question, signals.candidate
    )
    signals.supported = check(result.question, sentence, signals.candidate) if sentence else None
    return result


def fittable(questions: list[EvalQuestion], path: Path, mode: str) -> list[EvalQuestion]:
    """The questions a fit can learn from (those that say whether they are answerable);
    an error when they cannot set a threshold, or the reader uses no LLM."""
    if mode not in FEATURES or mode == "extractive":
        raise ModelError("the extractive reader does not use the LLM: nothing to calibrate")
    scored = [q for q in questions if q.expects_answer is not None]
    if not any(q.expects_answer is False for q in scored):
        raise EvalFileError(
            f'{path}: no unanswerable questions ("answerable": false); the threshold is '
            "chosen by how many of those the model declines"
        )
    return scored


def calibrate(
    questions: list[EvalQuestion],
    questions_file: Path,
    ask: Ask,
    check: Check,
    retriever: Retriever,
    fit_path: Path,
    describe: str,
    mode: str = "combined",
    on_result: Callable[[EvalResult], None] | None = None,
) -> Calibrated:
    """Ask every question not yet recorded (``ask`` at confidence 0, so every candidate
    is kept), record it, then fit and write the model to ``fit_path``."""
    scored = fittable(questions, questions_file, mode)
    sha = hashlib.sha256(questions_file.read_bytes()).hexdigest()
    log = answers_file(fit_path)
    done = recorded(log, sha)
    kept = sum(q.id in done for q in scored)
    fit_path.parent.mkdir(parents=True, exist_ok=True)
    # written afresh with what was read: a line cut short by a stop is dropped, not
    # run on into the next answer appended
    kept_lines = [result.model_dump_json() for result in done.values()]
    log.write_text("".join(line + "\n" for line in [sha, *kept_lines]), encoding="utf-8")
    for item in scored:
        if item.id in done:
            if on_result:
                on_result(done[item.id])
            continue
        turns: list[Turn] = []
        for earlier in item.history:
            turns.append(Turn.after(ask(earlier, turns)))
        result = checked(score(item, ask(item.question, turns)), retriever, check)
        with log.open("a", encoding="utf-8") as handle:
            handle.write(result.model_dump_json() + "\n")
        done[item.id] = result
        if on_result:
            on_result(result)
    results = [done[q.id] for q in scored]
    try:
        model, how = fit([(scored, results)], mode, prior=model_for(mode))
    except ValueError as exc:
        raise EvalFileError(f"cannot fit {questions_file.name}: {exc}") from exc
    fitted = (
        f"{describe}: {questions_file.name} ({len(scored)} questions, sha256 {sha}), "
        f"{how}, qa calibrate {time.strftime('%Y-%m-%d')}"
    )
    own = AbstentionModels(version=load().version, fitted={mode: fitted}, models={mode: model})
    save(own, fit_path)
    x, _, meta = rows(scored, results, FEATURES[mode])
    right, answerable, declined, unanswerable = decisions(
        probabilities(model, x, FEATURES[mode]), meta, model.threshold
    )
    return Calibrated(
        fit_path, model, how, len(scored) - kept, kept, right, answerable, declined, unanswerable
    )
