"""Hybrid retrieval over a real Chroma store with the real embedding model."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.answer import retriever as retriever_module
from qa.answer.retriever import Retriever
from qa.index.indexing import update
from qa.models import Passage
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
    update(store)
    return Retriever(store, top_k=2)


@pytest.fixture
def ranked(retriever: Retriever, monkeypatch: pytest.MonkeyPatch) -> Retriever:
    """The same retriever, with the corpus too big to be read whole."""
    monkeypatch.setattr(retriever_module, "WHOLE_CORPUS_BYTES", 0)
    return retriever


def sentences(passages: list[Passage]) -> list[str]:
    return [s.text for p in passages for s in p.sentences]


def test_a_small_corpus_is_read_whole_in_document_order(retriever: Retriever) -> None:
    tortoise = retriever.passages("What is the name of the zoo's tortoise?")
    trains = retriever.passages("When does the night train leave?")
    assert sentences(tortoise) == sentences(trains)
    assert len(tortoise) > retriever.top_k
    by_file: dict[str, list[int]] = {}
    for sentence in (s for p in tortoise for s in p.sentences):
        by_file.setdefault(sentence.source, []).append(sentence.start)
    assert all(starts == sorted(starts) for starts in by_file.values())
    assert {Path(source).name for source in by_file} == {"zoo.txt", "trains.txt"}


def test_passages_put_the_answering_chunk_first(ranked: Retriever) -> None:
    question = "What is the name of the zoo's tortoise?"
    passages = ranked.passages(question)
    assert len(passages) == ranked.top_k
    assert "Its oldest resident is a tortoise named Harriet." in sentences(passages[:1])
    [found] = [s for s in passages[0].sentences if "Harriet" in s.text]
    text = Path(found.source).read_text(encoding="utf-8")
    assert text[found.start : found.end] == found.text
    assert found.line_start == found.line_end == 1
    assert found.coverage > 0


def test_score_ranks_the_answering_sentence_first(ranked: Retriever) -> None:
    question = "What is the name of the zoo's tortoise?"
    candidates = [s for p in ranked.passages(question) for s in p.sentences]
    ranked.score(question, candidates)
    best = max(candidates, key=lambda s: s.score)
    assert best.text == "Its oldest resident is a tortoise named Harriet."
    assert best.similarity > 0


def test_lexical_match_reaches_rare_words(ranked: Retriever) -> None:
    [first, *_] = ranked.passages("When is aquarium entry free?")
    found = [s for s in first.sentences if s.text == "Entry to the aquarium is free on Sundays."]
    assert [s.line_start for s in found] == [2]


def test_missing_weights_absent_question_terms_by_rarity(retriever: Retriever) -> None:
    terms = content_terms("Which tortoise won the marathon?")
    assert 0.0 < retriever.missing(terms, "a tortoise named Harriet") < 1.0
    assert retriever.missing(terms, "the tortoise won the marathon") == 0.0
    assert retriever.missing(terms, "nothing relevant here") == 1.0
    assert retriever.missing(set(), "anything") == 0.0
