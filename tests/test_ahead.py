"""Prompts read ahead: the pieces a long prompt is read in, that no request starts
while a question is answered, and that a shared prompt's reading is kept for the next
process."""

from __future__ import annotations

import itertools

from pydantic import Field

from qa.llm.ahead import PIECE_CHARS, ReadAhead, pieces
from qa.llm.completion import Completion
from qa.llm.inprocess import LlamaCppLLM
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
        thread = ahead.read(llm, TURN * 4, shared=True)
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
        second = ahead.read(llm, "second", shared=True)
        assert first is second
    first.join(timeout=5)
    assert llm.prompts == ["first", "second"]


def test_the_prompt_the_next_question_needs_goes_before_those_waiting() -> None:
    ahead = ReadAhead()
    llm = GatedLLM()
    with ahead.answering():
        ahead.read(llm, TURN * 4, shared=True)
        thread = ahead.read(llm, "next", first=True)
    thread.join(timeout=5)
    assert llm.prompts == ["next", *pieces(TURN * 4)]


def test_a_waiting_beginning_of_a_prompt_read_later_is_dropped() -> None:
    """Read after the whole prompt, a piece of its beginning would cut the model's
    cache back to it."""
    ahead = ReadAhead()
    llm = GatedLLM()
    with ahead.answering():
        ahead.read(llm, TURN * 4, shared=True)
        thread = ahead.read(llm, TURN * 4 + "Last question:", first=True)
    thread.join(timeout=5)
    assert llm.prompts == [TURN * 4 + "Last question:"]


KEPT: dict[str, str] = {}  # each saved prompt, and what the slot held: the folder


class KeepingLLM(LlamaCppLLM):
    """The in-process model's saving and putting back, over KEPT."""

    threads: int = 1
    prompts: list[str] = Field(default_factory=list)

    def _complete(self, prompt: str, stop: list[str] | None) -> Completion:
        self.prompts.append(prompt)
        return "", [], []

    def remember(self, prompt: str) -> None:
        KEPT[prompt] = self.prompts[-1]

    def recall(self, prompt: str) -> bool:
        return prompt in KEPT


def test_a_shared_prompt_read_once_is_put_back_by_the_next_process() -> None:
    KEPT.clear()
    first = KeepingLLM(max_tokens=1)
    thread = ReadAhead().read(first, TURN * 4, shared=True)
    assert thread is not None
    thread.join(timeout=5)
    assert first.prompts == pieces(TURN * 4)
    assert KEPT == {TURN * 4: TURN * 4}
    later = KeepingLLM(max_tokens=1)  # a new process: a new queue, the same folder
    assert ReadAhead().read(later, TURN * 4, shared=True) is None
    assert later.prompts == []
    assert ReadAhead().read(later, "not shared") is not None  # only shared prompts are kept


def test_a_shared_prompt_cut_short_by_a_longer_one_is_kept_with_it() -> None:
    """The conversation's prompt, read before the shared instructions were done, holds
    them: its reading is saved as theirs."""
    KEPT.clear()
    llm = KeepingLLM(max_tokens=1)
    ahead = ReadAhead()
    with ahead.answering():
        ahead.read(llm, TURN * 4, shared=True)
        thread = ahead.read(llm, TURN * 4 + "Last question:", first=True)
    assert thread is not None
    thread.join(timeout=5)
    assert llm.prompts == [TURN * 4 + "Last question:"]
    assert KEPT == {TURN * 4: TURN * 4 + "Last question:"}


def test_cancel_leaves_only_the_piece_in_hand() -> None:
    """A chat or resident process that exits does not wait to read what the next
    question would have needed."""
    ahead = ReadAhead()
    llm = GatedLLM()
    with ahead.answering():
        thread = ahead.read(llm, TURN * 4, shared=True)
        ahead.cancel()
    assert thread is not None
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert llm.prompts == []


def test_copies_of_one_slot_share_what_waits() -> None:
    """The conversation's prompt, read with the rewriter's own model, drops the shared
    instructions waiting to be read with a copy of it (the read-ahead copy)."""
    KEPT.clear()
    rewriter = KeepingLLM(max_tokens=48, slot=1)
    ahead = ReadAhead()
    with ahead.answering():
        ahead.read(rewriter.model_copy(update={"max_tokens": 1}), TURN * 4, shared=True)
        thread = ahead.read(rewriter, TURN * 4 + "Last question:", first=True)
    assert thread is not None
    thread.join(timeout=5)
    assert rewriter.prompts == [TURN * 4 + "Last question:"]
    assert KEPT == {TURN * 4: TURN * 4 + "Last question:"}
