"""The shape every LLM behind qa shares, in-process or on a server: a LangChain ``LLM``
whose greedy completions carry each token's log-probability (a signal of the
abstention model) and which can stream. A backend says how to complete a prompt and
how to stream its tokens; this class does the LangChain part once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.llms import BaseLLM
from langchain_core.outputs import Generation, GenerationChunk, LLMResult

Alternatives = dict[str, float]  # the likeliest tokens at one position, and their log-probabilities
# The text, its tokens' log-probabilities, and each token's alternatives (empty when
# the backend gives none).
Completion = tuple[str, list[float], list[Alternatives]]
TOP_ALTERNATIVES = 10


class CompletionLLM(BaseLLM):
    """Greedy completions with log-probabilities and the likeliest alternatives to each
    token (TOP_ALTERNATIVES of them); a subclass supplies the backend."""

    max_tokens: int

    def _complete(self, prompt: str, stop: list[str] | None) -> Completion:
        """One completion."""
        raise NotImplementedError

    def _tokens(self, prompt: str, stop: list[str] | None) -> Iterator[Completion]:
        """The completion's tokens as they arrive, each with its log-probabilities."""
        raise NotImplementedError

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Completions with each token's log-probability."""
        generations = []
        for prompt in prompts:
            text, logprobs, alternatives = self._complete(prompt, stop)
            info = {"logprobs": logprobs, "alternatives": alternatives}
            generations.append([Generation(text=text, generation_info=info)])
        return LLMResult(generations=generations)

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        streamed = False
        for token, logprobs, alternatives in self._tokens(prompt, stop):
            if not token:
                continue
            info = {"logprobs": logprobs, "alternatives": alternatives}
            chunk = GenerationChunk(text=token, generation_info=info)
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            streamed = True
            yield chunk
        if not streamed:  # the model stopped at once; LangChain wants at least one chunk
            yield GenerationChunk(text="")
