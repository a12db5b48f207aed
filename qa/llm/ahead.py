"""Prompts read ahead: a model that keeps each task's prompt in a slot of its own (the
in-process one) reads a prompt in the background, so a later request that starts with
it pays only for the rest (the first answer's worked examples and corpus, the next
follow-up's rewrite, the support check's worked examples).

The prompts are read one after another in one thread, and each request starts only
while no question is being answered (``answering``): llama.cpp reads the slots'
prompts in the same batches, so a prompt read beside an answer slows it by all of its
length. A long prompt that every conversation shares (``shared``) is read a piece at a
time (about 100 tokens, a second or two here), so it slows an answer asked meanwhile by
at most one piece; and the model's reading of it is kept on disk, so a later process
puts it back in milliseconds instead of reading it again (``LlamaCppLLM.recall``).
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Iterator

from langchain_core.language_models.llms import BaseLLM

from qa.errors import QAError
from qa.llm.inprocess import LlamaCppLLM

PIECE_CHARS = 400  # about 100 tokens
_TURN_END = "<|im_end|>\n"  # a cut here tokenizes as the whole prompt does


def pieces(prompt: str) -> list[str]:
    """The prompt's beginnings to read in turn: each ends after a turn of the chat
    template, at least PIECE_CHARS past the one before; the last is the whole prompt."""
    cuts = []
    start = 0
    while (found := prompt.find(_TURN_END, start + PIECE_CHARS)) != -1:
        start = found + len(_TURN_END)
        cuts.append(prompt[:start])
    if not cuts or cuts[-1] != prompt:
        cuts.append(prompt)
    return cuts


def same_cache(one: BaseLLM, other: BaseLLM) -> bool:
    """Whether two models read into one cache: the same object, or in-process copies of
    one slot (the read-ahead copies differ from the task's model only in their options)."""
    if isinstance(one, LlamaCppLLM) and isinstance(other, LlamaCppLLM):
        return one.slot_key == other.slot_key
    return one is other


class ReadAhead:
    """The prompts waiting to be read ahead, and whether a question is being answered."""

    def __init__(self) -> None:
        # Each prompt or piece to read, and the prompt whose reading to save after it.
        self._waiting: deque[tuple[BaseLLM, str, str | None]] = deque()
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._answering = 0
        self._thread: threading.Thread | None = None

    def read(
        self, model: BaseLLM, prompt: str, shared: bool = False, first: bool = False
    ) -> threading.Thread | None:
        """Read the prompt after those already waiting, or before them (``first``: the
        one the next question needs); the thread that reads them. A ``shared`` prompt is
        put back at once from disk when it was read before (then None), else read a piece
        at a time and saved."""
        keeper = model if shared and isinstance(model, LlamaCppLLM) else None
        if keeper is not None and keeper.recall(prompt):
            return None
        # Each piece, and the shared prompt whose reading to save once it is read.
        parts: list[tuple[BaseLLM, str, str | None]] = [
            (model, piece, None) for piece in (pieces(prompt) if shared else [prompt])
        ]
        with self._lock:
            # A beginning of this prompt, still waiting, would now only cut the model's
            # cache of what it read since back to that beginning; its reading is saved
            # after this prompt's (which holds it) instead.
            saved = prompt if keeper is not None else None
            for waiting, piece, save in self._waiting:
                if same_cache(waiting, model) and prompt.startswith(piece) and save is not None:
                    saved = save
            self._waiting = deque(
                (waiting, piece, save)
                for waiting, piece, save in self._waiting
                if not same_cache(waiting, model) or not prompt.startswith(piece)
            )
            parts[-1] = (model, prompt, saved)
            if first:
                self._waiting.extendleft(reversed(parts))
            else:
                self._waiting.extend(parts)
            if self._thread is None:
                # Not a daemon: exiting while llama.cpp still reads would crash the process.
                self._thread = threading.Thread(target=self._drain)
                self._thread.start()
            return self._thread

    def _drain(self) -> None:
        while True:
            self._idle.wait()
            with self._lock:
                if not self._waiting:
                    self._thread = None
                    return
                model, piece, save = self._waiting.popleft()
            with contextlib.suppress(QAError):  # the request itself will say what is wrong
                # A question asked meanwhile may have read it already: read again, it
                # would cut the cache back to it and read the rest a second time.
                if not (isinstance(model, LlamaCppLLM) and model.holds(piece)):
                    model.invoke(piece)
                if save is not None and isinstance(model, LlamaCppLLM):
                    model.remember(save)

    def cancel(self) -> None:
        """Read nothing more than the piece in hand: the process is about to exit, and
        waits for that one only."""
        with self._lock:
            self._waiting.clear()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """While a question is answered, no new request is sent."""
        with self._lock:
            self._answering += 1
            self._idle.clear()
        try:
            yield
        finally:
            with self._lock:
                self._answering -= 1
                if not self._answering:
                    self._idle.set()


AHEAD = ReadAhead()  # process-wide, as the in-process model is
