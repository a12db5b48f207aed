"""Measure qa's int8 models against fp32 on this CPU, and make the 7-bit reader.

    python bench/quantisation.py --data ../shared/data/squad2-dev-sample --work /tmp/quant
    python bench/quantisation.py --write-reader   # qa/weights/reader/reader.onnx to 7 bits

Why 7 bits: ONNX Runtime's dynamic int8 products multiply unsigned 8-bit activations by
signed 8-bit weights. On an x86-64 CPU without VNNI it does so with VPMADDUBSW, which
adds each pair of products into 16 bits and saturates: with full-range weights a pair
can reach 2 x 255 x 127 = 64,770, and the model's numbers then depend on the CPU. With
weights in [-64, 64] a pair is at most 32,640 and nothing saturates.

The embedder is exported three ways from its package (fp32, int8 with 8-bit weights,
int8 with 7-bit weights), each indexes the corpus into a store of its own, and the
hybrid retriever's recall at k = 1, 3, 6 is measured as bench/inproc.py does. The
reader's fp32 training checkpoint is not kept, so its reference is the shipped 8-bit
file with its weights dequantised and its products computed in fp32; the 7-bit reader
is the same weights rounded to 7 bits. Each reader reads the top 3 passages of the
fp32 store for every answerable question, and a right span is one that ``qa eval``
would count right.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from inproc import recall  # bench/, run as a script
from onnx import helper, numpy_helper

from qa.answer.retriever import Retriever
from qa.answer.span_reader import MODEL_DIR, ExtractiveReader
from qa.cpu import describe as describe_cpu
from qa.cpu import vector_features
from qa.evaluation.evaluate import is_correct, load_questions
from qa.index import embeddings
from qa.index.embeddings import MiniLMEmbeddings, Weights, export_onnx
from qa.index.indexing import update
from qa.pipeline import store_for
from qa.settings import Settings

VARIANTS: tuple[Weights, ...] = ("fp32", "int8", "int8-7bit")
SEVEN_BITS = 64  # ONNX Runtime's reduce_range bound for signed weights


def requantise(model: onnx.ModelProto) -> int:
    """Round every signed int8 weight of a MatMulInteger to 7 bits, in place, scaling
    its per-channel scale to match; the number of weights changed."""
    inits = {init.name: init for init in model.graph.initializer}
    changed = 0
    for node in model.graph.node:
        if node.op_type != "MatMulInteger" or node.input[1] not in inits:
            continue
        weights = inits[node.input[1]]
        scale = inits[node.input[1].removesuffix("_quantized") + "_scale"]
        values = numpy_helper.to_array(weights).astype(np.float64)
        if values.dtype == np.uint8 or np.any(numpy_helper.to_array(inits[node.input[3]])):
            raise SystemExit(f"{weights.name}: expected symmetric int8 weights")
        peak = np.maximum(np.abs(values).max(axis=0), 1)  # per output channel
        ratio = SEVEN_BITS / peak
        rounded = np.clip(np.round(values * ratio), -SEVEN_BITS, SEVEN_BITS).astype(np.int8)
        new_scale = (numpy_helper.to_array(scale) / ratio).astype(np.float32)
        weights.CopyFrom(numpy_helper.from_array(rounded, weights.name))
        scale.CopyFrom(numpy_helper.from_array(new_scale.reshape(scale.dims), scale.name))
        changed += 1
    return changed


def dequantise(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with each MatMulInteger, its cast and its scaling replaced by an fp32
    MatMul of the unquantised input and the dequantised weights."""
    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    replaced: dict[int, onnx.NodeProto | None] = {}
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        (cast,) = users[node.output[0]]
        (scaled,) = users[cast.output[0]]
        source = producer[node.input[0]].input[0]
        weight = node.input[1].removesuffix("_quantized")
        values = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        scale = numpy_helper.to_array(inits[weight + "_scale"])
        graph.initializer.append(numpy_helper.from_array(values * scale, weight + "_fp32"))
        replaced[id(node)] = replaced[id(cast)] = None
        replaced[id(scaled)] = helper.make_node(
            "MatMul", [source, weight + "_fp32"], [scaled.output[0]]
        )
    kept = [replaced.get(id(n), n) for n in graph.node]
    del graph.node[:]
    graph.node.extend(n for n in kept if n is not None)
    onnx.checker.check_model(model)
    return model


def reader_variants(work: Path, source: Path) -> dict[str, Path]:
    """Folders holding each reader variant of ``source`` (an 8-bit export) and the
    shipped tokenizer."""
    folders = {}
    for name in ("fp32", "int8", "int8-7bit"):
        folder = work / f"reader-{name}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(MODEL_DIR / "tokenizer.json", folder / "tokenizer.json")
        model = onnx.load(source)
        if name == "fp32":
            model = dequantise(model)
        elif name == "int8-7bit":
            requantise(model)
        onnx.save(model, folder / "reader.onnx")
        folders[name] = folder
    return folders


def measure_embedders(work: Path, data: Path) -> tuple[dict[str, Any], Retriever]:
    """Each embedder's speed, cosines to fp32 and retrieval recall; the fp32 retriever."""
    results: dict[str, Any] = {}
    vectors: dict[str, np.ndarray] = {}
    retrievers = {}
    for weights in VARIANTS:
        model = work / f"embedder-{weights}.onnx"
        if not model.exists():
            export_onnx(model, weights)
        embeddings._runtime.cache_clear()
        embeddings.onnx_path = lambda model=model: model  # type: ignore[misc]
        store = store_for(Settings(store=work / f"store-{weights}", docs=[data / "corpus"]))
        update(store, None, print, rebuild=True)
        texts = [chunk.text for chunk in store.chunks()]
        embedder = MiniLMEmbeddings()
        embedder.embed_documents(texts[:8])
        started = time.perf_counter()
        vectors[weights] = np.array(embedder.embed_documents(texts))
        seconds = time.perf_counter() - started
        found = recall(store.root, data / "corpus", data / "questions.jsonl")
        cosines = np.sum(vectors[weights] * vectors["fp32"], axis=1)
        results[weights] = {
            "chunks_per_s": round(len(texts) / seconds, 1),
            "cosine_to_fp32_min": round(float(cosines.min()), 4),
            "cosine_to_fp32_mean": round(float(cosines.mean()), 4),
        } | {f"recall_at_{k}": round(found[f"at_{k}"], 4) for k in (1, 3, 6)}
        retrievers[weights] = Retriever(store, top_k=6)
        print(weights, results[weights], flush=True)
    return results, retrievers["fp32"]


def measure_readers(work: Path, data: Path, retriever: Retriever, source: Path) -> dict[str, Any]:
    """Each reader's right spans on the top 3 fp32 passages of every answerable question."""
    questions = [q for q in load_questions(data / "questions.jsonl") if q.answerable]
    evidence = [[p.text for p in retriever.passages(q.question)[:3]] for q in questions]
    best: dict[str, list[str]] = {}
    results: dict[str, Any] = {}
    for name, folder in reader_variants(work, source).items():
        reader = ExtractiveReader(folder)
        started = time.perf_counter()
        pairs = zip(questions, evidence, strict=True)
        spans = [reader.read(q.question, texts, 1) for q, texts in pairs]
        seconds = time.perf_counter() - started
        best[name] = [found[0].text if found else "" for found in spans]
        right = sum(is_correct(b, q.answers) for b, q in zip(best[name], questions, strict=True))
        same = sum(a == b for a, b in zip(best[name], best["fp32"], strict=True))
        results[name] = {
            "right_spans": round(right / len(questions), 4),
            "same_best_span_as_fp32": round(same / len(questions), 4),
            "questions_per_s": round(len(questions) / seconds, 1),
        }
        print(name, results[name], flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/squad2-dev-sample"))
    parser.add_argument("--work", type=Path, default=Path("build/quantisation"))
    parser.add_argument("--out", type=Path, help="write the measurements here as JSON")
    parser.add_argument(
        "--reader",
        type=Path,
        default=MODEL_DIR / "reader.onnx",
        help="the 8-bit reader export to measure (the shipped file, before --write-reader)",
    )
    parser.add_argument(
        "--write-reader", action="store_true", help="round the shipped reader's weights to 7 bits"
    )
    args = parser.parse_args()
    if args.write_reader:
        model = onnx.load(MODEL_DIR / "reader.onnx")
        print(f"{requantise(model)} weight matrices rounded to 7 bits")
        onnx.save(model, MODEL_DIR / "reader.onnx")
        return
    args.work.mkdir(parents=True, exist_ok=True)
    embedders, retriever = measure_embedders(args.work, args.data)
    results = {
        "cpu": describe_cpu(),
        "vector_features": vector_features(),
        "embedder": embedders,
        "reader": measure_readers(args.work, args.data, retriever, args.reader),
    }
    print(json.dumps(results, indent=1))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
