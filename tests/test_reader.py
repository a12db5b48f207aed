"""Tests for qa.reader: candidate phrases, their grammar, and the two proposals."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import ModelError
from qa.models import Evidence
from qa.reader import STOP, Proposal, Reader, candidate_spans, choice_grammar
from tests.fakes import ScriptedLLM

PROMPT = Path(__file__).resolve().parent.parent / "prompts" / "answer.txt"


# --- candidate_spans and choice_grammar --------------------------------------------


def test_candidates_start_with_a_new_word_and_end_in_no_stopword() -> None:
    spans = candidate_spans("What is the capital of France?", "Paris is the capital of France.")
    assert spans == [
        "Paris",
        "Paris is the capital",
        "Paris is the capital of France",
        "Paris is the capital of France.",
    ]


def test_candidates_may_keep_a_final_period_so_abbreviations_can_end() -> None:
    spans = candidate_spans("Where do teams work?", "Teams work in Washington, D.C. every day.")
    assert "in Washington, D.C" in spans
    assert "in Washington, D.C." in spans


def test_candidates_may_be_led_by_an_article_or_preposition() -> None:
    spans = candidate_spans("Who built it?", "It was built by the Romans in 120.")
    assert "the Romans" in spans
    assert "in 120" in spans
    assert "by the Romans" not in spans


def test_numeric_questions_get_only_phrases_with_numbers() -> None:
    text = "About 40,000 people lived there in 1900, and the town grew."
    spans = candidate_spans("How many people lived there in 1900?", text)
    assert "40,000" in spans
    assert "About 40,000" in spans
    assert "town" not in spans
    assert all(any(ch.isdigit() for ch in span) for span in spans)


def test_only_the_first_wh_word_decides_whether_a_number_is_asked_for() -> None:
    text = "Suleiman the Magnificent ruled in the 16th century."
    spans = candidate_spans("Who reigned when the empire was at its height?", text)
    assert "Suleiman the Magnificent" in spans


def test_quoted_names_are_candidates_even_in_the_questions_words() -> None:
    text = "Under the “OpenAI for Government” initiative, teams will work in Washington."
    spans = candidate_spans("What is OpenAI's programme for government called?", text)
    assert spans[0] == "OpenAI for Government"
    assert not [s for s in spans if "”" in s or "“" in s]


def test_candidates_are_verbatim_and_at_most_max_words_long() -> None:
    text = "Red green blue cyan magenta yellow black white."
    spans = candidate_spans("Which words?", text, max_words=3)
    assert "Red green blue" in spans
    assert "Red green blue cyan" not in spans
    assert all(span in text for span in spans)


def test_candidates_keep_the_first_of_duplicates_only() -> None:
    spans = candidate_spans("Which city?", "Paris and Paris.")
    assert spans.count("Paris") == 1


def test_choice_grammar_allows_exactly_the_choices() -> None:
    grammar = choice_grammar(["Paris", 'say "hi" C:\\dir'])
    assert grammar == 'root ::= " " ("Paris" | "say \\"hi\\" C:\\\\dir") "\\n"'


# --- Reader --------------------------------------------------------------------


def item(text: str) -> Evidence:
    return Evidence(source="doc.txt", start=0, end=len(text), line_start=1, line_end=1, text=text)


EVIDENCE = [
    item("Microsoft’s main campus\nsits in  Redmond, Washington."),
    item("OpenAI signed a $200 million contract."),
]
QUESTION = "Where is   Microsoft’s\nmain campus?"
CONTEXT = (
    "Microsoft’s main campus sits in Redmond, Washington. OpenAI signed a $200 million contract."
)


def test_reader_renders_evidence_and_question_into_the_template() -> None:
    llm = ScriptedLLM(reply=" Redmond, Washington")
    Reader(llm, PROMPT).read(QUESTION, EVIDENCE)
    template = PROMPT.read_text(encoding="utf-8")
    expected = template.replace("{context}", CONTEXT).replace(
        "{question}", "Where is Microsoft’s main campus?"
    )
    assert llm.prompts == [expected.rstrip(), expected.rstrip()]
    assert llm.prompts[0].endswith(
        f"Text: {CONTEXT}\nQuestion: Where is Microsoft’s main campus?\nAnswer:"
    )


def test_reader_proposes_free_and_span_answers() -> None:
    llm = ScriptedLLM(reply=" Redmond, Washington")
    proposal = Reader(llm, PROMPT).read(QUESTION, EVIDENCE)
    # a model that gives no log-probabilities: unknown, not 0.0 (certainty)
    assert proposal == Proposal(" Redmond, Washington", None, " Redmond, Washington", None)


def test_reader_constrains_only_the_second_call_to_the_evidence_candidates() -> None:
    llm = ScriptedLLM(reply=" Redmond")
    Reader(llm, PROMPT).read(QUESTION, EVIDENCE)
    first = candidate_spans(QUESTION, "Microsoft’s main campus sits in Redmond, Washington.")
    second = candidate_spans(QUESTION, "OpenAI signed a $200 million contract.")
    grammar = choice_grammar(first + [s for s in second if s not in first])
    assert "in Redmond, Washington" in grammar
    assert llm.calls == [{"stop": STOP}, {"stop": STOP, "grammar": grammar}]


def test_reader_asks_once_when_the_evidence_offers_no_candidate() -> None:
    llm = ScriptedLLM(reply=" Redmond")
    proposal = Reader(llm, PROMPT).read("Where is Redmond?", [item("Redmond is.")])
    assert proposal == Proposal(" Redmond")
    assert llm.calls == [{"stop": STOP}]


def test_reader_streams_the_free_answer_to_on_token() -> None:
    llm = ScriptedLLM(reply=" $200 million")
    tokens: list[str] = []
    proposal = Reader(llm, PROMPT).read("How much was the contract?", EVIDENCE, tokens.append)
    assert "".join(tokens) == " $200 million"
    assert proposal == Proposal(" $200 million", None, " $200 million", None)
    assert len(llm.prompts) == 2
    assert "Question: How much was the contract?\nAnswer:" in llm.prompts[0]
    assert CONTEXT in llm.prompts[0]


def test_reader_reports_a_missing_prompt_template(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read prompt template"):
        Reader(ScriptedLLM(), tmp_path / "missing.txt")
