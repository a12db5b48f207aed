"""The LLM reader: fills the prompt template with evidence and asks the LLM for a
short answer, twice: once freely, once allowed only to pick one of the
evidence's candidate phrases (a GBNF grammar). It only proposes; the verifier
decides."""

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
from qa.terms import STOPWORDS, asks_for_number, fold, mentions_number, stem, words

STOP = ["\n", "Question:", "Text:"]
MAX_SPAN_WORDS = 8
_TRAILING = ".,;:!?\"'”’)]"
_LEADING = "\"'“‘(["
_LEADERS = frozenset(
    "the a an in on at by from during since until about around nearly almost over".split()
)
_QUOTE_MARKS = frozenset('"“”')
_QUOTED = re.compile(r"[\"“]([^\"“”]{2,80})[\"”]")


@dataclass(frozen=True)
class Proposal:
    """What the model offered, with mean token log-probabilities (None when unknown)."""

    free: str
    free_logprob: float | None = None
    span: str = ""
    span_logprob: float | None = None


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def candidate_spans(question: str, text: str, max_words: int = MAX_SPAN_WORDS) -> list[str]:
    """The phrases of a sentence that could answer the question.

    A phrase is up to max_words whole words that crosses no quotation mark,
    ends in no stopword and starts with a word that is neither a stopword nor
    one of the question's (an article or preposition may lead it), so that the
    model cannot drift from echoing the question into a long span. A question
    asking for a number only gets phrases that hold one. Quoted names are
    always kept: they often answer "what is X called" in the question's words.
    """
    asked = {stem(w) for w in words(question)}
    numeric = asks_for_number(question)
    tokens = text.split()
    spans = dict.fromkeys(
        quoted for quoted in _QUOTED.findall(text) if len(quoted.split()) <= max_words
    )
    for i, token in enumerate(tokens):
        first = token.lstrip(_LEADING)
        if not first or _bare(first) in STOPWORDS or stem(_bare(first)) in asked:
            continue
        leads = i and first == token and _bare(tokens[i - 1]) in _LEADERS
        leader = tokens[i - 1].lstrip(_LEADING) if leads else ""
        for j in range(i, min(len(tokens), i + max_words)):
            if _bare(tokens[j]) in STOPWORDS:
                continue
            whole = " ".join([first, *tokens[i + 1 : j + 1]])
            span = whole.rstrip(_TRAILING)
            if _QUOTE_MARKS.intersection(span):
                continue
            if numeric and not mentions_number(span):
                continue
            forms = [span, whole] if whole.endswith(".") and whole != span else [span]
            for form in forms:
                spans[form] = None
                if leader:
                    spans[f"{leader} {form}"] = None
    return [span for span in spans if span]


def _bare(token: str) -> str:
    return fold(token.strip(_LEADING + _TRAILING))


def choice_grammar(choices: list[str]) -> str:
    """A GBNF grammar whose only sentences are the given phrases."""
    return 'root ::= " " (' + " | ".join(_literal(c) for c in choices) + ') "\\n"'


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


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


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
    ) -> tuple[str, float | None]:
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

    def answer(
        self, question: str, evidence: list[Evidence], on_token: Callable[[str], None] | None = None
    ) -> tuple[str, float | None]:
        """The model's free answer from the evidence, and its mean token log-probability."""
        return self._complete(self.render(question, evidence), on_token=on_token)

    def read(
        self, question: str, evidence: list[Evidence], on_token: Callable[[str], None] | None = None
    ) -> Proposal:
        prompt = self.render(question, evidence)
        free, free_logprob = self._complete(prompt, on_token=on_token)
        choices: dict[str, None] = {}
        for item in evidence:
            choices.update(dict.fromkeys(candidate_spans(question, " ".join(item.text.split()))))
        if not choices:
            return Proposal(free, free_logprob)
        span, span_logprob = self._complete(prompt, choice_grammar(list(choices)))
        return Proposal(free, free_logprob, span, span_logprob)
