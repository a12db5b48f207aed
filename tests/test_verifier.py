"""Tests for qa.answer.verifier: a reading becomes a cited verbatim answer, or an abstention."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from qa.answer import abstention, verifier
from qa.answer.abstention import Logistic, SureBand
from qa.answer.alignment import Aligned, Span
from qa.answer.generator import Generated
from qa.answer.reading import Candidate, Reading
from qa.answer.span_reader import Found
from qa.answer.verifier import (
    ABSTAIN,
    MAX_ANSWER_WORDS,
    NO_SPAN_MARGIN,
    Verdict,
    choose,
    cite,
    type_mismatch,
    ungrounded,
    verify_reading,
)
from qa.answer.yes_no import Judged
from qa.models import Citation, Evidence, Signals

DOC = (
    "Background.\r\n"
    "OpenAI signed a $200 million contract with the U.S. Department of Defense.\r\n"
    "Microsoft’s main campus sits in Redmond, Washington.\n"
    "In 2020, 20 countries joined the program.\n"
    "The contract forbids weapons development.\n"
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
WEAPONS = "The contract forbids weapons development."


def assert_abstained(verdict: Verdict, reason: str) -> None:
    """An abstention whose reason starts with the given text."""
    assert verdict.abstained is True
    assert verdict.answer == ABSTAIN
    assert verdict.citations == []
    assert verdict.reason.startswith(reason), verdict.reason


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


# --- readings --------------------------------------------------------------------


class Fixed:
    """An abstention model that gives every answer the same confidence."""

    def __init__(self, likelihood: float) -> None:
        self.likelihood = likelihood

    def probability(self, signals: Signals) -> float:
        return self.likelihood


@pytest.fixture(autouse=True)
def confident(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fitted models are not what these tests check: every answer gets 0.9 unless a
    test sets another model."""
    monkeypatch.setattr(abstention, "model_for", lambda mode, fit=None: Fixed(0.9))


def span(sentence: Evidence, text: str, score: float = 8.0, no_answer: float = -4.0) -> Candidate:
    """The extractive reader's span for a phrase of the sentence."""
    at = sentence.text.index(text)
    return Candidate(
        Found(0, at, at + len(text), text, score, no_answer), sentence, at, at + len(text)
    )


def phrase(sentence: Evidence, text: str, share: float = 1.0) -> Aligned:
    """Where the LLM's phrase aligned in the sentence."""
    at = sentence.text.index(text)
    return Aligned(sentence, at, at + len(text), share)


def reading(*spans: Candidate, reply: str | None = None, aligned: Aligned | None = None) -> Reading:
    """The reader's spans, best first, and the LLM's reply (None: not asked) aligned there."""
    generated = None if reply is None else Generated(reply, -0.2)
    context = [c.sentence for c in spans] + ([aligned.sentence] if aligned else [])
    return Reading(list(spans), context, generated, aligned)


def run(question: str, given: Reading, min_confidence: float = 0.5) -> Verdict:
    return verify_reading(question, given, "combined", min_confidence)


# --- choose ----------------------------------------------------------------------


def test_choose_records_the_signals_of_the_aligned_phrase(doc: Path) -> None:
    campus = evidence(doc, CAMPUS, 0.7, 0.6)
    given = reading(
        span(campus, "Redmond", 6.0, -1.0),
        reply="Redmond, Washington.",
        aligned=phrase(campus, "Redmond, Washington"),
    )
    choice, signals = choose("Where is the main campus?", given)
    assert choice == Span(campus, 32, 51)
    assert signals == Signals(
        candidate="Redmond, Washington",
        similarity=0.7,
        coverage=0.6,
        llm_asked=True,
        aligned=1.0,
        from_llm=True,
        agree=True,
        llm_logprob=-0.2,
        reader_score=6.0,
        reader_margin=7.0,
    )


def test_choose_without_an_llm_takes_the_readers_best_span(doc: Path) -> None:
    contract = evidence(doc, CONTRACT)
    given = reading(span(contract, "$200 million"), span(contract, "OpenAI", 2.0))
    choice, signals = choose("How much is the contract worth?", given)
    assert choice is not None and choice.text == "$200 million"
    assert (signals.llm_asked, signals.declined, signals.from_llm) == (False, True, False)
    assert signals.llm_logprob is None  # unknown, not certain


def test_choose_finds_nothing_without_spans_or_an_aligned_phrase() -> None:
    choice, signals = choose("Where is the main campus?", reading(reply="Seattle"))
    assert choice is None
    assert signals == Signals(llm_asked=True, llm_logprob=-0.2, reader_margin=NO_SPAN_MARGIN)


@pytest.mark.parametrize(
    ("sentence", "reader", "agree"),
    [
        (CAMPUS, "Redmond", True),  # overlaps the phrase
        (CAMPUS, "main campus", False),  # the same sentence, elsewhere
        (COUNTRIES, "2020", False),
    ],
)
def test_agree_is_the_reader_naming_the_llms_answer(
    doc: Path, sentence: str, reader: str, agree: bool
) -> None:
    campus = evidence(doc, CAMPUS)
    given = reading(
        span(evidence(doc, sentence), reader),
        reply="Redmond, Washington",
        aligned=phrase(campus, "Redmond, Washington"),
    )
    assert choose("Where is the main campus?", given)[1].agree is agree


def test_spans_at_the_same_offsets_of_two_files_do_not_agree(tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("Redmond is green.", encoding="utf-8")
    second.write_text("Seattle is grey.", encoding="utf-8")
    given = reading(
        span(evidence(second, "Seattle is grey."), "Seattle"),
        reply="Redmond",
        aligned=phrase(evidence(first, "Redmond is green."), "Redmond"),
    )
    assert choose("Which city is green?", given)[1].agree is False


# --- verify_reading --------------------------------------------------------------


def test_an_aligned_llm_phrase_is_shown_and_cited(doc: Path) -> None:
    campus, contract = evidence(doc, CAMPUS), evidence(doc, CONTRACT)
    given = reading(
        span(contract, "$200 million"),
        reply=" Redmond, Washington.",
        aligned=phrase(campus, "Redmond, Washington"),
    )
    verdict = run("Where is the main campus?", given)
    assert (verdict.answer, verdict.abstained, verdict.reason) == (
        "Redmond, Washington [1]",
        False,
        "",
    )
    [citation] = verdict.citations
    assert citation.quote == CAMPUS == DOC[citation.start : citation.end]
    assert (citation.line_start, citation.line_end) == (3, 3)
    assert verdict.signals is not None
    assert verdict.signals.from_llm and not verdict.signals.agree
    assert verdict.signals.confidence == 0.9


def test_an_llm_not_found_falls_back_to_the_readers_span(doc: Path) -> None:
    contract = evidence(doc, CONTRACT)
    given = reading(span(contract, "$200 million"), reply="NOT FOUND")
    verdict = run("How much is the defense contract worth?", given)
    assert verdict.answer == "$200 million [1]"
    [citation] = verdict.citations
    assert citation.quote == CONTRACT
    assert (citation.start, citation.end, citation.line_start) == (13, 13 + len(CONTRACT), 2)
    assert verdict.signals is not None
    assert verdict.signals.declined and not verdict.signals.from_llm


def judged_reading(doc: Path, sentence: str, yes: float | None, no: float | None) -> Reading:
    context = [evidence(doc, text) for text in (CONTRACT, CAMPUS, WEAPONS)]
    [judged] = [item for item in context if item.text == sentence]
    return Reading(context=context, judged=Judged(judged, yes, no))


def test_a_judged_no_is_answered_citing_the_sentence_judged(doc: Path) -> None:
    verdict = run("Does the contract allow weapons work?", judged_reading(doc, WEAPONS, 0.1, 0.7))
    assert (verdict.answer, verdict.abstained) == ("No [1]", False)
    [citation] = verdict.citations
    assert citation.quote == WEAPONS == DOC[citation.start : citation.end]
    assert verdict.signals is not None
    assert verdict.signals.yes_no and verdict.signals.candidate == "No"
    assert verdict.signals.confidence == 0.7


def test_a_judge_in_doubt_abstains(doc: Path) -> None:
    verdict = run("Is the campus in Redmond?", judged_reading(doc, CAMPUS, 0.6, 0.3))
    assert_abstained(verdict, "the text does not show yes or no (yes 0.60, no 0.30)")
    verdict = run("Is the campus in Redmond?", judged_reading(doc, CAMPUS, None, None))
    assert_abstained(verdict, "the LLM gave no probabilities for yes or no")


def test_a_judged_sentence_without_a_name_the_evidence_holds_abstains(doc: Path) -> None:
    reading = judged_reading(doc, WEAPONS, 0.1, 0.9)
    verdict = run("Is Microsoft allowed to build weapons?", reading)
    assert_abstained(verdict, "the sentence judged does not name Microsoft")


def test_a_name_the_evidence_never_uses_is_left_to_the_judge(doc: Path) -> None:
    reading = judged_reading(doc, CONTRACT, 0.9, 0.05)
    assert run("Is the Pentagon deal worth $200 million?", reading).answer == "Yes [1]"


def test_a_no_to_a_question_that_is_not_yes_no_is_not_the_answer(doc: Path) -> None:
    given = reading(span(evidence(doc, CAMPUS), "Redmond"), reply="No")
    assert run("Where is the main campus?", given).answer == "Redmond [1]"


def test_a_phrase_that_repeats_the_question_abstains(doc: Path) -> None:
    contract = evidence(doc, CONTRACT)
    given = reading(span(contract, "the U.S. Department of Defense"))
    verdict = run("What did OpenAI sign with the U.S. Department of Defense?", given)
    assert_abstained(verdict, "proposal only repeats the question")
    assert verdict.signals is not None
    assert verdict.signals.candidate == "the U.S. Department of Defense"


def test_an_llm_phrase_that_repeats_the_question_gives_way_to_the_readers_span(
    doc: Path,
) -> None:
    contract = evidence(doc, CONTRACT)
    said = phrase(contract, "the U.S. Department of Defense")
    question = "What did OpenAI sign with the U.S. Department of Defense?"
    given = reading(span(contract, "$200 million contract"), reply=said.text, aligned=said)
    assert run(question, given, 0.0).answer == "$200 million contract [1]"
    alone = reading(reply=said.text, aligned=said)
    assert_abstained(run(question, alone), "nothing in the retrieved text answers it")


def test_a_follow_up_is_not_answered_with_an_answer_already_shown(doc: Path) -> None:
    campus, contract = evidence(doc, CAMPUS), evidence(doc, CONTRACT)
    given = reading(
        span(contract, "$200 million"), reply="Redmond", aligned=phrase(campus, "Redmond")
    )
    question = "What did they sign there?"
    assert run(question, given, 0.0).answer == "Redmond [1]"
    shown = verify_reading(question, given, "combined", 0.0, ["Redmond, Washington"])
    assert shown.answer == "$200 million [1]"
    only = reading(span(campus, "Redmond"))
    verdict = verify_reading(question, only, "combined", 0.0, ["Redmond"])
    assert_abstained(verdict, "proposal only repeats the question")


def test_a_number_inside_a_question_number_is_not_a_repeat(doc: Path) -> None:
    countries, at = evidence(doc, COUNTRIES), COUNTRIES.index(" 20 ") + 1
    given = reading(Candidate(Found(0, at, at + 2, "20", 8.0, -4.0), countries, at, at + 2))
    assert run("How many countries joined the program in 2020?", given).answer == "20 [1]"


def test_an_answer_from_a_changed_file_abstains(doc: Path) -> None:
    given = reading(span(evidence(doc, CAMPUS), "Redmond"))
    doc.write_text(DOC.replace("Redmond", "Seattle"), encoding="utf-8")
    verdict = run("Where is the main campus?", given)
    assert_abstained(verdict, "the cited file changed since indexing")
    assert verdict.signals is not None
    doc.write_text("New first line.\n" + DOC, encoding="utf-8")
    assert_abstained(run("Where is the main campus?", given), "the cited file changed")


def test_a_below_threshold_confidence_abstains(doc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(abstention, "model_for", lambda mode, fit=None: Fixed(0.7))
    given = reading(span(evidence(doc, CAMPUS), "Redmond"))
    accepted = run("Where is the main campus?", given, 0.7)
    assert accepted.answer == "Redmond [1]"
    assert accepted.signals is not None and accepted.signals.confidence == 0.7
    assert_abstained(run("Where is the main campus?", given, 0.71), "confidence 0.70 below 0.71")


def test_the_gate_uses_the_unrounded_confidence(doc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(abstention, "model_for", lambda mode, fit=None: Fixed(0.49996))
    given = reading(span(evidence(doc, CAMPUS), "Redmond"))
    assert_abstained(run("Where is the main campus?", given, 0.5), "confidence")


def test_confidence_is_the_abstention_model_of_the_mode(
    doc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = Logistic(
        weights={"reader_margin": 0.5, "from_llm": 1.0, "llm_logprob": 2.0},
        bias=-6.0,
        threshold=0.5,
        missing={"llm_logprob": -4.0},
    )
    modes: list[str] = []
    monkeypatch.setattr(abstention, "model_for", lambda mode, fit=None: modes.append(mode) or model)
    campus = evidence(doc, CAMPUS)
    given = reading(span(campus, "Redmond"), reply="Redmond", aligned=phrase(campus, "Redmond"))
    verdict = verify_reading("Where is the main campus?", given, "llm", 0.0)
    assert modes == ["llm"]
    assert verdict.signals is not None
    z = -6.0 + 0.5 * 12.0 + 1.0 + 2.0 * -0.2
    assert verdict.signals.confidence == round(1 / (1 + math.exp(-z)), 4)


def test_a_missing_log_probability_takes_the_models_value_for_it() -> None:
    model = Logistic(
        weights={"llm_logprob": 1.0}, bias=0.0, threshold=0.5, missing={"llm_logprob": -3.0}
    )
    unknown = model.probability(Signals())
    assert unknown == model.probability(Signals(llm_logprob=-3.0))
    assert unknown < model.probability(Signals(llm_logprob=-0.1))


def test_a_model_weighing_a_signal_that_can_be_missing_must_say_its_value() -> None:
    with pytest.raises(ValueError, match="llm_logprob"):
        Logistic(weights={"llm_logprob": 0.3}, bias=0.0, threshold=0.5)


CHECKED = Logistic(
    weights={"from_llm": 1.0, "supported": 4.0},
    bias=-3.0,
    threshold=0.5,
    missing={"supported": 0.0},
)


@pytest.mark.parametrize(
    ("from_llm", "threshold", "undecided"),
    [
        (True, 0.5, True),  # z from -2 (a certain No) to 2 (a certain Yes)
        (True, 0.05, False),  # answered even if the check says No
        (True, 0.95, False),  # declined even if the check says Yes
        (False, 0.5, True),  # z from -3 to 1
        (False, 0.8, False),
    ],
)
def test_the_support_check_is_asked_only_when_it_could_change_the_decision(
    from_llm: bool, threshold: float, undecided: bool
) -> None:
    assert CHECKED.undecided(Signals(from_llm=from_llm), threshold) is undecided


def test_a_model_without_the_support_signal_never_asks_for_it() -> None:
    model = Logistic(weights={"from_llm": 1.0}, bias=0.0, threshold=0.5)
    assert model.undecided(Signals(from_llm=True), 0.5) is False


class Checking:
    """A support check that answers with a fixed probability and records what it was asked."""

    def __init__(self, probability: float | None) -> None:
        self.probability = probability
        self.asked: list[tuple[str, str, str]] = []

    def __call__(self, question: str, sentence: Evidence, answer: str) -> float | None:
        self.asked.append((question, sentence.text, answer))
        return self.probability


@pytest.mark.parametrize(("supported", "answered"), [(0.95, True), (0.05, False)])
def test_the_support_check_decides_an_answer_in_doubt(
    doc: Path, monkeypatch: pytest.MonkeyPatch, supported: float, answered: bool
) -> None:
    monkeypatch.setattr(abstention, "model_for", lambda mode, fit=None: CHECKED)
    campus = evidence(doc, CAMPUS)
    given = reading(span(campus, "Redmond"), reply="Redmond", aligned=phrase(campus, "Redmond"))
    check = Checking(supported)
    verdict = verify_reading("Where is the main campus?", given, "combined", 0.5, (), check)
    assert check.asked == [("Where is the main campus?", CAMPUS, "Redmond")]
    assert verdict.signals is not None and verdict.signals.supported == supported
    assert verdict.abstained is not answered
    if answered:
        assert verdict.answer == "Redmond [1]"
    else:
        assert_abstained(verdict, "confidence 0.14 below 0.50")


def test_the_support_check_is_not_asked_of_a_span_a_rule_declines(
    doc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(abstention, "model_for", lambda mode, fit=None: CHECKED)
    campus = evidence(doc, CAMPUS)
    given = reading(span(campus, "campus"))
    check = Checking(0.99)
    verdict = verify_reading("Where is the main campus?", given, "combined", 0.5, (), check)
    assert_abstained(verdict, "proposal only repeats the question")
    assert check.asked == []


def banded(reader_margin_weight: float) -> Logistic:
    """CHECKED with a model without the check that weighs only the reader's margin."""
    alone = Logistic(weights={"reader_margin": reader_margin_weight}, bias=0.0, threshold=0.5)
    band = SureBand(model=alone, answer_from=0.9, abstain_below=0.1)
    return CHECKED.model_copy(update={"before_check": band})


@pytest.mark.parametrize(
    ("weight", "asked", "answered"),
    [(1.0, False, True), (-1.0, False, False), (0.0, True, True)],
    ids=["sure to answer", "sure to abstain", "in the band"],
)
def test_the_check_is_asked_only_where_the_model_without_it_is_not_sure(
    doc: Path, monkeypatch: pytest.MonkeyPatch, weight: float, asked: bool, answered: bool
) -> None:
    monkeypatch.setattr(abstention, "model_for", lambda mode, fit=None: banded(weight))
    campus = evidence(doc, CAMPUS)
    given = reading(span(campus, "Redmond"), reply="Redmond", aligned=phrase(campus, "Redmond"))
    check = Checking(0.95)
    verdict = verify_reading("Where is the main campus?", given, "combined", 0.5, (), check)
    assert bool(check.asked) is asked
    assert verdict.abstained is not answered
    assert verdict.signals is not None
    assert (verdict.signals.supported is not None) is asked
    if not answered:
        assert_abstained(verdict, "confidence 0.00 below 0.50")


def test_the_band_without_the_check_holds_only_at_its_threshold(
    doc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A threshold of one's own (QA_MIN_CONFIDENCE) was not what the band was fitted for."""
    monkeypatch.setattr(abstention, "model_for", lambda mode, fit=None: banded(1.0))
    campus = evidence(doc, CAMPUS)
    given = reading(span(campus, "Redmond"), reply="Redmond", aligned=phrase(campus, "Redmond"))
    check = Checking(0.95)
    verify_reading("Where is the main campus?", given, "combined", 0.4, (), check)
    assert len(check.asked) == 1


def test_the_band_without_the_check_must_hold_the_threshold() -> None:
    alone = Logistic(weights={}, bias=0.0, threshold=0.5)
    with pytest.raises(ValueError, match="must hold the threshold"):
        CHECKED.model_validate(
            CHECKED.model_dump()
            | {"before_check": {"model": alone, "answer_from": 0.4, "abstain_below": 0.1}}
        )


def test_a_check_without_probabilities_takes_the_models_value_for_it(
    doc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(abstention, "model_for", lambda mode, fit=None: CHECKED)
    campus = evidence(doc, CAMPUS)
    given = reading(span(campus, "Redmond"), reply="Redmond", aligned=phrase(campus, "Redmond"))
    verdict = verify_reading(
        "Where is the main campus?", given, "combined", 0.5, (), Checking(None)
    )
    assert_abstained(verdict, "confidence 0.12 below 0.50")


def test_every_mode_has_a_model_over_signal_fields() -> None:
    models = abstention.load().models
    assert set(models) == {"combined", "extractive", "llm"}
    for mode, model in models.items():
        assert set(model.weights) <= set(Signals.model_fields) - {"confidence", "candidate"}, mode
        assert 0.0 < model.threshold < 1.0, mode
        assert mode in abstention.load().fitted, mode


def test_a_question_without_words_abstains(doc: Path) -> None:
    verdict = run("?!", reading(span(evidence(doc, CAMPUS), "Redmond")))
    assert_abstained(verdict, "the question has no words")
    assert verdict.signals is None


def test_nothing_to_answer_abstains() -> None:
    verdict = run("Where is the main campus?", reading(reply="NOT FOUND"))
    assert_abstained(verdict, "nothing in the retrieved text answers it")
    assert verdict.signals is not None and verdict.signals.declined


@pytest.mark.parametrize("text", ["the", "$"])
def test_a_span_without_words_abstains(doc: Path, text: str) -> None:
    given = reading(span(evidence(doc, CONTRACT), text))
    assert_abstained(run("How much is the contract worth?", given), "proposal has no words")


def test_an_overlong_answer_abstains_and_one_of_max_words_does_not(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    for count, abstained in [(MAX_ANSWER_WORDS + 5, True), (MAX_ANSWER_WORDS, False)]:
        sentence = " ".join(f"word{i}" for i in range(count)) + "."
        path.write_text(sentence, encoding="utf-8")
        verdict = run("What is written?", reading(span(evidence(path, sentence), sentence)))
        assert verdict.abstained is abstained
        assert verdict.answer == ABSTAIN if abstained else sentence[:-1] + " [1]"


def test_a_quote_that_lacks_the_answers_facts_abstains(
    doc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stale_cite(cited: Evidence, answer: tuple[int, int] | None = None) -> Citation:
        return Citation(
            source="doc.txt",
            start=cited.start,
            end=cited.end,
            line_start=cited.line_start,
            line_end=cited.line_end,
            quote="Microsoft’s main campus sits in Seattle, Washington.",
        )

    monkeypatch.setattr(verifier, "cite", stale_cite)
    verdict = run("Where is the main campus?", reading(span(evidence(doc, CAMPUS), "Redmond")))
    assert_abstained(verdict, "answer holds facts the quote does not")


def test_an_abbreviation_keeps_its_final_period(tmp_path: Path) -> None:
    path = tmp_path / "dc.txt"
    sentence = "The teams work in Washington, D.C. every day."
    path.write_text(sentence, encoding="utf-8")
    dc = evidence(path, sentence)
    given = reading(reply="Washington, D.C.", aligned=phrase(dc, "Washington, D.C"))
    assert run("Where do the teams work?", given).answer == "Washington, D.C. [1]"


def test_a_sentence_final_period_is_dropped(doc: Path) -> None:
    given = reading(span(evidence(doc, CAMPUS), "Redmond, Washington."))
    assert run("Where is the main campus?", given).answer == "Redmond, Washington [1]"


# --- ungrounded ------------------------------------------------------------------


def test_ungrounded_lists_missing_numbers_and_names() -> None:
    quotes = ["OpenAI got $10 billion from Microsoft."]
    assert ungrounded("Microsoft paid $10 billion to OpenAI in 2019", quotes) == ["2019"]
    assert ungrounded("Satya Nadella paid 10", quotes) == ["Satya", "Nadella"]


def test_ungrounded_empty_when_all_facts_quoted() -> None:
    quotes = ["The deal was worth 1,000 dollars.", "It was signed by OpenAI’s board."]
    assert ungrounded("1,000 dollars, signed by OpenAI's board.", quotes) == []
    assert ungrounded("worth a lot", quotes) == []


def test_a_yes_or_no_names_nothing_but_a_phrase_starting_so_can() -> None:
    quotes = ["The contract forbids weapons development."]
    assert ungrounded("No [1]", quotes) == ungrounded("Yes", quotes) == []
    assert ungrounded("Yes, Palantir [1]", quotes) == ["Yes", "Palantir"]


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


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        (21, 38, "`typer.progressbar()`"),  # "typer.progressbar" inside the code
        (1, 17, "`int` and `float`"),  # from inside one code span into another
        (43, 47, "each"),  # prose is left as it is
    ],
)
def test_a_span_reaching_into_inline_code_takes_it_whole(start: int, end: int, shown: str) -> None:
    text = "`int` and `float` go `typer.progressbar()` each"
    assert text[slice(*verifier.whole_code(text, start, end))] == shown


def test_a_span_from_a_code_block_leaves_out_its_language_label() -> None:
    text = "Add it:\n```bash\npoetry add --source foo private-package\n```"
    start = text.index("bash")
    end = text.index("\n```", start)
    assert text[slice(*verifier.whole_code(text, start, end))] == (
        "poetry add --source foo private-package"
    )
    one_line = text.index("poetry")
    assert verifier.whole_code(text, one_line, end) == (one_line, end)


def test_marks_inside_a_name_are_not_a_repeat() -> None:
    assert not verifier.repeats("create-user", "My function is called create_user. Its name?")
    assert not verifier.repeats("--user-name", "What option does user_name get?")
    assert verifier.repeats("The Typer app", "what is a typer app?")
