"""Tests for qa.evaluation.evaluate: question files, SQuAD-style scoring and the summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from qa.errors import EvalFileError, QuestionError
from qa.evaluation.evaluate import (
    Ask,
    EvalQuestion,
    EvalResult,
    answer_text,
    best_f1,
    evaluate,
    is_correct,
    load_questions,
    meets,
    score,
)
from qa.models import Answer, Citation, Timings, Turn


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def jsonl(path: Path, items: list[dict[str, object]]) -> Path:
    return write_lines(path, [json.dumps(item, ensure_ascii=False) for item in items])


# --- load_questions ----------------------------------------------------------


def test_load_questions_parses_fields(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "q.jsonl",
        [
            {"id": "a", "question": "Who?", "answers": ["OpenAI", "Open AI"]},
            {"id": "b", "question": "Why?", "answerable": False},
            {"id": "c", "question": "How?"},
        ],
    )
    questions = load_questions(path)
    assert [q.id for q in questions] == ["a", "b", "c"]
    assert questions[0].answers == ["OpenAI", "Open AI"]
    assert [q.expects_answer for q in questions] == [True, False, None]


def test_load_questions_ignores_extra_fields(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "q.jsonl", [{"question": "Who?", "topic": "x", "notes": [1, 2]}])
    [question] = load_questions(path)
    assert question.question == "Who?"
    assert not hasattr(question, "topic")


def test_load_questions_id_defaults_to_line_number(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "q.jsonl",
        [
            "",
            json.dumps({"question": "First?"}),
            "   ",
            json.dumps({"id": 7, "question": "Second?"}),
            json.dumps({"id": "", "question": "Third?"}),
        ],
    )
    assert [q.id for q in load_questions(path)] == ["2", "7", "5"]


def test_load_questions_answerable_overrides_answers(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "q.jsonl", [{"question": "Q?", "answers": ["x"], "answerable": False}])
    assert load_questions(path)[0].expects_answer is False


@pytest.mark.parametrize(
    ("bad_line", "detail"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"answers": ["x"]}), "question: Field required"),
        (json.dumps({"question": "Q?", "answers": 5}), "answers:"),
        (json.dumps({"question": "   "}), "question is empty"),
        (json.dumps({"question": 5}), "question:"),
        (json.dumps({"question": "Q?", "answerable": "maybe"}), "answerable:"),
        ("[1, 2]", "line:"),
    ],
)
def test_load_questions_bad_line_names_path_and_line(
    tmp_path: Path, bad_line: str, detail: str
) -> None:
    path = write_lines(tmp_path / "set.jsonl", [json.dumps({"question": "Fine?"}), "", bad_line])
    with pytest.raises(EvalFileError) as info:
        load_questions(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: ")
    assert detail in message


@pytest.mark.parametrize("content", ["", "\n\n   \n"])
def test_load_questions_empty_file_raises(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(EvalFileError) as info:
        load_questions(path)
    assert str(info.value) == f"{path}: no questions"


def test_load_questions_missing_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "missing.jsonl"
    with pytest.raises(EvalFileError, match="cannot read") as info:
        load_questions(path)
    assert str(path) in str(info.value)


def test_load_questions_non_utf8_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes('{"question": "caf\xe9?"}\n'.encode("latin-1"))
    with pytest.raises(EvalFileError, match="cannot read"):
        load_questions(path)


def test_load_questions_keeps_unicode_line_separators_inside_strings(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "q.jsonl", [{"question": "Who wrote\u2028this?", "answers": ["x"]}])
    [question] = load_questions(path)
    assert question.question == "Who wrote\u2028this?"


# --- answer_text / is_correct / best_f1 ---------------------------------------


def test_answer_text_removes_markers() -> None:
    assert answer_text("Redmond [1] and Seattle [2]") == "Redmond and Seattle"
    assert answer_text("Redmond[12]") == "Redmond"


@pytest.mark.parametrize(
    ("answer", "golds", "expected"),
    [
        ("Redmond, Washington [1]", ["Redmond"], True),
        ("The $200 million deal [1]", ["200 million"], True),
        ("the U.S. Department of Defense [1]", ["US Department of Defense"], True),
        ("Redmond [1]", ["Seattle", "redmond"], True),
        ("Redmond [1]", ["Seattle"], False),
        ("Redmond [1]", [], False),
        ("Redmond [1]", ["", "the"], False),
        ("", ["Redmond"], False),
    ],
)
def test_is_correct_contains_normalised_gold(answer: str, golds: list[str], expected: bool) -> None:
    assert is_correct(answer, golds) is expected


def test_is_correct_rejects_answers_over_thirty_words() -> None:
    thirty = " ".join(["word"] * 29 + ["Redmond"])
    assert is_correct(thirty + " [1]", ["Redmond"]) is True
    assert is_correct("extra " + thirty + " [1]", ["Redmond"]) is False


def test_is_correct_ignores_markers_in_word_count() -> None:
    thirty = " ".join(["word"] * 29 + ["Redmond"])
    assert is_correct(thirty + " [1] [2] [3]", ["Redmond"]) is True


def test_must_groups_are_the_gold_when_a_line_has_them() -> None:
    item = EvalQuestion(
        question="Which shells show help for completions?",
        answers=["Zsh, Fish, and PowerShell"],
        must=[["zsh"], ["fish"], ["powershell"]],
    )

    def scored(text: str) -> bool | None:
        return score(item, answer(item.question, text, [], 0.1)).correct

    assert scored("Zsh, Fish and PowerShell [1]") is True  # not the gold phrase, all items
    assert scored("Zsh and Fish [1]") is False  # one group missing
    assert meets("`hide_input=True` [1]", [["hide_input"]]) is True
    assert (
        meets("a required option [1]", [["without a default", "default=...", "ellipsis"]]) is False
    )


def test_token_f1() -> None:
    assert best_f1("Redmond, Washington [1]", ["Redmond Washington"]) == 1.0
    assert best_f1("Redmond [1]", ["Redmond Washington"]) == pytest.approx(2 / 3)
    assert best_f1("the big red car", ["a red car"]) == pytest.approx(0.8)
    assert best_f1("Redmond", ["Seattle", "in Redmond"]) == pytest.approx(2 / 3)
    assert best_f1("Redmond", ["Seattle"]) == 0.0
    assert best_f1("Redmond", []) == 0.0
    assert best_f1("", ["Redmond"]) == 0.0


def test_token_f1_counts_repeated_tokens_once_each() -> None:
    assert best_f1("red red red", ["red"]) == pytest.approx(0.5)


# --- evaluate ------------------------------------------------------------------


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "docs" / "facts.txt"
    path.parent.mkdir()
    path.write_text("Intro.\r\nThe campus is in Redmond.\nThe deal was $200 million.\n", "utf-8")
    return path


def citation(path: Path, quote: str, shift: int = 0) -> Citation:
    text = path.read_bytes().decode("utf-8")
    start = text.index(quote) + shift
    line = text.count("\n", 0, start) + 1
    return Citation(
        source=str(path),
        start=start,
        end=start + len(quote),
        line_start=line,
        line_end=line,
        quote=quote,
    )


def make_ask(replies: dict[str, Answer]) -> tuple[list[str], Ask]:
    asked: list[str] = []

    def ask(question: str, history: Sequence[Turn] = ()) -> Answer:
        asked.append(question)
        return replies[question]

    return asked, ask


def answer(question: str, text: str, citations: list[Citation], seconds: float) -> Answer:
    return Answer(
        question=question,
        answer=text,
        abstained=False,
        citations=citations,
        timings=Timings(total_s=seconds),
    )


def abstention(question: str, seconds: float) -> Answer:
    return Answer(
        question=question,
        answer="I can't find that in the documents.",
        abstained=True,
        timings=Timings(total_s=seconds),
        reason="weak",
    )


def test_evaluate_summary_numbers(source: Path) -> None:
    good = citation(source, "The campus is in Redmond.")
    deal = citation(source, "The deal was $200 million.")
    stale = citation(source, "The deal was $200 million.", shift=1)  # quote no longer matches
    questions = [
        EvalQuestion(id="1", question="Where is the campus?", answers=["Redmond"]),
        EvalQuestion(id="2", question="How big was the deal?", answers=["$200 million"]),
        EvalQuestion(id="3", question="Who is the CEO?", answers=["Nadella"]),
        EvalQuestion(id="4", question="What is the moon made of?", answerable=False),
        EvalQuestion(id="5", question="Who won in 1990?", answerable=False),
        EvalQuestion(id="6", question="No gold here?"),
    ]
    replies = {
        "Where is the campus?": answer("Where is the campus?", "Redmond [1]", [good], 1.0),
        "How big was the deal?": answer("How big was the deal?", "$300 million [1]", [deal], 2.0),
        "Who is the CEO?": abstention("Who is the CEO?", 3.0),
        "What is the moon made of?": abstention("What is the moon made of?", 4.0),
        "Who won in 1990?": answer("Who won in 1990?", "Redmond [1]", [stale], 5.0),
        "No gold here?": abstention("No gold here?", 6.0),
    }
    asked, ask = make_ask(replies)
    seen: list[EvalResult] = []
    report = evaluate(questions, ask, on_result=seen.append)

    assert asked == [q.question for q in questions]
    assert [r.id for r in seen] == ["1", "2", "3", "4", "5", "6"]
    assert [r.correct for r in report.results] == [True, False, False, True, False, None]
    assert [r.f1 for r in report.results] == [1.0, 0.5, 0.0, None, None, None]
    assert report.results[1].ungrounded == ["300"]
    assert report.results[0].ungrounded == []

    summary = report.summary
    assert summary.questions == 6
    assert summary.answerable == 3
    assert summary.unanswerable == 2
    assert summary.answer_accuracy == pytest.approx(1 / 3, abs=1e-4)
    assert summary.mean_f1 == 0.5
    assert summary.abstention_accuracy == 0.5
    assert summary.false_abstentions == 1
    assert summary.citations == 3
    assert summary.citation_validity == pytest.approx(2 / 3, abs=1e-4)
    assert summary.ungrounded_answers == pytest.approx(2 / 3, abs=1e-4)
    assert summary.first_citation_has_gold == 1.0
    assert summary.latency_p50_s == 3.5
    assert summary.latency_p95_s == 5.75


def test_evaluate_latency_percentiles_inclusive() -> None:
    questions = [EvalQuestion(id=str(i), question=f"Q{i}?") for i in range(1, 6)]
    replies = {f"Q{i}?": abstention(f"Q{i}?", float(i)) for i in range(1, 6)}
    _, ask = make_ask(replies)
    summary = evaluate(questions, ask).summary
    assert summary.latency_p50_s == 3.0
    assert summary.latency_p95_s == 4.8
    assert summary.answer_accuracy is None
    assert summary.abstention_accuracy is None
    assert summary.mean_f1 is None
    assert summary.citation_validity is None
    assert summary.ungrounded_answers is None


def test_evaluate_single_question_latency() -> None:
    questions = [EvalQuestion(id="1", question="Q?", answerable=False)]
    _, ask = make_ask({"Q?": abstention("Q?", 0.25)})
    summary = evaluate(questions, ask).summary
    assert (summary.latency_p50_s, summary.latency_p95_s) == (0.25, 0.25)
    assert summary.abstention_accuracy == 1.0


def test_evaluate_citation_to_changed_file_is_invalid(source: Path) -> None:
    cite = citation(source, "The campus is in Redmond.")
    questions = [EvalQuestion(id="1", question="Where?", answers=["Redmond"])]
    _, ask = make_ask({"Where?": answer("Where?", "Redmond [1]", [cite], 0.1)})
    assert evaluate(questions, ask).summary.citation_validity == 1.0
    source.write_text("Rewritten.\n", encoding="utf-8")
    assert evaluate(questions, ask).summary.citation_validity == 0.0
    source.unlink()
    assert evaluate(questions, ask).summary.citation_validity == 0.0


def test_evaluate_question_error_counts_as_abstention() -> None:
    def ask(question: str, history: Sequence[Turn] = ()) -> Answer:
        raise QuestionError("question is empty")

    questions = [EvalQuestion(id="1", question="Q?", answers=["x"])]
    report = evaluate(questions, ask)
    [result] = report.results
    assert result.abstained is True
    assert result.correct is False
    assert result.f1 == 0.0
    assert result.reason == "question is empty"
    assert report.summary.false_abstentions == 1


def test_evaluate_lets_other_errors_through() -> None:
    def ask(question: str, history: Sequence[Turn] = ()) -> Answer:
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        evaluate([EvalQuestion(id="1", question="Q?")], ask)


def test_load_questions_rejects_duplicate_ids(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "q.jsonl",
        [
            {"id": "q", "question": "Where?", "answers": ["Redmond"]},
            {"id": "q", "question": "Moon?", "answerable": False},
        ],
    )
    with pytest.raises(EvalFileError, match=r"q\.jsonl:2: duplicate id 'q' \(line 1\)"):
        load_questions(path)


def test_load_questions_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_text('\ufeff{"question": "Where?"}\n', encoding="utf-8")
    assert [q.question for q in load_questions(path)] == ["Where?"]


def test_first_citation_has_gold_counts_right_answers_only(source: Path) -> None:
    campus = citation(source, "The campus is in Redmond.")
    deal = citation(source, "The deal was $200 million.")
    questions = [
        EvalQuestion(id="1", question="Where is the campus?", answers=["Redmond"]),
        EvalQuestion(id="2", question="Where else?", answers=["Redmond"]),
        EvalQuestion(id="3", question="How big?", answers=["$300 million"]),
    ]
    replies = {
        "Where is the campus?": answer("Where is the campus?", "Redmond [1]", [campus], 1.0),
        "Where else?": answer("Where else?", "Redmond [1]", [deal], 1.0),
        "How big?": answer("How big?", "$200 million [1]", [deal], 1.0),
    }
    _, ask = make_ask(replies)
    summary = evaluate(questions, ask).summary
    assert summary.answer_accuracy == pytest.approx(2 / 3, abs=1e-4)
    assert summary.first_citation_has_gold == 0.5
