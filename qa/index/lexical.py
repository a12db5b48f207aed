"""Lexical search: a BM25 index over the chunks, saved beside the chunk list.

Built when ``qa index`` changes the chunk list and memory-mapped by every later
process, so a question costs the same whether the corpus is 1 MB or 50 MB
instead of re-tokenising the whole corpus first. Its terms are
``terms.term_list`` (stemmed, no stopwords), the same terms the verifier counts,
so the index also gives each term's document frequency.
"""

from __future__ import annotations

import json
import os
import shutil
from array import array
from collections.abc import Iterable
from pathlib import Path

import bm25s
import numpy as np

from qa.models import Chunk
from qa.terms import term_list

IDS_FILE = "ids.json"


class LexicalIndex:
    """BM25 over chunk texts, answering with chunk ids."""

    def __init__(self, bm25: bm25s.BM25 | None, ids: list[str]) -> None:
        self.bm25 = bm25
        self.ids = ids

    @classmethod
    def build(cls, chunks: Iterable[tuple[str, Chunk]]) -> LexicalIndex:
        """Index (chunk id, chunk) pairs, read once. Each chunk's terms are kept as an
        array of term numbers (4 bytes a term, where a list of strings costs 8 and
        bm25s would make a second copy as numbers): at 50 MB of documents the chunks
        hold 9 million terms. Terms are numbered in order of first use."""
        ids: list[str] = []
        numbered: list[array[int]] = []
        vocabulary: dict[str, int] = {}
        for chunk_id, chunk in chunks:
            ids.append(chunk_id)
            terms = term_list(chunk.searchable)
            numbered.append(array("i", [vocabulary.setdefault(t, len(vocabulary)) for t in terms]))
        if not ids:
            return cls(None, [])
        bm25 = bm25s.BM25()
        bm25.index((numbered, vocabulary), show_progress=False)
        return cls(bm25, ids)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """A saved index, memory-mapped; OSError or ValueError when it is unreadable."""
        ids = json.loads((folder / IDS_FILE).read_text(encoding="utf-8"))
        if not ids:
            return cls(None, [])
        bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        if int(bm25.scores["num_docs"]) != len(ids):
            raise ValueError(f"{folder} holds {bm25.scores['num_docs']} documents for {len(ids)}")
        return cls(bm25, ids)

    def save(self, folder: Path) -> None:
        """Write to a temporary folder, then move it into place in one rename."""
        tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.bm25 is not None:
            self.bm25.save(str(tmp), show_progress=False)
        (tmp / IDS_FILE).write_text(json.dumps(self.ids), encoding="utf-8")
        try:
            os.rename(tmp, folder)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not folder.is_dir():
                raise

    @property
    def size(self) -> int:
        return len(self.ids)

    def search(self, question: str, k: int) -> list[str]:
        """Ids of the k chunks with the best positive BM25 score, best first."""
        if self.bm25 is None:
            return []
        known = [t for t in term_list(question) if t in self.bm25.vocab_dict]
        if not known:
            return []
        scores = self.bm25.get_scores(known)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [self.ids[int(i)] for i in top if scores[i] > 0]

    def document_frequency(self, term: str) -> int:
        """How many chunks hold the term."""
        if self.bm25 is None or term not in self.bm25.vocab_dict:
            return 0
        indptr = self.bm25.scores["indptr"]
        position = self.bm25.vocab_dict[term]
        if position + 1 >= len(indptr):
            return 0
        return int(indptr[position + 1] - indptr[position])
