"""Hybrid retrieval: dense (Chroma) and lexical (BM25) chunk search, fused by
reciprocal rank, then the best sentences of those chunks as evidence.

Nothing here reads the whole corpus: Chroma and the saved BM25 index answer by
chunk id, so a question costs about the same at 1 MB and at 50 MB.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from qa import typed
from qa.corpus.chunking import sentence_spans
from qa.guard import screen_chunk
from qa.index.lexical import LexicalIndex
from qa.index.store import Store
from qa.models import Chunk, Evidence, Passage
from qa.terms import content_terms, coverage

RRF_K = 60
WHOLE_CORPUS_BYTES = 6000  # about 1,400 tokens: read whole, every question shares its prompt


class Retriever:
    """Finds the sentences of a corpus that best support an answer to a question."""

    def __init__(self, store: Store, top_k: int) -> None:
        self.store = store
        self.top_k = top_k
        self.embeddings = store.embedder
        self._query: tuple[str, list[float]] | None = None

    @cached_property
    def _lexical(self) -> LexicalIndex:
        return self.store.lexical()

    @cached_property
    def _file_hashes(self) -> dict[str, str]:
        """The indexed version of each file: chunks of any other version are ignored."""
        return {source: entry.sha256 for source, entry in self.store.manifest().files.items()}

    def missing(self, terms: set[str], text: str) -> float:
        """IDF-weighted share of the question's terms that the text lacks."""
        if not terms:
            return 0.0
        total = self._lexical.size + 1
        idf = {t: math.log(total / (self._lexical.document_frequency(t) + 1)) + 1 for t in terms}
        present = content_terms(text)
        return sum(w for t, w in idf.items() if t not in present) / sum(idf.values())

    @cached_property
    def whole_corpus(self) -> list[Chunk] | None:
        """Every current chunk in document order when the corpus is small enough to be read
        whole (the seeds are 2 kB): the reader then sees the same evidence, in the same
        order, for every question, and the LLM reuses the prompt it read before."""
        files = self.store.manifest().files.values()
        if sum(entry.size for entry in files) > WHOLE_CORPUS_BYTES:
            return None
        return [c for c in self.store.chunks() if self._current(c)]

    @cached_property
    def casing(self) -> typed.Casing:
        """How the corpus writes its words, to give a question typed in any case theirs."""
        return typed.casing(c.text for c in self.store.chunks() if self._current(c))

    def _current(self, chunk: Chunk) -> bool:
        return self._file_hashes.get(chunk.source) == chunk.doc_hash

    def chunks(self, question: str, query_vector: list[float]) -> list[Chunk]:
        """Twice top_k chunks, best first by reciprocal-rank fusion of the dense and
        BM25 rankings (the evidence step uses the first top_k with usable sentences)."""
        if not self._file_hashes:
            return []
        depth = self.top_k * 2
        found: dict[tuple[str, int], Chunk] = {}
        scores: dict[tuple[str, int], float] = {}
        dense = self.store.search(query_vector, depth)
        lexical = self.store.fetch(self._lexical.search(question, depth))
        for ranking in (dense, lexical):
            for rank, chunk in enumerate(c for c in ranking if self._current(c)):
                key = (chunk.source, chunk.start)
                found[key] = chunk
                scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
        ranked = sorted(scores, key=lambda k: scores[k], reverse=True)[:depth]
        return [found[k] for k in ranked]

    def query_vector(self, question: str) -> list[float]:
        """The question's embedding, kept for the question last asked."""
        if self._query is None or self._query[0] != question:
            self._query = (question, self.embeddings.embed_query(question))
        return self._query[1]

    def passages(self, question: str) -> list[Passage]:
        """The top chunks, best first (a small corpus: all of them, in document order), as
        passages of their screened sentences (a chunk with a sentence that addresses the
        model instead of stating facts is left out: qa.guard), each
        sentence carrying its chunk's question-term coverage; ``score`` adds similarity."""
        terms = content_terms(question)
        seen: set[tuple[str, int]] = set()
        passages: list[Passage] = []
        whole = self.whole_corpus
        ranked = whole if whole is not None else self.chunks(question, self.query_vector(question))
        for chunk in ranked:
            if whole is None and len(passages) == self.top_k:
                break
            spans = screen_chunk(sentence_spans(chunk))
            spans = [s for s in spans if (s.source, s.start) not in seen]
            if not spans:
                continue
            seen.update((s.source, s.start) for s in spans)
            chunk_coverage = coverage(terms, chunk.text)
            chunk_missing = self.missing(terms, chunk.text)
            sentences = [
                Evidence(**span.model_dump(), coverage=chunk_coverage, missing=chunk_missing)
                for span in spans
            ]
            passages.append(Passage(sentences=sentences))
        return passages

    def score(self, question: str, sentences: list[Evidence]) -> None:
        """Set each sentence's cosine similarity to the question, and its score (similarity
        plus question-term coverage). Embedding costs, so only sentences in use get it."""
        if not sentences:
            return
        terms = content_terms(question)
        vectors = np.array(self.embeddings.embed_documents([s.text for s in sentences]))
        similarities = vectors @ np.array(self.query_vector(question))
        for sentence, similarity in zip(sentences, similarities, strict=True):
            sentence.similarity = float(similarity)
            sentence.score = float(similarity) + 0.5 * coverage(terms, sentence.text)
