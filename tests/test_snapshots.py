"""A slot's reading of a long prompt, kept on disk and put back (the real model, slow):
put back, the model does not read the prompt again; a damaged file is read again."""

from __future__ import annotations

import uuid

import pytest

from qa.llm.inprocess import JUDGE_SLOT, LlamaCppLLM, snapshot_dir

pytestmark = pytest.mark.slow


def cached_tokens(llm: LlamaCppLLM, prompt: str) -> int:
    """How much of the prompt the slot already held when asked it."""
    request = {"prompt": prompt, "max_tokens": 1, "id_slot": llm.slot, "temperature": 0.0}
    return int(llm._backend().handle_completions(request)["timings"]["cache_n"])


def test_a_reading_is_saved_put_back_and_a_damaged_one_dropped() -> None:
    llm = LlamaCppLLM(threads=2, max_tokens=1, slot=JUDGE_SLOT)
    prompt = f"<|im_start|>system\nTest {uuid.uuid4()}. " + "The mill turns. " * 60
    other = "<|im_start|>user\nSomething else entirely."
    assert not llm.recall(prompt)
    before = set(snapshot_dir().glob("*.bin"))
    llm.invoke(prompt)
    llm.remember(prompt)
    [saved] = set(snapshot_dir().glob("*.bin")) - before
    try:
        assert cached_tokens(llm, other) < 5  # the slot now holds the other prompt
        assert llm.recall(prompt)
        assert cached_tokens(llm, prompt + " And then?") > 100  # put back, not read again
        saved.write_bytes(b"not a slot")
        assert not llm.recall(prompt)
        assert not saved.exists()
    finally:
        saved.unlink(missing_ok=True)
