"""Tests for qa.verifier: proposals become cited verbatim answers, or abstentions."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.models import Evidence
from qa.verifier import (
    ABSTAIN,
    MAX_ANSWER_WORDS,
    Verdict,
    cite,
    clean,
    locate,
    ungrounded,
    verify,
)

DOC = (
    "Background.\r\n"
    "OpenAI signed a $200 million contract with the U.S. Department of Defense.\r\n"
    "Microsoft’s main campus sits in Redmond, Washington.\n"
    "In 2020, 20 countries joined the program.\n"
)
MIN_COVERAGE = 0.34
MIN_SIMILARITY = 0.3


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    path = tmp_path / "docs" / "doc.txt"
    path.parent.mkdir()
    path.write_bytes(DOC.encode("utf-8"))
    return path


def evidence(path: Path, sentence: str, similarity: float = 0.8, coverage: float = 0.8) -> Evidence:
    """Evidence for a sentence of the file, with its real offsets and lines."""
    text = path.read_bytes().decode("utf-8")
    start = text.index(sentence)
    end = start + len(sentence)
    return Evidence(
        source=str(path.resolve()),
        start=start,
        end=end,
        line_start=text.count("\n", 0, start) + 1,
        line_end=text.count("\n", 0, end - 1) + 1,
        text=sentence,
        similarity=similarity,
        coverage=coverage,
        score=similarity,
    )


CONTRACT = "OpenAI signed a $200 million contract with the U.S. Department of Defense."
CAMPUS = "Microsoft’s main campus sits in Redmond, Washington."
COUNTRIES = "In 2020, 20 countries joined the program."


def assert_abstained(verdict: Verdict, reason: str) -> None:
    assert verdict.abstained is True
    assert verdict.answer == ABSTAIN
    assert verdict.citations == []
    assert reason in verdict.reason


# --- clean ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Paris", "Paris"),
        ("Paris.", "Paris"),
        ('"Paris"', "Paris"),
        ("“Paris.”", "Paris"),
        ("Answer: Paris.", "Paris"),
        ("answer : 'Paris'", "Paris"),
        ("A: $200 million.", "$200 million"),
        ("**Redmond, Washington**", "Redmond, Washington"),
        ("  Paris\nBecause it is the capital.", "Paris"),
        ("\n\n  Paris;  ", "Paris"),
        ("U.S.", "U.S"),
        ("", ""),
        ("   ", ""),
        ('"."', ""),
    ],
)
def test_clean_strips_quotes_labels_and_final_stop(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_keeps_words_starting_with_a() -> None:
    assert clean("Apple") == "Apple"
    assert clean("Azure: a cloud") == "Azure: a cloud"


def test_clean_strips_quote_before_final_stop() -> None:
    assert clean('"Paris".') == "Paris"


# --- locate --------------------------------------------------------------------


def test_locate_finds_verbatim_span_case_insensitively(doc: Path) -> None:
    item = evidence(doc, CONTRACT)
    found = locate("the u.s. department OF DEFENSE", [item])
    assert found is not None
    assert found.evidence is item
    assert found.text == "the U.S. Department of Defense"
    assert CONTRACT[found.start : found.end] == found.text


def test_locate_matches_straight_apostrophe_to_curly(doc: Path) -> None:
    item = evidence(doc, CAMPUS)
    found = locate("Microsoft's main campus", [item])
    assert found is not None
    assert found.text == "Microsoft’s main campus"
    assert (found.start, found.end) == (0, 23)


def test_locate_matches_curly_apostrophe_to_straight(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("It is OpenAI's model.", encoding="utf-8")
    item = evidence(path, "It is OpenAI's model.")
    found = locate("OpenAI’s model", [item])
    assert found is not None
    assert found.text == "OpenAI's model"


def test_locate_falls_back_to_closest_word_window(doc: Path) -> None:
    item = evidence(doc, CAMPUS)
    found = locate("Redmond Washington", [item])
    assert found is not None
    assert found.text == "Redmond, Washington"


def test_locate_fuzzy_window_tolerates_an_extra_word(doc: Path) -> None:
    item = evidence(doc, CONTRACT)
    found = locate("a 200 million dollar contract", [item])
    assert found is not None
    assert found.text == "200 million contract"


def test_locate_prefers_verbatim_in_later_evidence_over_fuzzy(doc: Path) -> None:
    first = evidence(doc, CAMPUS)
    second = evidence(doc, CONTRACT)
    found = locate("$200 million", [first, second])
    assert found is not None
    assert found.evidence is second
    assert found.text == "$200 million"


def test_locate_returns_none_when_not_in_evidence(doc: Path) -> None:
    items = [evidence(doc, CONTRACT), evidence(doc, CAMPUS)]
    assert locate("Seattle Oregon", items) is None
    assert locate("", items) is None
    assert locate("The!", items) is None  # only an article once normalised
    assert locate("Redmond", []) is None


# --- cite ----------------------------------------------------------------------


def test_cite_quotes_the_file_text(doc: Path) -> None:
    item = evidence(doc, CAMPUS)
    citation = cite(item)
    assert citation is not None
    text = doc.read_bytes().decode("utf-8")
    assert citation.quote == CAMPUS == text[citation.start : citation.end]
    assert citation.source == str(Path("docs") / "doc.txt")  # relative to the cwd
    assert (citation.line_start, citation.line_end) == (3, 3)


def test_cite_returns_none_when_file_changed(doc: Path) -> None:
    item = evidence(doc, CAMPUS)
    doc.write_text("X" + DOC, encoding="utf-8")
    assert cite(item) is None


def test_cite_returns_none_when_file_gone_or_not_utf8(doc: Path) -> None:
    item = evidence(doc, CAMPUS)
    doc.write_bytes(b"\xff\xfe" + DOC.encode("utf-16-le"))
    assert cite(item) is None
    doc.unlink()
    assert cite(item) is None


# --- verify --------------------------------------------------------------------


def run(question: str, items: list[Evidence], proposal: str) -> Verdict:
    return verify(question, items, proposal, MIN_COVERAGE, MIN_SIMILARITY)


def test_verify_returns_cited_verbatim_span(doc: Path) -> None:
    items = [evidence(doc, CAMPUS), evidence(doc, CONTRACT)]
    verdict = run("How much is the defense contract worth?", items, "Answer: $200 million.")
    assert verdict.abstained is False
    assert verdict.answer == "$200 million [1]"
    assert len(verdict.citations) == 1
    citation = verdict.citations[0]
    text = doc.read_bytes().decode("utf-8")
    assert citation.quote == CONTRACT
    assert text[citation.start : citation.end] == citation.quote
    assert (citation.start, citation.end) == (13, 13 + len(CONTRACT))
    assert (citation.line_start, citation.line_end) == (2, 2)


def test_verify_answer_uses_the_documents_spelling(doc: Path) -> None:
    items = [evidence(doc, CAMPUS)]
    verdict = run("Where is the main campus?", items, "redmond, washington")
    assert verdict.abstained is False
    assert verdict.answer == "Redmond, Washington [1]"
    assert verdict.citations[0].quote == CAMPUS


def test_verify_accepts_fuzzy_proposal_as_document_span(doc: Path) -> None:
    items = [evidence(doc, CAMPUS)]
    verdict = run("Where is the main campus?", items, "Redmond Washington")
    assert verdict.answer == "Redmond, Washington [1]"
    assert verdict.citations[0].quote == CAMPUS


def test_verify_accepts_evidence_exactly_at_thresholds(doc: Path) -> None:
    items = [evidence(doc, CAMPUS, similarity=MIN_SIMILARITY, coverage=MIN_COVERAGE)]
    verdict = run("Where is the main campus?", items, "Redmond")
    assert verdict.abstained is False
    assert verdict.answer == "Redmond [1]"


def test_verify_abstains_when_proposal_not_in_evidence(doc: Path) -> None:
    items = [evidence(doc, CAMPUS), evidence(doc, CONTRACT)]
    verdict = run("Where is the main campus?", items, "Seattle, Oregon")
    assert_abstained(verdict, "proposal not in the evidence")


@pytest.mark.parametrize("proposal", ["", "   ", '""', "Answer: ."])
def test_verify_abstains_on_empty_proposal(doc: Path, proposal: str) -> None:
    verdict = run("Where is the main campus?", [evidence(doc, CAMPUS)], proposal)
    assert_abstained(verdict, "proposed nothing")


def test_verify_abstains_without_evidence() -> None:
    assert_abstained(run("Where is the main campus?", [], "Redmond"), "nothing relevant")


def test_verify_abstains_on_low_coverage(doc: Path) -> None:
    items = [evidence(doc, CAMPUS, coverage=MIN_COVERAGE - 0.01)]
    verdict = run("Where is the main campus?", items, "Redmond")
    assert_abstained(verdict, "evidence too weak (coverage 0.33")


def test_verify_abstains_on_low_similarity(doc: Path) -> None:
    items = [evidence(doc, CAMPUS, similarity=0.1)]
    verdict = run("Where is the main campus?", items, "Redmond")
    assert_abstained(verdict, "similarity 0.10")


def test_verify_weakness_is_judged_on_the_supporting_sentence(doc: Path) -> None:
    strong_other = evidence(doc, CONTRACT, similarity=0.9, coverage=0.9)
    weak_support = evidence(doc, CAMPUS, similarity=0.05, coverage=0.05)
    verdict = run("Where is the main campus?", [strong_other, weak_support], "Redmond")
    assert_abstained(verdict, "evidence too weak")


def test_verify_abstains_when_proposal_repeats_question(doc: Path) -> None:
    items = [evidence(doc, CONTRACT)]
    verdict = run(
        "What did OpenAI sign with the U.S. Department of Defense?",
        items,
        "the U.S. Department of Defense",
    )
    assert_abstained(verdict, "only repeats the question")


def test_verify_number_inside_a_question_number_is_not_a_repeat(doc: Path) -> None:
    items = [evidence(doc, COUNTRIES)]
    verdict = run("How many countries joined the program in 2020?", items, "20")
    assert verdict.abstained is False
    assert verdict.answer == "20 [1]"


def test_verify_abstains_on_overlong_answer(tmp_path: Path) -> None:
    sentence = " ".join(f"word{i}" for i in range(MAX_ANSWER_WORDS + 5)) + "."
    path = tmp_path / "long.txt"
    path.write_text(sentence, encoding="utf-8")
    verdict = run("What is written?", [evidence(path, sentence)], sentence)
    assert_abstained(verdict, "longer than a short answer")


def test_verify_abstains_when_file_changed_after_indexing(doc: Path) -> None:
    items = [evidence(doc, CAMPUS)]
    doc.write_text(DOC.replace("Redmond", "Seattle"), encoding="utf-8")
    verdict = run("Where is the main campus?", items, "Redmond")
    assert_abstained(verdict, "changed since indexing")


def test_verify_abstains_when_text_shifted_after_indexing(doc: Path) -> None:
    items = [evidence(doc, CAMPUS)]
    doc.write_text("New first line.\n" + DOC, encoding="utf-8")
    verdict = run("Where is the main campus?", items, "Redmond")
    assert_abstained(verdict, "changed since indexing")


# --- ungrounded ------------------------------------------------------------------


def test_ungrounded_lists_missing_numbers_and_names() -> None:
    quotes = ["OpenAI got $10 billion from Microsoft."]
    assert ungrounded("Microsoft paid $10 billion to OpenAI in 2019", quotes) == ["2019"]
    assert ungrounded("Satya Nadella paid 10", quotes) == ["Satya", "Nadella"]


def test_ungrounded_empty_when_all_facts_quoted() -> None:
    quotes = ["The deal was worth 1,000 dollars.", "It was signed by OpenAI’s board."]
    assert ungrounded("1,000 dollars, signed by OpenAI's board.", quotes) == []
    assert ungrounded("worth a lot", quotes) == []


def test_ungrounded_with_no_quotes_lists_every_fact() -> None:
    assert ungrounded("Paris had 3 million people.", []) == ["Paris", "3"]


def test_ungrounded_ignores_citation_markers() -> None:
    assert ungrounded("Paris [1]", ["Paris is the capital of France."]) == []
