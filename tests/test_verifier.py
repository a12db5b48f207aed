"""Tests for qa.verifier: proposals become cited verbatim answers, or abstentions."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from qa import abstention, verifier
from qa.models import Citation, Evidence, Signals
from qa.reader import Proposal
from qa.verifier import (
    ABSTAIN,
    MAX_ANSWER_WORDS,
    Verdict,
    choose,
    cite,
    clean,
    confidence,
    locate,
    type_mismatch,
    ungrounded,
    verify,
)

DOC = (
    "Background.\r\n"
    "OpenAI signed a $200 million contract with the U.S. Department of Defense.\r\n"
    "Microsoft’s main campus sits in Redmond, Washington.\n"
    "In 2020, 20 countries joined the program.\n"
)


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
    """An abstention whose reason starts with the given text."""
    assert verdict.abstained is True
    assert verdict.answer == ABSTAIN
    assert verdict.citations == []
    assert verdict.reason.startswith(reason), verdict.reason


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


# --- choose --------------------------------------------------------------------


def test_choose_prefers_the_constrained_span(doc: Path) -> None:
    items = [evidence(doc, CONTRACT, 0.4, 0.5), evidence(doc, CAMPUS, 0.7, 0.6)]
    proposal = Proposal("Redmond", -0.5, "Washington", -1.25)
    found, signals = choose(proposal, items)
    assert found is not None
    assert found.evidence is items[1]
    assert found.text == "Washington"
    assert signals == Signals(
        candidate="Washington",
        similarity=0.7,
        coverage=0.6,
        rank=1,
        free_found=True,
        agree=False,
        free_logprob=-0.5,
        span_logprob=-1.25,
        confidence=0.0,
    )


def test_choose_free_match_ignores_case_and_quote_style(doc: Path) -> None:
    found, signals = choose(Proposal("MICROSOFT'S MAIN CAMPUS"), [evidence(doc, CAMPUS)])
    assert found is not None
    assert found.text == "Microsoft’s main campus"
    assert signals.free_found is True
    assert signals.candidate == "Microsoft’s main campus"


def test_choose_free_match_needs_whole_words(doc: Path) -> None:
    found, signals = choose(Proposal("Red"), [evidence(doc, CAMPUS)])
    assert found is None
    assert signals.free_found is False


def test_choose_falls_back_to_the_free_answer_without_a_span(doc: Path) -> None:
    found, signals = choose(Proposal("Redmond", span=""), [evidence(doc, CAMPUS)])
    assert found is not None
    assert found.text == "Redmond"
    assert signals.free_found is True


def test_choose_cleans_the_constrained_span(doc: Path) -> None:
    items = [evidence(doc, CONTRACT), evidence(doc, CAMPUS, 0.6, 0.5)]
    found, signals = choose(Proposal("Seattle", span=" Redmond, Washington.\n"), items)
    assert found is not None
    assert found.evidence is items[1]
    assert found.text == "Redmond, Washington"
    assert signals.candidate == "Redmond, Washington"
    assert signals.free_found is False
    assert signals.agree is False
    assert (signals.similarity, signals.coverage, signals.rank) == (0.6, 0.5, 1)


def test_choose_prefers_span_over_fuzzy_free_answer(doc: Path) -> None:
    # "Redmond Washington" is not verbatim (no comma), so the span comes first.
    found, signals = choose(
        Proposal("Redmond Washington", span="Washington"), [evidence(doc, CAMPUS)]
    )
    assert found is not None
    assert found.text == "Washington"
    assert signals.free_found is False


def test_choose_falls_back_to_fuzzy_free_answer(doc: Path) -> None:
    found, signals = choose(Proposal("Redmond Washington", span=""), [evidence(doc, CAMPUS)])
    assert found is not None
    assert found.text == "Redmond, Washington"
    assert signals.candidate == "Redmond, Washington"
    assert signals.free_found is False
    assert signals.rank == 0


def test_a_missing_log_probability_never_raises_confidence() -> None:
    model = abstention.model_for("llm")
    base = {"similarity": 0.7, "coverage": 0.6, "free_found": True, "agree": True}
    unknown = confidence(Signals(**base))
    worst_seen = (model.missing["free_logprob"], model.missing["span_logprob"])
    for free, span in [worst_seen, (-2.0, -2.0), (-0.5, -1.0), (0.0, 0.0)]:
        if free >= worst_seen[0] and span >= worst_seen[1]:
            assert unknown <= confidence(Signals(**base, free_logprob=free, span_logprob=span))
    assert unknown < confidence(Signals(**base, free_logprob=0.0, span_logprob=0.0))


def test_a_model_weighing_a_signal_that_can_be_missing_must_say_its_value() -> None:
    with pytest.raises(ValueError, match="free_logprob"):
        abstention.Logistic(weights={"free_logprob": 0.3}, bias=0.0, threshold=0.5)


def test_choose_finds_nothing(doc: Path) -> None:
    items = [evidence(doc, CONTRACT), evidence(doc, CAMPUS)]
    found, signals = choose(Proposal("Seattle", -0.5, "Oregon", -2.0), items)
    assert found is None
    assert signals == Signals(free_logprob=-0.5, span_logprob=-2.0)
    assert signals.candidate == ""
    assert signals.rank == -1


@pytest.mark.parametrize(
    ("free", "span", "agree"),
    [
        ("Redmond, Washington.", " redmond washington", True),
        ('"The Redmond"', "Redmond", True),
        ("Redmond", "Redmond, Washington", False),
        ("", "Redmond", False),
        ("", "", False),
    ],
)
def test_choose_agree_compares_normalised_answers(
    doc: Path, free: str, span: str, agree: bool
) -> None:
    _, signals = choose(Proposal(free, span=span), [evidence(doc, CAMPUS)])
    assert signals.agree is agree


# --- confidence ----------------------------------------------------------------


def test_every_mode_has_a_model_over_signal_fields() -> None:
    models = abstention.load().models
    assert set(models) == {"combined", "extractive", "llm"}
    for mode, model in models.items():
        assert set(model.weights) <= set(Signals.model_fields) - {"confidence", "candidate"}, mode
        assert 0.0 < model.threshold < 1.0, mode
        assert mode in abstention.load().fitted, mode


def test_confidence_is_the_fitted_logistic_model() -> None:
    model = abstention.load().models["llm"]
    signals = Signals(
        similarity=0.6, coverage=0.5, free_found=True, free_logprob=-0.8, span_logprob=-1.5
    )
    z = model.bias + sum(w * float(getattr(signals, f)) for f, w in model.weights.items())
    assert confidence(signals) == pytest.approx(1 / (1 + math.exp(-z)))


def test_the_threshold_decides_between_answer_and_abstention(doc: Path) -> None:
    items = [evidence(doc, CAMPUS)]
    proposal = Proposal("Redmond", -0.25, "Redmond", -0.5)
    answered = verify("Where is the main campus?", items, proposal, 0.0)
    assert answered.signals is not None
    level = answered.signals.confidence  # rounded to 4 places
    assert verify("Where is the main campus?", items, proposal, level - 0.001).abstained is False
    above = verify("Where is the main campus?", items, proposal, min(1.0, level + 0.01))
    assert_abstained(above, "confidence ")


# --- verify --------------------------------------------------------------------


def run(question: str, items: list[Evidence], free: str, span: str = "") -> Verdict:
    """Verify with no confidence gate."""
    return verify(question, items, Proposal(free, span=span), 0.0)


def test_verify_returns_cited_verbatim_span(doc: Path) -> None:
    items = [evidence(doc, CAMPUS), evidence(doc, CONTRACT)]
    verdict = run("How much is the defense contract worth?", items, "Answer: $200 million.")
    assert verdict.abstained is False
    assert verdict.answer == "$200 million [1]"
    assert verdict.reason == ""
    assert len(verdict.citations) == 1
    citation = verdict.citations[0]
    text = doc.read_bytes().decode("utf-8")
    assert citation.quote == CONTRACT
    assert text[citation.start : citation.end] == citation.quote
    assert (citation.start, citation.end) == (13, 13 + len(CONTRACT))
    assert (citation.line_start, citation.line_end) == (2, 2)


def test_verify_records_signals_of_the_answer(doc: Path) -> None:
    items = [evidence(doc, CONTRACT, 0.9, 0.9), evidence(doc, CAMPUS, 0.45, 0.35)]
    proposal = Proposal("Redmond", -0.25, "Redmond", -0.5)
    verdict = verify("Where is the main campus?", items, proposal, 0.0)
    assert verdict.abstained is False
    assert verdict.answer == "Redmond [1]"
    signals = verdict.signals
    assert signals is not None
    assert signals.candidate == "Redmond"
    assert (signals.similarity, signals.coverage, signals.rank) == (0.45, 0.35, 1)
    assert (signals.free_found, signals.agree) == (True, True)
    assert (signals.free_logprob, signals.span_logprob) == (-0.25, -0.5)
    assert signals.confidence == round(confidence(signals), 4)


def test_verify_has_no_similarity_or_coverage_threshold(doc: Path) -> None:
    items = [evidence(doc, CAMPUS, similarity=0.0, coverage=0.0)]
    verdict = run("Where is the main campus?", items, "Redmond")
    assert verdict.abstained is False
    assert verdict.answer == "Redmond [1]"
    assert verdict.signals is not None
    assert (verdict.signals.similarity, verdict.signals.coverage) == (0.0, 0.0)


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
    assert verdict.signals is not None
    assert verdict.signals.free_found is False


def test_verify_answers_with_the_span_when_free_answer_is_absent(doc: Path) -> None:
    items = [evidence(doc, CAMPUS), evidence(doc, CONTRACT)]
    verdict = run("How much is the defense contract worth?", items, "Ten dollars", " $200 million")
    assert verdict.abstained is False
    assert verdict.answer == "$200 million [1]"
    assert verdict.citations[0].quote == CONTRACT
    assert verdict.signals is not None
    assert verdict.signals.free_found is False
    assert verdict.signals.rank == 1


def test_verify_abstains_when_proposal_not_in_evidence(doc: Path) -> None:
    items = [evidence(doc, CAMPUS), evidence(doc, CONTRACT)]
    verdict = run("Where is the main campus?", items, "Seattle, Oregon", "Portland")
    assert_abstained(verdict, "no proposal found in the evidence")
    assert verdict.signals is not None
    assert verdict.signals.candidate == ""
    assert verdict.signals.rank == -1


@pytest.mark.parametrize("proposal", ["", "   ", '""', "Answer: ."])
def test_verify_abstains_on_empty_proposal(doc: Path, proposal: str) -> None:
    verdict = run("Where is the main campus?", [evidence(doc, CAMPUS)], proposal, proposal)
    assert_abstained(verdict, "no proposal found in the evidence")


@pytest.mark.parametrize("free", ["the", "$"])
def test_verify_abstains_on_candidate_without_words(doc: Path, free: str) -> None:
    verdict = run("How much is the defense contract worth?", [evidence(doc, CONTRACT)], free)
    assert verdict.abstained is True
    assert verdict.answer == ABSTAIN
    assert verdict.citations == []


def test_verify_abstains_without_evidence() -> None:
    verdict = run("Where is the main campus?", [], "Redmond", "Redmond")
    assert_abstained(verdict, "nothing relevant retrieved")
    assert verdict.reason == "nothing relevant retrieved"
    assert verdict.signals is None


def test_verify_abstains_below_min_confidence(doc: Path) -> None:
    items = [evidence(doc, CAMPUS)]
    verdict = verify("Where is the main campus?", items, Proposal("Redmond", span="Redmond"), 1.0)
    assert_abstained(verdict, "confidence ")
    assert verdict.reason.endswith(" below 1.00")
    assert verdict.signals is not None
    assert verdict.signals.candidate == "Redmond"
    assert verdict.signals.confidence == round(confidence(verdict.signals), 4) < 1.0


def test_verify_confidence_gate_is_inclusive(doc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verifier, "confidence", lambda signals: 0.7)
    items = [evidence(doc, CAMPUS)]
    proposal = Proposal("Redmond")
    accepted = verify("Where is the main campus?", items, proposal, 0.7)
    assert accepted.abstained is False
    assert accepted.answer == "Redmond [1]"
    assert accepted.signals is not None
    assert accepted.signals.confidence == 0.7
    rejected = verify("Where is the main campus?", items, proposal, 0.71)
    assert_abstained(rejected, "confidence 0.70 below 0.71")


def test_verify_gate_uses_unrounded_confidence(doc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verifier, "confidence", lambda signals: 0.49996)
    verdict = verify("Where is the main campus?", [evidence(doc, CAMPUS)], Proposal("Redmond"), 0.5)
    assert_abstained(verdict, "confidence")


def test_verify_abstains_when_proposal_repeats_question(doc: Path) -> None:
    items = [evidence(doc, CONTRACT)]
    verdict = run(
        "What did OpenAI sign with the U.S. Department of Defense?",
        items,
        "the U.S. Department of Defense",
    )
    assert_abstained(verdict, "proposal only repeats the question")
    assert verdict.signals is not None
    assert verdict.signals.candidate == "the U.S. Department of Defense"


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
    assert_abstained(verdict, "proposal longer than a short answer")


def test_verify_accepts_answer_of_max_words(tmp_path: Path) -> None:
    sentence = " ".join(f"word{i}" for i in range(MAX_ANSWER_WORDS)) + "."
    path = tmp_path / "long.txt"
    path.write_text(sentence, encoding="utf-8")
    verdict = run("What is written?", [evidence(path, sentence)], sentence)
    assert verdict.abstained is False
    assert verdict.answer == sentence[:-1] + " [1]"


def test_verify_abstains_when_file_changed_after_indexing(doc: Path) -> None:
    items = [evidence(doc, CAMPUS)]
    doc.write_text(DOC.replace("Redmond", "Seattle"), encoding="utf-8")
    verdict = run("Where is the main campus?", items, "Redmond")
    assert_abstained(verdict, "the cited file changed since indexing")
    assert verdict.signals is not None


def test_verify_abstains_when_text_shifted_after_indexing(doc: Path) -> None:
    items = [evidence(doc, CAMPUS)]
    doc.write_text("New first line.\n" + DOC, encoding="utf-8")
    verdict = run("Where is the main campus?", items, "Redmond")
    assert_abstained(verdict, "the cited file changed since indexing")


def test_verify_abstains_when_quote_lacks_the_answers_facts(
    doc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = evidence(doc, CAMPUS)

    def stale_cite(cited: Evidence) -> Citation:
        return Citation(
            source="doc.txt",
            start=cited.start,
            end=cited.end,
            line_start=cited.line_start,
            line_end=cited.line_end,
            quote="Microsoft’s main campus sits in Seattle, Washington.",
        )

    monkeypatch.setattr(verifier, "cite", stale_cite)
    verdict = run("Where is the main campus?", [item], "Redmond")
    assert_abstained(verdict, "answer holds facts the quote does not")


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


@pytest.mark.parametrize(
    ("question", "candidate", "expected"),
    [
        ("How many people live there?", "about 40,000", False),
        ("How many people live there?", "three hundred", False),
        ("How many people live there?", "the residents", True),
        ("When did the war end?", "in May", False),
        ("When did the war end?", "the treaty", True),
        ("What year was it built?", "1921", False),
        ("Who built it?", "the residents", False),
    ],
)
def test_type_mismatch_flags_numeric_questions_without_numbers(
    question: str, candidate: str, expected: bool
) -> None:
    assert type_mismatch(question, candidate) is expected


def test_verify_keeps_the_final_period_of_an_abbreviation(tmp_path: Path) -> None:
    path = tmp_path / "dc.txt"
    sentence = "The teams work in Washington, D.C. every day."
    path.write_text(sentence, encoding="utf-8")
    verdict = run("Where do the teams work?", [evidence(path, sentence)], "Washington, D.C.")
    assert verdict.answer == "Washington, D.C. [1]"


def test_verify_strips_a_sentence_final_period(doc: Path) -> None:
    verdict = run("Where is the main campus?", [evidence(doc, CAMPUS)], "Redmond, Washington.")
    assert verdict.answer == "Redmond, Washington [1]"
