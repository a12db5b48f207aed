"""Any OpenAI-compatible server (llama.cpp's server, vLLM, Ollama's /v1, hosted APIs)
as a LangChain ``LLM``, so the reader, verifier and abstention rules stay the same
whatever model answers.

``api="chat"`` sends the prompt to /chat/completions as the turns its ChatML markup
writes (``<|im_start|>system`` …), so a chat model gets the same instructions, evidence
and question as the packaged one; a prompt without that markup goes as one user
message. ``api="completions"`` sends it as is to /completions, for base models, which a
chat template only confuses.

The official ``openai`` client does the HTTP: timeouts, and retries with backoff on
connection errors, 408, 429 and 5xx, which are safe because a greedy completion
can be asked again. A stream is retried only until its first token arrives.
Every failure becomes a one-line ``ModelError`` naming the server; the API key
is never part of a message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import PrivateAttr, SecretStr

from qa.errors import ModelError
from qa.llm.completion import Alternatives, Completion, CompletionLLM
from qa.llm.template import chat_messages

if TYPE_CHECKING:
    import openai


SERVER_ALTERNATIVES = 5  # the OpenAI completions API allows at most 5


class ServerLLM(CompletionLLM):
    """Greedy completions from an OpenAI-compatible server."""

    base_url: str
    model: str
    api: Literal["chat", "completions"]
    api_key: SecretStr | None
    timeout: float
    retries: int
    _client: openai.OpenAI | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "openai-compatible"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model}

    def client(self) -> openai.OpenAI:
        if self._client is None:
            self._client = openai_client(self.base_url, self.api_key, self.timeout, self.retries)
        return self._client

    def _request(self, prompt: str, stop: list[str] | None) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "temperature": 0.0,
        }
        if self.api == "chat":
            request.update(
                messages=chat_messages(prompt), logprobs=True, top_logprobs=SERVER_ALTERNATIVES
            )
        else:
            request.update(prompt=prompt, logprobs=SERVER_ALTERNATIVES)
        if stop:
            request["stop"] = stop[:4]  # the OpenAI API takes at most four
        return request

    def _complete(self, prompt: str, stop: list[str] | None) -> Completion:
        return _choice(self._call_server(self._request(prompt, stop)), self.base_url, self.api)

    def _call_server(self, request: dict[str, Any], stream: bool = False) -> Any:
        """The server's reply; every failure becomes ModelError."""
        import openai

        client = self.client()
        endpoint = client.chat.completions if self.api == "chat" else client.completions
        try:
            return endpoint.create(**request, stream=stream)
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a body that is not JSON
            raise self._error(exc) from exc

    def _error(self, exc: Exception) -> ModelError:
        return server_error(
            exc,
            f"the LLM server at {self.base_url}",
            self.timeout,
            "QA_LLM_API_KEY",
            f"no model {self.model!r} or no {self.api} endpoint",
        )

    def _tokens(self, prompt: str, stop: list[str] | None) -> Iterator[Completion]:
        import openai

        stream = self._call_server(self._request(prompt, stop), stream=True)
        try:
            for event in stream:
                if not getattr(event, "choices", None):
                    continue
                choice = event.choices[0]
                if self.api == "chat":
                    token = (choice.delta.content if choice.delta else None) or ""
                else:
                    token = choice.text or ""
                if token:
                    yield token, *_token_logprobs(choice.logprobs)
        except (openai.OpenAIError, AttributeError, TypeError, ValueError) as exc:
            raise self._error(exc) from exc


def openai_client(
    base_url: str, api_key: SecretStr | None, timeout: float, retries: int
) -> openai.OpenAI:
    """The official client for one server: its timeout, and retries with backoff."""
    import openai

    key = api_key.get_secret_value() if api_key else "none"
    return openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout, max_retries=retries)


def server_error(
    exc: Exception, where: str, timeout: float, key_variable: str, missing: str
) -> ModelError:
    """One line for a failed call to an OpenAI-compatible server, by the ``openai``
    client's exception: the server, what went wrong, never the key."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        why = f"{where} did not answer within {timeout:g} s"
    elif isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        why = f"cannot reach {where} ({' '.join(str(cause).split()) or type(cause).__name__})"
    elif isinstance(exc, openai.AuthenticationError):
        why = f"{where} refused the API key (HTTP 401); set {key_variable}"
    elif isinstance(exc, openai.NotFoundError):
        why = f"{where} has {missing} (HTTP 404)"
    elif isinstance(exc, openai.APIStatusError):
        why = f"{where} answered HTTP {exc.status_code}: {_message(exc)}"
    else:
        why = f"{where} sent a malformed response ({' '.join(str(exc).split())[:200]})"
    return ModelError(why)


def _choice(reply: Any, where: str, api: str) -> Completion:
    """The first choice's text and token log-probabilities, or ModelError."""
    try:
        choice = reply.choices[0]
        text = choice.message.content if api == "chat" else choice.text
        if not isinstance(text, str):
            raise TypeError(f"the text is {text!r}")
    except (AttributeError, IndexError, TypeError) as exc:
        raise ModelError(
            f"the LLM server at {where} sent a malformed response ({exc})".splitlines()[0]
        ) from exc
    return text, *_token_logprobs(choice.logprobs)


def _token_logprobs(logprobs: Any) -> tuple[list[float], list[Alternatives]]:
    """Per-token log-probabilities and alternatives, in the chat shape (``content``
    with ``top_logprobs``), the completions shape (``token_logprobs`` and
    ``top_logprobs``), or llama.cpp's completions shape (``content`` again); none when
    the server sends none."""
    if logprobs is None:
        return [], []
    try:
        if getattr(logprobs, "token_logprobs", None):
            values = [float(v) for v in logprobs.token_logprobs if v is not None]
            tops = getattr(logprobs, "top_logprobs", None) or []
            return values, [{str(k): float(v) for k, v in (t or {}).items()} for t in tops]
        content = getattr(logprobs, "content", None) or []
        return [float(_field(t, "logprob")) for t in content], [
            {
                str(_field(a, "token")): float(_field(a, "logprob"))
                for a in _field(t, "top_logprobs") or []
            }
            for t in content
        ]
    except (AttributeError, KeyError, TypeError, ValueError):
        return [], []


def _field(item: Any, name: str) -> Any:
    """A field of a reply object the client parsed, or of a plain dict it left as is."""
    return item[name] if isinstance(item, dict) else getattr(item, name, None)


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message", inner) if isinstance(inner, dict) else inner
    else:
        text = getattr(exc, "message", "") or str(exc)
    return " ".join(str(text).split())[:200]
