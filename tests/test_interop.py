"""qa.as_retriever and qa.as_chain composed with other LangChain runnables."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnableParallel

import qa
from qa.answer import abstention
from tests import makefiles
from tests.fakes import RewritingLLM, ScriptedLLM

QUESTION = "How much is OpenAI's new Pentagon contract worth?"


def quoted(docs: list[Document]) -> str:
    return "\n".join(f"{d.metadata['source']}:{d.metadata['line_start']}" for d in docs)


def test_retriever_in_a_chain_locates_every_chunk(workdir: Path) -> None:
    retriever = qa.as_retriever(k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke(QUESTION)
    assert len(docs) == 3
    assert any("$200 million" in d.page_content for d in docs)
    for doc in docs:
        text = (workdir / doc.metadata["source"]).read_text(encoding="utf-8")
        assert text[doc.metadata["start"] : doc.metadata["end"]] == doc.page_content
    chain = retriever | RunnableLambda(quoted)
    assert chain.invoke(QUESTION) == quoted(docs)
    assert quoted(docs).startswith("seeds/openai-dod-microsoft.txt:")


def test_retriever_gives_pdf_pages(workdir: Path) -> None:
    docs = workdir / "docs"
    docs.mkdir()
    makefiles.pdf(docs / "report.pdf", [["Revenue grew by 12 percent."], ["Plant in Leipzig."]])
    [first] = qa.as_retriever(docs=docs, k=1).invoke("Where is the plant?")
    assert first.metadata == {
        "source": "docs/report.pdf",
        "start": 28,
        "end": 45,
        "line_start": 1,  # lines of the extracted text: a page break is not a newline
        "line_end": 1,
        "page": 2,
    }


def test_chain_composes_and_returns_the_checked_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted = ScriptedLLM(reply=" $200 million.")
    monkeypatch.setattr("qa.pipeline.LlamaCppLLM", lambda **_: scripted)
    chain = RunnableLambda(str.strip) | qa.as_chain()
    answer = chain.invoke(f"  {QUESTION}  ")
    assert isinstance(answer, qa.Answer)
    assert answer.answer == "$200 million [1]"
    both = RunnableParallel(answer=qa.as_chain(), sources=qa.as_retriever(k=2) | quoted)
    result = both.invoke(QUESTION)
    assert result["answer"].citations[0].quote in (
        Path("seeds") / "openai-dod-microsoft.txt"
    ).read_text(encoding="utf-8")
    assert result["sources"].count("\n") == 1


def test_the_support_check_is_asked_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the band where the model without the check is sure (sure of this answer),
    the check is asked through the chain."""
    scripted = ScriptedLLM(reply=" $200 million.")
    monkeypatch.setattr("qa.pipeline.LlamaCppLLM", lambda **_: scripted)
    monkeypatch.setattr(abstention.model_for("combined"), "before_check", None)
    assert qa.ask(QUESTION).answer == "$200 million [1]"
    checks = [p for p in scripted.prompts if "Proposed answer:" in p]
    assert len(checks) == 1 and checks[0].count("Proposed answer: $200 million<|im_end|>") == 1
    scripted.prompts.clear()
    monkeypatch.setenv("QA_CHECK_SUPPORT", "false")
    assert qa.ask(QUESTION).answer == "$200 million [1]"
    assert scripted.prompts and not any("Proposed answer:" in p for p in scripted.prompts)


def test_chain_takes_a_chat_history(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted = RewritingLLM(reply=" $200 million.", rewrite="How much is OpenAI's contract worth?")
    monkeypatch.setattr("qa.pipeline.LlamaCppLLM", lambda **_: scripted)
    history = [HumanMessage(QUESTION), AIMessage("$200 million [1]")]
    answer = qa.as_chain().invoke(
        {"question": "And how much is that worth?", "chat_history": history}
    )
    assert answer.standalone == "How much is OpenAI's contract worth?"
    assert answer.question == "And how much is that worth?"
    [rewrite] = [p for p in scripted.prompts if "Last question:" in p]
    assert f"User: {QUESTION}\nAssistant: $200 million\n" in rewrite


def test_a_conversation_carries_its_turns_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted = RewritingLLM(reply=" $200 million.", rewrite="How much is OpenAI's contract worth?")
    monkeypatch.setattr("qa.pipeline.LlamaCppLLM", lambda **_: scripted)
    chat = qa.conversation()
    assert chat.ask(QUESTION).standalone == ""
    assert chat.ask("And how much is that worth?").standalone == (
        "How much is OpenAI's contract worth?"
    )
    assert [t.question for t in chat.turns] == [QUESTION, "And how much is that worth?"]
    chat.clear()
    assert chat.ask("And how much is that worth?").standalone == ""


@pytest.mark.slow
def test_chain_with_the_real_model_batches() -> None:
    answers = qa.as_chain().batch([QUESTION, "Who won the 2022 football World Cup?"])
    assert answers[0].answer == "$200 million [1]"
    assert answers[1].abstained
