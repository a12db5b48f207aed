"""A scripted LLM for plumbing tests: the real store and embedder, no generator."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.llms import LLM
from pydantic import Field


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
