"""qa inside other LangChain code: the store as a ``BaseRetriever``, and the whole
pipeline (retrieve, read, verify) as a runnable from a question to an ``Answer``; the
runnable also takes ``{"question": ..., "chat_history": [...]}``, a history of
LangChain messages or ``Turn``s, and answers the question as a follow-up."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda

from qa.corpus import documents
from qa.errors import QuestionError
from qa.models import Answer, Chunk, Turn, answer_text
from qa.pipeline import Pipeline


class QARetriever(BaseRetriever):
    """The best chunks for a query (hybrid dense + BM25), indexing first when the
    documents changed. Each Document's metadata says where its text sits in its file:
    source, start, end, line_start, line_end, page for PDFs, and headings (the
    Markdown heading trail above the chunk) where there is one."""

    pipeline: Any  # a qa.pipeline.Pipeline (not a pydantic type)
    k: int

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        runner: Pipeline = self.pipeline
        runner.refresh()
        retriever = runner.retriever
        chunks = retriever.chunks(query, retriever.embeddings.embed_query(query))
        return [_document(chunk) for chunk in chunks[: self.k]]


def _document(chunk: Chunk) -> Document:
    path = Path(chunk.source)
    metadata: dict[str, Any] = {
        "source": documents.display_path(path),
        "start": chunk.start,
        "end": chunk.end,
        "line_start": chunk.line_start,
        "line_end": chunk.line_end,
    }
    is_pdf = path.suffix.lower() == ".pdf"
    page = documents.page(path, documents.read_text(path), chunk.start) if is_pdf else None
    if page is not None:
        metadata["page"] = page
    if chunk.context:
        metadata["headings"] = chunk.context
    return Document(page_content=chunk.text, metadata=metadata)


def retriever_for(pipeline: Pipeline, k: int | None = None) -> QARetriever:
    return QARetriever(pipeline=pipeline, k=k or pipeline.settings.top_k)


def chain_for(pipeline: Pipeline) -> Runnable[str | dict[str, Any], Answer]:
    """Question in, checked ``Answer`` out: the same path as ``qa.ask``."""

    def answer(asked: str | dict[str, Any]) -> Answer:
        if isinstance(asked, str):
            return pipeline.ask(asked)
        if not isinstance(asked.get("question"), str):
            raise QuestionError(
                'the chain takes a question, or {"question": ..., "chat_history": [...]}'
            )
        return pipeline.ask(asked["question"], history=turns(asked.get("chat_history") or []))

    return RunnableLambda(answer, name="qa")


def turns(history: Sequence[BaseMessage | Turn]) -> list[Turn]:
    """Earlier turns from a chat history: each human message opens a turn and the AI
    message after it is that turn's answer."""
    found: list[Turn] = []
    for item in history:
        if isinstance(item, Turn):
            found.append(item)
        elif isinstance(item, HumanMessage):
            found.append(Turn(question=item.text))
        elif isinstance(item, AIMessage) and found and not found[-1].answer:
            found[-1].answer = answer_text(item.text)
    return found
