"""`qa calibrate`: abstention fitted to the model in use, kept per model in the user's data
folder, found again by every later question with that model, resumable when stopped.

The answers here come from a scripted ``ask`` (plumbing); the fit and the files are real."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from qa.answer import abstention
from qa.errors import EvalFileError
from qa.evaluation.calibrate import answers_file, calibrate, fittable
from qa.evaluation.evaluate import load_questions
from qa.evaluation.fitting import FEATURES, fit, rows
from qa.models import Answer, Citation, Evidence, Signals, Turn
from qa.settings import Settings

from .test_gguf import CHATML, gguf


def question_set(path: Path, answerable: int = 30, unanswerable: int = 10) -> Path:
    lines = [
        {"id": f"a{n}", "question": f"Who made thing {n}?", "answers": [f"maker {n}"]}
        for n in range(answerable)
    ] + [
        {"id": f"u{n}", "question": f"Who broke thing {n}?", "answerable": False}
        for n in range(unanswerable)
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


class Scripted:
    """A model whose support check separates right from wrong candidates (noisily, so
    the fit has something to learn and nothing is perfectly separable)."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.asked: list[str] = []
        self.stop_after = stop_after
        self.noise = random.Random(7)

    def ask(self, question: str, turns: list[Turn] | tuple[Turn, ...] = ()) -> Answer:
        if self.stop_after is not None and len(self.asked) == self.stop_after:
            raise KeyboardInterrupt
        self.asked.append(question)
        n = question.split()[-1].rstrip("?")
        right = question.startswith("Who made") and self.noise.random() < 0.8
        candidate = f"maker {n}" if right else f"someone {n}"
        signals = Signals(
            candidate=candidate,
            similarity=self.noise.uniform(0.3, 0.9),
            llm_asked=True,
            aligned=1.0,
            from_llm=True,
            llm_logprob=-0.2 if right else -0.9,
            llm_not_found=0.05,
        )
        quote = f"The {candidate} did it."
        citation = Citation(
            n=1, source="doc.txt", start=0, end=len(quote), line_start=1, line_end=1, quote=quote
        )
        answer = f"{candidate} [1]"
        return Answer(
            question=question, answer=answer, abstained=False, citations=[citation], signals=signals
        )

    def check(self, question: str, sentence: Evidence, candidate: str) -> float:
        return 0.9 if candidate.startswith("maker") else 0.2


def test_a_fit_weighs_the_signal_that_tells_right_from_wrong(tmp_path: Path) -> None:
    path = question_set(tmp_path / "q.jsonl")
    questions = load_questions(path)
    model = Scripted()
    results = []
    from qa.evaluation.calibrate import checked
    from qa.evaluation.evaluate import score

    for q in questions:
        results.append(checked(score(q, model.ask(q.question)), None, model.check))  # type: ignore[arg-type]
    fitted, how = fit([(questions, results)])
    assert how == "fitted afresh"
    assert fitted.weights["supported"] > 0 and fitted.weights["llm_logprob"] > 0
    assert 0.05 <= fitted.threshold <= 0.95
    band = fitted.before_check
    assert band is not None and band.abstain_below <= fitted.threshold <= band.answer_from
    x, y, _ = rows(questions, results, FEATURES["combined"])
    assert x.shape == (40, len(FEATURES["combined"])) and y.sum() > 0


def settings_for(tmp_path: Path, name: str = "mine.gguf") -> Settings:
    model = gguf(tmp_path / name, {"general.name": name, "tokenizer.chat_template": CHATML})
    return Settings(llm_file=model)


def run_calibrate(tmp_path: Path, settings: Settings, model: Scripted, limit: int | None = None):  # type: ignore[no-untyped-def]
    path = question_set(tmp_path / "q.jsonl")
    return calibrate(
        load_questions(path)[:limit],
        path,
        model.ask,
        model.check,
        None,  # type: ignore[arg-type]  # every answer cites its sentence
        abstention.fit_file(settings),
        "mine.gguf",
    )


def test_calibrating_keeps_a_fit_that_this_model_finds_and_others_do_not(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    assert abstention.own_fit(settings) is None
    done = run_calibrate(tmp_path, settings, Scripted())
    assert done.asked == 40 and done.kept == 0
    assert done.path.parent == tmp_path / "data" / "qa" / "fits"
    assert abstention.own_fit(settings) == done.path
    assert abstention.model_for("combined", done.path).weights == done.model.weights
    assert abstention.model_for("combined", done.path) != abstention.model_for("combined")
    assert abstention.own_fit(settings_for(tmp_path, "other.gguf")) is None
    assert abstention.own_fit(Settings()) is None  # the packaged model keeps the shipped fit


def test_a_stopped_run_goes_on_where_it_stopped(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_calibrate(tmp_path, settings, Scripted(stop_after=12))
    assert abstention.own_fit(settings) is None
    log = answers_file(abstention.fit_file(settings))
    assert len(log.read_text().splitlines()) == 1 + 12  # the set's hash, then each answer
    log.write_text(log.read_text()[:-40])  # the last answer cut short as it was written
    again = Scripted()
    done = run_calibrate(tmp_path, settings, again)
    assert (done.asked, done.kept, len(again.asked)) == (29, 11, 29)
    assert len(log.read_text().splitlines()) == 1 + 40
    assert done.answerable == 30 and done.unanswerable == 10


def test_a_set_without_unanswerable_questions_cannot_set_a_threshold(tmp_path: Path) -> None:
    path = question_set(tmp_path / "q.jsonl", unanswerable=0)
    with pytest.raises(EvalFileError, match="no unanswerable questions"):
        fittable(load_questions(path), path, "combined")


def test_the_notice_is_said_once_and_not_for_a_calibrated_or_packaged_model(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    first = abstention.fit_notice(settings)
    assert first is not None and "qa calibrate" in first and "mine.gguf" in first
    assert abstention.fit_notice(settings) is None
    assert abstention.fit_notice(Settings()) is None
    other = settings_for(tmp_path, "other.gguf")
    run_calibrate(tmp_path, other, Scripted())
    assert abstention.fit_notice(other) is None


def test_a_server_model_is_known_by_its_url_and_name() -> None:
    one = abstention.fit_file(Settings(llm_url="http://127.0.0.1:8080/v1", llm_model="a"))
    two = abstention.fit_file(Settings(llm_url="http://127.0.0.1:8080/v1", llm_model="b"))
    assert one != two
    assert one == abstention.fit_file(Settings(llm_url="http://127.0.0.1:8080/v1", llm_model="a"))


def test_cli_calibrate_on_a_set_without_unanswerables_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qa.cli.main import run

    path = question_set(tmp_path / "q.jsonl", unanswerable=0)
    assert run(["calibrate", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "no unanswerable questions" in err and "\n" not in err


def test_info_says_which_fit_weighs_the_model(tmp_path: Path) -> None:
    from qa import api

    settings = settings_for(tmp_path)
    assert "packaged" in api.fit_in_use(settings) and "qa calibrate" in api.fit_in_use(settings)
    assert "shipped" in api.fit_in_use(Settings())
    done = run_calibrate(tmp_path, settings, Scripted())
    assert api.fit_in_use(settings).startswith(f"its own fit, {done.path}")
