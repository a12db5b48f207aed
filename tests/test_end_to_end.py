"""End to end with the real models: MiniLM embeddings, Chroma, the extractive reader and
Qwen2.5-Coder-1.5B-Instruct."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import qa
from qa.cli.main import app
from qa.evaluation.evaluate import citation_valid
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow
runner = CliRunner()


def assert_quotes_match(answer: qa.Answer) -> None:
    assert answer.citations, answer
    for citation in answer.citations:
        assert citation_valid(citation), citation


def test_ask_answers_from_the_seed_article_with_a_checked_citation() -> None:
    answer = qa.ask("How much is OpenAI's new Pentagon contract worth?")
    assert not answer.abstained, answer.reason
    assert "200 million" in answer.answer
    assert answer.answer.endswith("[1]")
    [citation] = answer.citations
    assert "200 million" in citation.quote
    assert_quotes_match(answer)
    assert answer.timings.total_s > 0


def test_ask_abstains_when_the_documents_do_not_say() -> None:
    answer = qa.ask("Who won the 2022 football World Cup?")
    assert answer.abstained
    assert answer.answer == "I can't find that in the documents."
    assert answer.citations == []


def test_answers_stream_token_by_token() -> None:
    tokens: list[str] = []
    answer = qa.ask("How much is OpenAI's new Pentagon contract worth?", on_token=tokens.append)
    assert len(tokens) >= 2
    assert "200 million" in "".join(tokens)
    assert answer.answer == "$200 million [1]"


def test_a_changed_document_is_reindexed_before_answering(workdir: Path) -> None:
    docs = workdir / "mine"
    docs.mkdir()
    note = docs / "note.txt"
    note.write_text("The office cat is called Biscuit. She sleeps all day.", encoding="utf-8")
    first = qa.ask("What is the office cat called?", docs=docs)
    assert "Biscuit" in first.answer
    note.write_text("The office cat is called Pepper. She sleeps all day.", encoding="utf-8")
    second = qa.ask("What is the office cat called?", docs=docs)
    assert "Pepper" in second.answer
    assert_quotes_match(second)


def test_cli_ask_json_with_the_real_model() -> None:
    result = runner.invoke(
        app, ["ask", "--json", "Where will the OpenAI for Government teams work?"]
    )
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["question"] == "Where will the OpenAI for Government teams work?"
    assert payload["answer"] == "Washington, D.C. [1]"
    [citation] = payload["citations"]
    assert citation_valid(qa.Citation(**citation))


def test_chat_with_the_real_model() -> None:
    result = runner.invoke(
        app,
        ["chat"],
        input="Which defence software supplier could OpenAI end up competing with?\n/quit\n",
    )
    assert result.exit_code == 0, result.stderr
    assert "Ask about your documents." in result.stdout
    assert "Palantir [1]" in result.stdout
    assert "seeds/openai-dod-microsoft.txt:4" in result.stdout


@pytest.mark.skipif(not (SHARED_DATA / "seed-questions").exists(), reason="no ../shared/data")
def test_eval_on_the_public_seed_questions(workdir: Path) -> None:
    out = workdir / "report.json"
    path = SHARED_DATA / "seed-questions" / "questions.jsonl"
    result = runner.invoke(app, ["eval", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(out.read_text())["summary"]
    assert summary["questions"] == 18
    assert summary["citation_validity"] in (1.0, None)
    assert summary["ungrounded_answers"] in (0.0, None)
    # Just under the measured figures (docs/quality.md, "Measured quality").
    assert summary["abstention_accuracy"] >= 5 / 6
    assert summary["answer_accuracy"] >= 11 / 12


@pytest.mark.parametrize(
    ("question", "expected", "quoted"),
    [
        ("How much is OpenAI's Pentagon contract worth?", "$200 million [1]", "$200 million"),
        ("Who are OpenAI's new compute partners?", "Oracle, Google Cloud and SoftBank [1]",
         "engaging Oracle"),
        ("What does Microsoft want?", "larger future stake [1]", "desire for a larger"),
        ("Is OpenAI allowed to build weapons?", "No [1]", "forbid weapons development"),
    ],
)  # fmt: skip
def test_a_new_users_first_questions_are_answered(
    question: str, expected: str, quoted: str
) -> None:
    """The questions a new user asked in the issue that brought the instruction-tuned model:
    each was declined before it."""
    answer = qa.ask(question)
    assert answer.answer == expected, answer.reason
    assert quoted in answer.citations[0].quote
    assert_quotes_match(answer)
