"""The extractive reader: a 22M-parameter BERT (all-MiniLM-L6-v2 fine-tuned on
SQuAD by training/train_reader.py) that reads a question and a few passages and
returns answer spans with their exact character offsets, plus a no-answer score
for each passage.

It runs with ONNX Runtime and the model's own tokenizer.json, as the embedder
does: no torch at question time. The weights ship inside the package
(``qa/weights/reader``) with their model card.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from qa.errors import ModelError

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Encoding, Tokenizer

MODEL_DIR = Path(__file__).resolve().parents[1] / "weights" / "reader"
MAX_TOKENS = 256  # a 600-character chunk and its question take about 150
STRIDE = 96
MAX_ANSWER_TOKENS = 48  # room for a list or a clause
TOP_TOKENS = 10
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class Found:
    """A span of one passage: ``passage[start:end] == text``. ``score`` is its start +
    end logit; ``no_answer`` is its passage's [CLS] score, so ``score - no_answer``
    says how much the reader prefers the span to "not in this passage"."""

    passage: int
    start: int
    end: int
    text: str
    score: float
    no_answer: float

    @property
    def margin(self) -> float:
        return self.score - self.no_answer


class SpanReader(Protocol):
    """Anything that finds answer spans in passages, best first."""

    def read(self, question: str, passages: Sequence[str], top: int = 5) -> list[Found]: ...


def _word_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span to whole words, so a subword piece never cuts one."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


class ExtractiveReader:
    """The packaged reader, loaded on first use."""

    def __init__(self, model_dir: Path = MODEL_DIR) -> None:
        self.model_dir = model_dir

    @cached_property
    def _runtime(self) -> tuple[onnxruntime.InferenceSession, Tokenizer]:
        os.environ.setdefault("ORT_TELEMETRY_DISABLED", "1")
        import onnxruntime
        from tokenizers import Tokenizer

        onnxruntime.disable_telemetry_events()
        try:
            tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            session = onnxruntime.InferenceSession(
                str(self.model_dir / "reader.onnx"), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(f"cannot load the reader model in {self.model_dir}: {exc}") from exc
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS, stride=STRIDE, strategy="only_second")
        return session, tokenizer

    def _windows(self, question: str, passages: Sequence[str]) -> list[tuple[int, Encoding]]:
        _, tokenizer = self._runtime
        found = []
        for i, encoding in enumerate(tokenizer.encode_batch([(question, p) for p in passages])):
            found += [(i, w) for w in [encoding, *encoding.overflowing]]
        return found

    def read(self, question: str, passages: Sequence[str], top: int = 5) -> list[Found]:
        """The best distinct spans over all passages, best first by score."""
        if not passages or not question.strip():
            return []
        session, _ = self._runtime
        windows = self._windows(question, passages)
        width = max(len(w.ids) for _, w in windows)
        ids = np.zeros((len(windows), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for row, (_, w) in enumerate(windows):
            ids[row, : len(w.ids)] = w.ids
            types[row, : len(w.ids)] = w.type_ids
            mask[row, : len(w.ids)] = 1
        starts, ends = session.run(None, dict(zip(INPUTS, (ids, mask, types), strict=True)))
        no_answer: dict[int, float] = {}
        for row, (p, _) in enumerate(windows):
            null = float(starts[row, 0] + ends[row, 0])
            no_answer[p] = min(null, no_answer.get(p, null))
        spans: dict[tuple[int, int, int], Found] = {}
        for row, (p, w) in enumerate(windows):
            for span in self._spans(passages[p], p, w, starts[row], ends[row], no_answer[p]):
                key = (p, span.start, span.end)
                if key not in spans or spans[key].score < span.score:
                    spans[key] = span
        ranked = sorted(spans.values(), key=lambda s: s.score, reverse=True)
        best: list[Found] = []
        for span in ranked:
            if not any(b.passage == span.passage and _overlap(b, span) for b in best):
                best.append(span)
            if len(best) == top:
                break
        return best

    def _spans(
        self,
        text: str,
        passage: int,
        window: Encoding,
        starts: np.ndarray,
        ends: np.ndarray,
        no_answer: float,
    ) -> list[Found]:
        context = [i for i, s in enumerate(window.sequence_ids) if s == 1]
        if not context:
            return []
        lo, hi = context[0], context[-1]
        best_starts = lo + np.argsort(starts[lo : hi + 1])[::-1][:TOP_TOKENS]
        best_ends = lo + np.argsort(ends[lo : hi + 1])[::-1][:TOP_TOKENS]
        found = []
        for s in best_starts:
            for e in best_ends:
                if e < s or e - s + 1 > MAX_ANSWER_TOKENS:
                    continue
                start, end = _word_bounds(text, window.offsets[s][0], window.offsets[e][1])
                if start < end:
                    score = float(starts[s] + ends[e])
                    found.append(Found(passage, start, end, text[start:end], score, no_answer))
        return found


def _overlap(a: Found, b: Found) -> bool:
    return a.start < b.end and b.start < a.end
