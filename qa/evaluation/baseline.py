"""The LangChain RAG tutorial recipe on the same model and store, for comparison.

RecursiveCharacterTextSplitter(1000, 200), top-4 dense retrieval from Chroma,
the tutorial's "stuff" prompt (prompts/baseline.txt), the same LLM, and the
retrieved chunks as citations. It trusts the model: whatever it writes is the
answer, and it abstains only when it says it doesn't know.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.documents import Document
from langchain_core.language_models.llms import BaseLLM
from langchain_core.prompts import PromptTemplate
from langchain_text_splitters import RecursiveCharacterTextSplitter

from qa.corpus import documents
from qa.corpus.chunking import LineIndex
from qa.index.store import Store
from qa.models import Answer, Citation, Timings

if TYPE_CHECKING:
    from langchain_chroma import Chroma

TOP_K = 4
_DONT_KNOW = re.compile(r"\b(don'?t|do not|doesn'?t|cannot|can'?t) (know|say|find|answer)", re.I)


class Baseline:
    """Answers like the LangChain tutorial, from its own collection in the same store."""

    def __init__(self, store: Store, llm: BaseLLM, prompt_file: Path) -> None:
        self.store = store
        self.llm = llm
        self.prompt = PromptTemplate.from_file(prompt_file, encoding="utf-8")
        self.collection = store.collection + "-baseline"
        self._ready = False

    def _vectors(self) -> Chroma:
        return self.store.vectors.langchain(self.collection, self.store.embedder)

    def _fingerprint(self) -> str:
        files = sorted(f"{k}:{v.sha256}" for k, v in self.store.manifest().files.items())
        return hashlib.sha256("\n".join(files).encode()).hexdigest()

    def prepare(self) -> None:
        """(Re)build the baseline's collection when the corpus changed."""
        if self._ready:
            return
        marker = self.store.folder / "baseline.json"
        fingerprint = self._fingerprint()
        vectors = self._vectors()
        if not marker.exists() or json.loads(marker.read_text())["fingerprint"] != fingerprint:
            vectors.reset_collection()
            splitter = RecursiveCharacterTextSplitter(
                chunk_size=1000, chunk_overlap=200, add_start_index=True
            )
            for source in self.store.manifest().files:
                text = documents.read_text(Path(source))
                pieces = splitter.create_documents([text], [{"source": source}])
                if pieces:
                    vectors.add_documents(pieces)
            marker.write_text(json.dumps({"fingerprint": fingerprint}), encoding="utf-8")
        self._ready = True

    def ask(self, question: str) -> Answer:
        started = time.perf_counter()
        self.prepare()
        docs = self._vectors().similarity_search(question, k=TOP_K)
        retrieved = time.perf_counter()
        context = "\n\n".join(d.page_content for d in docs)
        text = self.llm.invoke(
            self.prompt.format(question=question, context=context), stop=["\n\n", "Question:"]
        ).strip()
        done = time.perf_counter()
        abstained = not text or bool(_DONT_KNOW.search(text))
        return Answer(
            question=question,
            answer=text or "I don't know.",
            abstained=abstained,
            citations=[] if abstained else [_citation(d) for d in docs],
            timings=Timings(
                retrieve_s=retrieved - started, read_s=done - retrieved, total_s=done - started
            ),
        )


def _citation(doc: Document) -> Citation:
    source = Path(doc.metadata["source"])
    start = int(doc.metadata["start_index"])
    end = start + len(doc.page_content)
    text = documents.read_text(source)
    lines = LineIndex(text)
    return Citation(
        source=documents.display_path(source),
        start=start,
        end=end,
        line_start=lines.line(start),
        line_end=lines.line(end - 1),
        quote=doc.page_content,
        page=documents.page(source, text, start),
    )
