"""Tests for qa.reader: the span grammar and the two proposals the reader asks for."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import ModelError
from qa.models import Evidence
from qa.reader import STOP, Proposal, Reader, span_grammar
from tests.fakes import ScriptedLLM

PROMPT = Path(__file__).resolve().parent.parent / "prompts" / "answer.txt"


# --- span_grammar --------------------------------------------------------------


def test_span_grammar_has_one_rule_per_word() -> None:
    grammar = span_grammar(["Paris is big.", "It rains"])
    assert grammar.split("\n") == [
        'root ::= " " (w0 | w1 | w2 | w3 | w4) "\\n"',
        'w0 ::= "Paris" | "Paris " w1',
        'w1 ::= "is" | "is " w2',
        'w2 ::= "big" | "big."',
        'w3 ::= "It" | "It " w4',
        'w4 ::= "rains"',
    ]


def test_span_grammar_root_starts_with_a_space_and_a_choice_of_start_word() -> None:
    first = span_grammar(["one two", "three"]).split("\n")[0]
    assert first.startswith('root ::= " " (')
    assert first == 'root ::= " " (w0 | w1 | w2) "\\n"'


def test_span_grammar_splits_on_any_whitespace() -> None:
    grammar = span_grammar(["  a\tb\n c  "])
    assert grammar.split("\n")[1:] == [
        'w0 ::= "a" | "a " w1',
        'w1 ::= "b" | "b " w2',
        'w2 ::= "c"',
    ]


@pytest.mark.parametrize(
    ("word", "rule"),
    [
        ("Washington,", 'w0 ::= "Washington" | "Washington,"'),
        ("(1936).", 'w0 ::= "(1936" | "(1936)."'),
        ("U.S.", 'w0 ::= "U.S" | "U.S."'),
        ("done?!", 'w0 ::= "done" | "done?!"'),
        ("Microsoft’s", 'w0 ::= "Microsoft’s"'),
        ("...", 'w0 ::= "..."'),
    ],
)
def test_span_grammar_offers_word_without_trailing_punctuation(word: str, rule: str) -> None:
    assert span_grammar([word]).split("\n")[1] == rule


def test_span_grammar_continuation_keeps_the_punctuation() -> None:
    rule = span_grammar(["Redmond, Washington"]).split("\n")[1]
    assert rule == 'w0 ::= "Redmond" | "Redmond," | "Redmond, " w1'


def test_span_grammar_escapes_quotes_and_backslashes() -> None:
    grammar = span_grammar(['He said "hi" C:\\dir'])
    assert grammar.split("\n")[1:] == [
        'w0 ::= "He" | "He " w1',
        'w1 ::= "said" | "said " w2',
        'w2 ::= "\\"hi" | "\\"hi\\"" | "\\"hi\\" " w3',
        'w3 ::= "C:\\\\dir"',
    ]


def test_span_grammar_of_no_text_has_only_the_root() -> None:
    assert span_grammar([]) == 'root ::= " " () "\\n"'


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
    assert proposal == Proposal(" Redmond, Washington", 0.0, " Redmond, Washington", 0.0)


def test_reader_constrains_only_the_second_call_by_the_span_grammar() -> None:
    llm = ScriptedLLM(reply=" Redmond")
    Reader(llm, PROMPT).read(QUESTION, EVIDENCE)
    grammar = span_grammar(
        [
            "Microsoft’s main campus sits in Redmond, Washington.",
            "OpenAI signed a $200 million contract.",
        ]
    )
    assert llm.calls == [{"stop": STOP}, {"stop": STOP, "grammar": grammar}]


def test_reader_streams_the_free_answer_to_on_token() -> None:
    llm = ScriptedLLM(reply=" $200 million")
    tokens: list[str] = []
    proposal = Reader(llm, PROMPT).read("How much was the contract?", EVIDENCE, tokens.append)
    assert "".join(tokens) == " $200 million"
    assert proposal == Proposal(" $200 million", 0.0, " $200 million", 0.0)
    assert len(llm.prompts) == 2
    assert "Question: How much was the contract?\nAnswer:" in llm.prompts[0]
    assert CONTEXT in llm.prompts[0]


def test_reader_reports_a_missing_prompt_template(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read prompt template"):
        Reader(ScriptedLLM(), tmp_path / "missing.txt")
