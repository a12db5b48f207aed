"""The generator: the instruction-tuned LLM reads the evidence and answers in a phrase it
copies from it, or says NOT FOUND. It only proposes; alignment and the verifier decide
what is shown.

The prompt (``prompts/answer.txt``) is written in ChatML, the packaged model's own
template: system instructions, then the evidence, then the question, so the part that
stays the same from one question to the next comes first and llama.cpp reuses it.
A chat server is sent the same turns as messages (``qa.llm.remote``).
"""

from __future__ import annotations

import math
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
from qa.llm.completion import Alternatives
from qa.models import Evidence

STOP = ["<|im_end|>", "<|endoftext|>", "\n\n"]
_NOT_FOUND = re.compile(r"^\W*not\s+found\b", re.IGNORECASE)
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)
_LABEL = re.compile(r"^\s*(answer|a)\s*:\s*", re.IGNORECASE)
_MARK = "\x00"  # where a field goes, to cut the prompt before it


@dataclass(frozen=True)
class Generated:
    """What the model wrote, with the mean log-probability of its tokens and the
    probability it gave to starting with NOT FOUND (each None when the backend gives
    none)."""

    text: str
    logprob: float | None = None
    not_found: float | None = None

    @property
    def phrase(self) -> str:
        """The first line without a label, quotes or a final stop."""
        line = _LABEL.sub("", self.text.strip().split("\n", 1)[0].strip())
        previous = None
        while line != previous:
            previous = line
            line = line.strip(" \"'“”‘’`*").rstrip(".,;:")
        return line

    @property
    def declined(self) -> bool:
        """The model said the text does not answer the question (or said nothing)."""
        return not self.phrase or bool(_NOT_FOUND.match(self.phrase))

    @property
    def yes_no(self) -> str | None:
        """ "Yes" or "No" when the answer starts with one, else None."""
        found = _YES_NO.match(self.phrase)
        return found.group(1).capitalize() if found else None


class _LogprobRecorder(BaseCallbackHandler):
    """Collects the log-probabilities that stream along with each token."""

    def __init__(self) -> None:
        self.logprobs: list[float] = []
        self.alternatives: list[Alternatives] = []

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        **kwargs: Any,
    ) -> None:
        if chunk is not None and chunk.generation_info:
            self.logprobs += chunk.generation_info.get("logprobs") or []
            self.alternatives += chunk.generation_info.get("alternatives") or []


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def not_found_probability(alternatives: list[Alternatives]) -> float | None:
    """How likely the model found it to start with NOT FOUND: the first token's
    alternatives that begin it ("NOT", "Not", " not"; not "No", a yes/no answer).
    An answer the model nearly declined is weaker than one it never doubted."""
    if not alternatives or not alternatives[0]:
        return None
    starts = [
        logprob
        for token, logprob in alternatives[0].items()
        if len(token.strip()) >= 3 and "NOT FOUND".startswith(token.strip().upper())
    ]
    return min(1.0, sum(math.exp(logprob) for logprob in starts))


def context_text(evidence: list[Evidence]) -> str:
    """The evidence as the model reads it: sentences of one file run on, files apart."""
    parts: list[str] = []
    previous = ""
    for item in evidence:
        text = " ".join(item.text.split())
        if parts and item.source == previous:
            parts[-1] += " " + text
        else:
            parts.append(text)
        previous = item.source
    return "\n\n".join(parts)


def prompt_prefix(prompt: PromptTemplate, upto: str, **given: str) -> str:
    """The prompt up to the field ``upto``: what every request that fills the fields
    before it with ``given`` shares, and so what can be read ahead."""
    values = dict.fromkeys(prompt.input_variables, "") | given | {upto: _MARK}
    return prompt.format(**values).split(_MARK)[0].rstrip(" ")


def load_prompt(prompt_file: Path) -> PromptTemplate:
    """A prompt template from its file; an unreadable one is ModelError."""
    try:
        return PromptTemplate.from_file(prompt_file, encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"cannot read prompt template {prompt_file}: {exc}") from exc


class Generator:
    """Asks the LLM for an answer phrase from the evidence."""

    def __init__(self, llm: BaseLLM, prompt_file: Path) -> None:
        self.prompt = load_prompt(prompt_file)
        self.llm = llm

    def prefix(self, evidence: list[Evidence] | None) -> str:
        """The prompt up to the question: with the evidence every question shares (a
        corpus read whole), else up to the evidence."""
        if evidence is None:
            return prompt_prefix(self.prompt, "context")
        return prompt_prefix(self.prompt, "question", context=context_text(evidence))

    def render(self, question: str, evidence: list[Evidence]) -> str:
        return self.prompt.format(
            context=context_text(evidence), question=" ".join(question.split())
        )

    def answer(
        self, question: str, evidence: list[Evidence], on_token: Callable[[str], None] | None = None
    ) -> Generated:
        """The model's answer from the evidence, streamed to on_token when given."""
        prompt = self.render(question, evidence)
        if on_token is None:
            generation = self.llm.generate([prompt], stop=STOP).generations[0][0]
            info = generation.generation_info or {}
            return Generated(
                generation.text,
                _mean(info.get("logprobs") or []),
                not_found_probability(info.get("alternatives") or []),
            )
        recorder = _LogprobRecorder()
        text = []
        for piece in self.llm.stream(prompt, {"callbacks": [recorder]}, stop=STOP):
            text.append(piece)
            on_token(piece)
        return Generated(
            "".join(text), _mean(recorder.logprobs), not_found_probability(recorder.alternatives)
        )
