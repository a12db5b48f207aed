"""Scripted LLMs for plumbing tests: the real store and embedder, no generator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.llms import LLM
from pydantic import Field

from qa.llm.completion import Alternatives, Completion, CompletionLLM


class ScriptedLLM(LLM):
    """Answers every prompt with the same text and remembers the prompts and options."""

    reply: str = ""
    prompts: list[str] = Field(default_factory=list)
    calls: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _call(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        self.prompts.append(prompt)
        self.calls.append({"stop": stop, **kwargs})
        return self.reply


class TokenLLM(CompletionLLM):
    """Answers every prompt with the same tokens, each with its log-probability, the way
    the in-process and server LLMs do (``qa.llm.completion``)."""

    tokens: list[tuple[str, float]] = Field(default_factory=list)
    alternatives: list[Alternatives] = Field(default_factory=list)  # each token's top ones
    prompts: list[str] = Field(default_factory=list)
    max_tokens: int = 48

    @property
    def _llm_type(self) -> str:
        return "scripted-tokens"

    def _complete(self, prompt: str, stop: list[str] | None) -> Completion:
        self.prompts.append(prompt)
        text = "".join(t for t, _ in self.tokens)
        return text, [p for _, p in self.tokens], self.alternatives

    def _tokens(self, prompt: str, stop: list[str] | None) -> Iterator[Completion]:
        self.prompts.append(prompt)
        for token, logprob in self.tokens:
            yield token, [logprob], []


class RewritingLLM(ScriptedLLM):
    """Like ScriptedLLM, but a follow-up rewrite prompt (``prompts/rewrite.txt``) gets
    ``rewrite``, and the answer prompts get ``replies`` in turn while any are left."""

    rewrite: str = ""
    replies: list[str] = Field(default_factory=list)

    def _call(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        reply = super()._call(prompt, stop, run_manager, **kwargs)
        if "Last question:" in prompt:
            return self.rewrite
        if "Proposed answer:" in prompt:  # the support check (prompts/check.txt)
            return reply
        return self.replies.pop(0) if self.replies else reply
