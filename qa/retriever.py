"""Hybrid retrieval: dense (Chroma) and lexical (BM25) chunk search, fused by
reciprocal rank, then the best sentences of those chunks as evidence."""

from __future__ import annotations

import math
from collections import Counter
from functools import cached_property

import bm25s
import numpy as np
import Stemmer

from qa.chunking import sentence_spans
from qa.embeddings import MiniLMEmbeddings
from qa.models import Chunk, Evidence
from qa.store import Store
from qa.terms import content_terms, coverage

RRF_K = 60
_STEMMER = Stemmer.Stemmer("english")


class Retriever:
    """Finds the sentences of a corpus that best support an answer to a question."""

    def __init__(self, store: Store, top_k: int = 6, sentences: int = 4) -> None:
        self.store = store
        self.top_k = top_k
        self.sentences = sentences
        self.embeddings = MiniLMEmbeddings()

    @cached_property
    def _chunks(self) -> list[Chunk]:
        return self.store.chunks()

    @cached_property
    def _document_frequency(self) -> Counter[str]:
        return Counter(term for c in self._chunks for term in content_terms(c.text))

    def missing(self, terms: set[str], text: str) -> float:
        """IDF-weighted share of the question's terms that the text lacks."""
        if not terms:
            return 0.0
        total = len(self._chunks) + 1
        idf = {t: math.log(total / (self._document_frequency[t] + 1)) + 1 for t in terms}
        present = content_terms(text)
        return sum(w for t, w in idf.items() if t not in present) / sum(idf.values())

    @cached_property
    def _bm25(self) -> bm25s.BM25:
        index = bm25s.BM25()
        index.index(
            bm25s.tokenize([c.text for c in self._chunks], stemmer=_STEMMER, show_progress=False),
            show_progress=False,
        )
        return index

    def chunks(self, question: str, query_vector: list[float]) -> list[Chunk]:
        """The top chunks by reciprocal-rank fusion of dense and BM25 rankings."""
        if not self._chunks:
            return []
        depth = min(len(self._chunks), self.top_k * 2)
        by_key = {(c.source, c.start): c for c in self._chunks}
        scores: dict[tuple[str, int], float] = {}
        dense = self.store.vectors().similarity_search_by_vector(query_vector, k=depth)
        for rank, doc in enumerate(dense):
            key = (doc.metadata["source"], int(doc.metadata["start"]))
            if key in by_key:
                scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
        tokens = bm25s.tokenize([question], stemmer=_STEMMER, show_progress=False)
        if tokens.vocab:
            ids, values = self._bm25.retrieve(tokens, k=depth, show_progress=False)
            for rank, (i, value) in enumerate(zip(ids[0], values[0], strict=True)):
                if value > 0:
                    chunk = self._chunks[int(i)]
                    key = (chunk.source, chunk.start)
                    scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
        ranked = sorted(scores, key=lambda k: scores[k], reverse=True)[: self.top_k]
        return [by_key[k] for k in ranked]

    def evidence(self, question: str) -> list[Evidence]:
        """The best few sentences from the top chunks, most relevant first."""
        query_vector = self.embeddings.embed_query(question)
        terms = content_terms(question)
        seen: set[tuple[str, int]] = set()
        candidates: list[Evidence] = []
        for chunk in self.chunks(question, query_vector):
            chunk_coverage = coverage(terms, chunk.text)
            chunk_missing = self.missing(terms, chunk.text)
            for span in sentence_spans(chunk):
                if (span.source, span.start) in seen:
                    continue
                seen.add((span.source, span.start))
                candidates.append(
                    Evidence(**span.model_dump(), coverage=chunk_coverage, missing=chunk_missing)
                )
        if not candidates:
            return []
        vectors = np.array(self.embeddings.embed_documents([c.text for c in candidates]))
        similarities = vectors @ np.array(query_vector)
        for candidate, similarity in zip(candidates, similarities, strict=True):
            candidate.similarity = float(similarity)
            candidate.score = float(similarity) + 0.5 * coverage(terms, candidate.text)
        candidates.sort(key=lambda c: c.score, reverse=True)
        return candidates[: self.sentences]
