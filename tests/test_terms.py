"""Tests for qa.terms: normalisation, content terms and coverage."""

from __future__ import annotations

import pytest

from qa.terms import (
    STOPWORDS,
    asks_yes_no,
    content_terms,
    coverage,
    fold,
    normalize_answer,
    stem,
    words,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Paris", "paris"),
        ("The Eiffel Tower", "eiffel tower"),
        ("an apple, a pear and the plum!", "apple pear and plum"),
        ("  lots   of\tspace\n here ", "lots of space here"),
        ("U.S. Department of Defense.", "us department of defense"),
        ("$200 million", "200 million"),
        ("Theater anthem", "theater anthem"),
        ("A", ""),
        ("", ""),
        ("OpenAI’s deal", "openais deal"),
        ("“Quoted”", "quoted"),
    ],
)
def test_normalize_answer_is_squad_style(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


def test_normalize_answer_makes_spellings_compare_equal() -> None:
    assert normalize_answer("The U.S.A.") == normalize_answer("usa")
    assert normalize_answer("OpenAI’s") == normalize_answer("OpenAI's")


def test_fold_lowercases_and_straightens_punctuation() -> None:
    assert fold("It’s “Big” – ‘Really’ — A‑B") == "it's \"big\" - 'really' - a-b"


def test_words_keep_inner_dots_and_apostrophes() -> None:
    assert words("The U.S. team's 3.5% rise, OpenAI’s!") == [
        "the",
        "u.s",
        "team's",
        "3.5",
        "rise",
        "openai's",
    ]


def test_stem_merges_word_forms() -> None:
    assert stem("teams") == stem("team")
    assert stem("corporate") == stem("corporation")
    assert stem("running") == stem("run")
    assert stem("contract") != stem("team")


def test_content_terms_drop_stopwords_and_single_letters() -> None:
    assert content_terms("What is the name of the teams at the corporation?") == {
        stem("team"),
        stem("corporation"),
    }
    assert content_terms("a b c I x") == set()
    assert content_terms("") == set()


def test_content_terms_stem_so_forms_match() -> None:
    assert content_terms("Teams") == content_terms("team")
    assert content_terms("corporate contracts") == content_terms("corporation contract")


def test_content_terms_are_case_insensitive() -> None:
    assert content_terms("MICROSOFT Azure") == content_terms("microsoft azure")


@pytest.mark.parametrize("word", ["the", "which", "called", "tell", "whats"])
def test_stopword_list_covers_question_words(word: str) -> None:
    assert word in STOPWORDS
    assert content_terms(word) == set()


def test_coverage_is_share_of_question_terms_found() -> None:
    terms = content_terms("Which teams signed the defense contract?")
    assert len(terms) == 4  # team, sign, defens, contract
    assert coverage(terms, "The team signed a deal.") == pytest.approx(0.5)
    assert coverage(terms, "Teams signed the defence contract.") == pytest.approx(0.75)
    assert coverage(terms, "Teams signing defense contracts") == pytest.approx(1.0)
    assert coverage(terms, "Nothing related here.") == 0.0


def test_coverage_of_empty_question_terms_is_zero() -> None:
    assert coverage(set(), "any text at all") == 0.0


@pytest.mark.parametrize(
    ("question", "yes_no"),
    [
        ("Is the bridge open to bicycles?", True),
        ("is the bridge open to bicycles", True),
        ("Is the bridge open to cars or to bicycles?", False),  # a choice
        ("If the river floods, will the bridge close?", True),  # a clause sets the scene
        ("In 1998, did the mayor open the library?", True),
        ("When the river floods, is the bridge open to cars or to bicycles?", False),
        ("With the bridge closed, how do people cross?", False),
        ("Who, if anyone, opened the library?", False),
        ("bridge closed after the flood, cyclists", False),
    ],
)
def test_asks_yes_no_reads_the_question_after_a_leading_clause(question: str, yes_no: bool) -> None:
    assert asks_yes_no(question) is yes_no
