"""Hybrid retrieval over a real Chroma store with the real embedding model."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.retriever import Retriever
from qa.terms import content_terms
from tests.stores import make_store

ZOO = (
    "The city zoo opened in 1921. Its oldest resident is a tortoise named Harriet.\n"
    "The aquarium next door holds sharks and rays. Entry to the aquarium is free on Sundays.\n"
)
TRAINS = "The night train leaves at ten. It reaches the coast by dawn.\n"


@pytest.fixture
def retriever(workdir: Path) -> Retriever:
    docs = workdir / "docs"
    docs.mkdir()
    (docs / "zoo.txt").write_text(ZOO, encoding="utf-8")
    (docs / "trains.txt").write_text(TRAINS, encoding="utf-8")
    store = make_store(workdir, docs, chunk_chars=100)
    store.update()
    return Retriever(store, top_k=4, sentences=3)


def test_evidence_puts_the_answering_sentence_first(retriever: Retriever) -> None:
    evidence = retriever.evidence("What is the name of the zoo's tortoise?")
    assert evidence[0].text == "Its oldest resident is a tortoise named Harriet."
    assert len(evidence) == 3
    assert [e.score for e in evidence] == sorted((e.score for e in evidence), reverse=True)
    text = Path(evidence[0].source).read_text(encoding="utf-8")
    assert text[evidence[0].start : evidence[0].end] == evidence[0].text
    assert evidence[0].line_start == evidence[0].line_end == 1


def test_lexical_match_reaches_rare_words(retriever: Retriever) -> None:
    evidence = retriever.evidence("When is aquarium entry free?")
    assert evidence[0].text == "Entry to the aquarium is free on Sundays."
    assert evidence[0].line_start == 2


def test_missing_weights_absent_question_terms_by_rarity(retriever: Retriever) -> None:
    terms = content_terms("Which tortoise won the marathon?")
    assert 0.0 < retriever.missing(terms, "a tortoise named Harriet") < 1.0
    assert retriever.missing(terms, "the tortoise won the marathon") == 0.0
    assert retriever.missing(terms, "nothing relevant here") == 1.0
    assert retriever.missing(set(), "anything") == 0.0
