"""Typed values that cross module boundaries."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

_MARKER = re.compile(r"\s*\[\d+\]")


class Place(BaseModel):
    """Where a stretch of a file sits: character offsets and 1-based lines."""

    source: str
    start: int
    end: int
    line_start: int
    line_end: int


class Span(Place):
    """A stretch of one file's text, with where it sits."""

    text: str


class Chunk(Span):
    """A retrieval unit stored in the index. ``context`` is the Markdown heading trail
    above it ("Setup > Linux"): embedded and searched with the text, never quoted."""

    doc_hash: str
    index: int
    context: str = ""

    @property
    def searchable(self) -> str:
        """What the embedder and BM25 see: the headings, then the text."""
        return f"{self.context}\n{self.text}" if self.context else self.text


class Evidence(Span):
    """A sentence the retriever offers as support, with its relevance signals."""

    similarity: float = 0.0
    coverage: float = 0.0
    missing: float = 0.0
    score: float = 0.0


class Passage(BaseModel):
    """One retrieved chunk as the reader sees it: its screened sentences, in file order,
    joined by single spaces, so a span the reader finds maps back to its sentence."""

    sentences: list[Evidence]

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    def sentence_at(self, start: int, end: int) -> tuple[Evidence, int] | None:
        """The sentence holding text[start:end] whole, and where that sentence starts in
        text; None when the span runs across sentences."""
        at = 0
        for sentence in self.sentences:
            if at <= start and end <= at + len(sentence.text):
                return sentence, at
            at += len(sentence.text) + 1
        return None


class Citation(Place):
    """Where an answer comes from; ``quote == file_text[start:end]`` is checked."""

    quote: str
    page: int | None = None  # PDFs: the page the quote starts on
    # The answer's characters in the quote, ``quote[answer_start:answer_end]``, so a reader
    # or a program can mark it; None for a yes/no verdict, which is the whole sentence.
    answer_start: int | None = None
    answer_end: int | None = None


class Signals(BaseModel):
    """What the verifier weighed before answering or abstaining."""

    candidate: str = ""
    similarity: float = 0.0
    coverage: float = 0.0
    missing: float = 0.0
    type_mismatch: bool = False
    llm_asked: bool = False
    declined: bool = False  # the LLM said NOT FOUND (or was not asked)
    aligned: float = 0.0  # the share of the LLM's phrase found in a sentence
    from_llm: bool = False  # the answer is the LLM's aligned phrase
    yes_no: bool = False  # the answer is the LLM's yes or no
    agree: bool = False  # the answer and the reader's best span name the same thing
    llm_logprob: float | None = None  # None: the LLM gave no log-probabilities
    llm_not_found: float | None = None  # the LLM's probability of starting NOT FOUND
    supported: float | None = (
        None  # the support check's "Yes" (None: not asked, or no alternatives)
    )
    reader_score: float = 0.0
    reader_margin: float = 0.0
    confidence: float = 0.0


class Timings(BaseModel):
    """Seconds spent in each step of answering one question."""

    index_s: float = 0.0
    rewrite_s: float = 0.0  # rewriting a follow-up into a question that stands alone
    retrieve_s: float = 0.0
    read_s: float = 0.0
    extract_s: float = 0.0  # the extractive reader's share of read_s
    verify_s: float = 0.0
    total_s: float = 0.0


class Answer(BaseModel):
    """What ``ask`` returns: text with [n] markers, or an honest abstention."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    timings: Timings = Field(default_factory=Timings)
    reason: str = ""
    signals: Signals | None = None
    standalone: str = ""  # the question as searched, when qa rewrote a follow-up


def answer_text(answer: str) -> str:
    """The answer without its [n] citation markers."""
    return _MARKER.sub("", answer).strip()


class Turn(BaseModel):
    """One earlier exchange of a conversation: what the user asked, the question it
    stood for, and the answer shown (without markers; empty when qa abstained)."""

    question: str
    standalone: str = ""
    answer: str = ""

    @property
    def searched(self) -> str:
        return self.standalone or self.question

    @classmethod
    def after(cls, answer: Answer) -> Turn:
        """The turn an answer makes."""
        shown = "" if answer.abstained else answer_text(answer.answer)
        return cls(question=answer.question, standalone=answer.standalone, answer=shown)


class IndexReport(BaseModel):
    """What one indexing run did."""

    files: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[str] = Field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        return (
            f"Indexed {self.files} files: {self.added} added, {self.updated} updated, "
            f"{self.removed} removed, {self.unchanged} unchanged, {len(self.skipped)} skipped; "
            f"{self.chunks} chunks in {self.seconds:.1f}s"
        )


class IndexProgress(BaseModel):
    """How far an index run is: files read of those to read, chunks embedded, bytes."""

    files_done: int = 0
    files_total: int = 0
    chunks_done: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    seconds: float = 0.0

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes_done / 1e6 / self.seconds if self.seconds > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        """At the rate so far; None until a byte is done."""
        if not self.bytes_done or self.seconds <= 0:
            return None
        return (self.bytes_total - self.bytes_done) * self.seconds / self.bytes_done


class StoreInfo(BaseModel):
    """What a store holds for one corpus, for ``qa info``."""

    corpus: list[str]
    store: str
    vectors_at: str
    indexed: bool
    up_to_date: bool
    files: int = 0
    chunks: int = 0
    vectors: int = 0
    embedding_model: str = ""
    generator: str = ""
    reader: str = ""
    abstention: str = ""  # whose fit weighs the model's signals
    cpu: str = ""
    versions: dict[str, str] = Field(default_factory=dict)
