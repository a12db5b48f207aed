"""The reader: fills the prompt template with evidence and asks the LLM for a
short answer, twice: once freely, once allowed only to copy a span of the
evidence (a GBNF grammar). It only proposes; the verifier decides."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.llms import BaseLLM
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from langchain_core.prompts import PromptTemplate

from qa.errors import ModelError
from qa.models import Evidence

STOP = ["\n", "Question:", "Text:"]
_TRAILING = ".,;:!?\"'”’)]"


@dataclass(frozen=True)
class Proposal:
    """What the model offered, with mean token log-probabilities (0.0 when unknown)."""

    free: str
    free_logprob: float = 0.0
    span: str = ""
    span_logprob: float = 0.0


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def span_grammar(texts: list[str]) -> str:
    """A GBNF grammar whose sentences are exactly the word spans of the texts.

    Rule ``wN`` is "word N, optionally followed by the rest of a span starting
    at word N+1", so any start and any end word is allowed, in O(words) rules.
    """
    rules: list[str] = []
    starts: list[str] = []
    for text in texts:
        words = text.split()
        base = len(starts)
        for i, word in enumerate(words):
            name = f"w{base + i}"
            starts.append(name)
            ending = word.rstrip(_TRAILING) or word
            alternatives = [_literal(ending)]
            if ending != word:
                alternatives.append(_literal(word))
            if i + 1 < len(words):
                alternatives.append(f"{_literal(word + ' ')} w{base + i + 1}")
            rules.append(f"{name} ::= " + " | ".join(alternatives))
    root = 'root ::= " " (' + " | ".join(starts) + ') "\\n"'
    return "\n".join([root, *rules])


class _LogprobRecorder(BaseCallbackHandler):
    """Collects the log-probabilities that stream along with each token."""

    def __init__(self) -> None:
        self.logprobs: list[float] = []

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        **kwargs: Any,
    ) -> None:
        if chunk is not None and chunk.generation_info:
            self.logprobs += chunk.generation_info.get("logprobs") or []


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


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

    def _complete(
        self,
        prompt: str,
        grammar: str | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> tuple[str, float]:
        """Text and mean token log-probability, streamed to on_token when given."""
        kwargs: dict[str, Any] = {"grammar": grammar} if grammar else {}
        if on_token is None:
            generation = self.llm.generate([prompt], stop=STOP, **kwargs).generations[0][0]
            logprobs = (generation.generation_info or {}).get("logprobs") or []
            return generation.text, _mean(logprobs)
        recorder = _LogprobRecorder()
        text = []
        for piece in self.llm.stream(prompt, {"callbacks": [recorder]}, stop=STOP, **kwargs):
            text.append(piece)
            on_token(piece)
        return "".join(text), _mean(recorder.logprobs)

    def read(
        self, question: str, evidence: list[Evidence], on_token: Callable[[str], None] | None = None
    ) -> Proposal:
        prompt = self.render(question, evidence)
        free, free_logprob = self._complete(prompt, on_token=on_token)
        grammar = span_grammar([re.sub(r"\s+", " ", e.text) for e in evidence])
        span, span_logprob = self._complete(prompt, grammar)
        return Proposal(free, free_logprob, span, span_logprob)
