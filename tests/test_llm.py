"""Tests for qa.llm.inprocess's streaming over a stand-in for the xllamacpp server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qa.answer.generator import STOP
from qa.errors import ModelError
from qa.llm import inprocess
from qa.llm.inprocess import LlamaCppLLM


class Backend:
    """Answers a request with the given pieces, like xllamacpp's Server: streamed one by one
    to ``send``, or the first as the whole reply."""

    def __init__(self, pieces: list[dict[str, Any]]) -> None:
        self.pieces = pieces
        self.requests: list[dict[str, Any]] = []

    def handle_completions(
        self, request: dict[str, Any], send: Callable[[Any], None] | None = None
    ) -> dict[str, Any] | None:
        self.requests.append(request)
        if send is None:
            return self.pieces[0]
        for piece in self.pieces:
            send(piece)
        return None


def piece(text: str, logprob: float = -0.5) -> dict[str, Any]:
    top = [{"token": text, "logprob": logprob}, {"token": "NOT", "logprob": -2.0}]
    content = [{"logprob": logprob, "top_logprobs": top}]
    return {"choices": [{"text": text, "logprobs": {"content": content}}]}


def llm_over(monkeypatch: pytest.MonkeyPatch, pieces: list[dict[str, Any]]) -> LlamaCppLLM:
    backend = Backend(pieces)
    monkeypatch.setattr(LlamaCppLLM, "_backend", lambda self: backend)
    return LlamaCppLLM(threads=2, max_tokens=32)


def test_a_completion_is_greedy_with_the_stop_sequences_and_log_probabilities(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm = llm_over(monkeypatch, [piece(" $200 million", -0.25)])
    generation = llm.generate(["prompt"], stop=STOP).generations[0][0]
    assert generation.text == " $200 million"
    assert generation.generation_info == {
        "logprobs": [-0.25],
        "alternatives": [{" $200 million": -0.25, "NOT": -2.0}],
    }
    [request] = llm._backend().requests
    assert request == {
        "prompt": "prompt",
        "max_tokens": 32,
        "temperature": 0.0,
        "stop": STOP,
        "stream": False,
        "n_probs": 10,
        "id_slot": 0,
    }


def test_stream_yields_each_token(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = llm_over(monkeypatch, [piece(" $200"), piece(" million"), piece("")])
    assert list(llm.stream("prompt")) == [" $200", " million"]


def test_stream_of_a_model_that_stops_at_once_is_empty_not_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm = llm_over(monkeypatch, [piece("")])
    assert "".join(llm.stream("prompt")) == ""


def test_stream_reports_a_server_error(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = llm_over(monkeypatch, [{"error": {"message": "context overflow"}}])
    with pytest.raises(ModelError, match="generation failed: context overflow"):
        list(llm.stream("prompt"))


def test_a_slot_holds_the_beginnings_of_its_last_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    """A piece read ahead that a question has read already is not read again (it would
    cut the slot's cache back to it)."""
    llm = llm_over(monkeypatch, [piece("x")])
    llm.model_copy(update={"slot": 3}).invoke("instructions, examples, question")
    held = llm.model_copy(update={"slot": 3})
    assert held.holds("instructions, examples")
    assert not held.holds("instructions, other examples")
    assert not llm.model_copy(update={"slot": 2}).holds("instructions")


def test_a_folder_that_cannot_keep_readings_only_means_reading_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A read-only or full cache folder never stops a chat: nothing is kept, nothing is
    put back, and no error escapes (the read-ahead thread would die of it)."""
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(inprocess, "snapshot_dir", lambda: blocked / "prompts")
    monkeypatch.setattr(LlamaCppLLM, "_snapshot", lambda self, prompt: blocked / "prompts" / "x")
    llm = llm_over(monkeypatch, [piece("x")])
    llm.remember("instructions")
    assert not llm.recall("instructions")
