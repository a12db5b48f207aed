"""Prompts read ahead: the pieces a long prompt is read in, and that no request starts
while a question is answered."""

from __future__ import annotations

import itertools

from qa.ahead import PIECE_CHARS, ReadAhead, pieces
from tests.fakes import ScriptedLLM

TURN = "<|im_start|>user\n" + "word " * 100 + "<|im_end|>\n"


def test_a_long_prompt_is_read_in_pieces_that_end_after_a_turn() -> None:
    prompt = TURN * 4 + "<|im_start|>user\nConversation:"
    found = pieces(prompt)
    assert found[-1] == prompt
    assert all(piece.endswith("<|im_end|>\n") for piece in found[:-1])
    assert all(prompt.startswith(piece) for piece in found)
    sizes = [0] + [len(piece) for piece in found[:-1]]
    assert all(b - a >= PIECE_CHARS for a, b in itertools.pairwise(sizes))
    assert len(found) == 5  # each turn this long ends a piece
    assert pieces("short") == ["short"]


class GatedLLM(ScriptedLLM):
    """Notes each prompt it is asked to read."""

    def _call(self, prompt: str, stop: list[str] | None = None, **kwargs: object) -> str:
        self.prompts.append(prompt)
        return ""


def test_no_request_starts_while_a_question_is_answered() -> None:
    ahead = ReadAhead()
    llm = GatedLLM()
    with ahead.answering():
        thread = ahead.read(llm, TURN * 4, in_pieces=True)
        thread.join(timeout=0.2)
        assert thread.is_alive()
        assert llm.prompts == []
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert llm.prompts == pieces(TURN * 4)


def test_prompts_are_read_one_after_another_in_one_thread() -> None:
    ahead = ReadAhead()
    llm = GatedLLM()
    with ahead.answering():
        first = ahead.read(llm, "first")
        second = ahead.read(llm, "second", in_pieces=True)
        assert first is second
    first.join(timeout=5)
    assert llm.prompts == ["first", "second"]


def test_the_prompt_the_next_question_needs_goes_before_those_waiting() -> None:
    ahead = ReadAhead()
    llm = GatedLLM()
    with ahead.answering():
        ahead.read(llm, TURN * 4, in_pieces=True)
        thread = ahead.read(llm, "next", first=True)
    thread.join(timeout=5)
    assert llm.prompts == ["next", *pieces(TURN * 4)]


def test_a_waiting_beginning_of_a_prompt_read_later_is_dropped() -> None:
    """Read after the whole prompt, a piece of its beginning would cut the model's
    cache back to it."""
    ahead = ReadAhead()
    llm = GatedLLM()
    with ahead.answering():
        ahead.read(llm, TURN * 4, in_pieces=True)
        thread = ahead.read(llm, TURN * 4 + "Last question:", first=True)
    thread.join(timeout=5)
    assert llm.prompts == [TURN * 4 + "Last question:"]
