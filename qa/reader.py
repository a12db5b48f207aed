"""The reader: fills the prompt template with evidence and asks the LLM for a
short answer. It only proposes; the verifier decides what is said."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from langchain_core.language_models.llms import BaseLLM
from langchain_core.prompts import PromptTemplate

from qa.errors import ModelError
from qa.models import Evidence

STOP = ["\n", "Question:", "Text:"]


class Reader:
    """Proposes an answer phrase from the evidence."""

    def __init__(self, llm: BaseLLM, prompt_file: Path) -> None:
        try:
            self.prompt = PromptTemplate.from_file(prompt_file, encoding="utf-8")
        except OSError as exc:
            raise ModelError(f"cannot read prompt template {prompt_file}: {exc}") from exc
        self.llm = llm

    def render(self, question: str, evidence: list[Evidence]) -> str:
        context = " ".join(" ".join(e.text.split()) for e in evidence)
        return self.prompt.format(context=context, question=" ".join(question.split())).rstrip()

    def read(
        self, question: str, evidence: list[Evidence], on_token: Callable[[str], None] | None = None
    ) -> str:
        prompt = self.render(question, evidence)
        if on_token is None:
            return self.llm.invoke(prompt, stop=STOP)
        pieces = []
        for piece in self.llm.stream(prompt, stop=STOP):
            pieces.append(piece)
            on_token(piece)
        return "".join(pieces)
