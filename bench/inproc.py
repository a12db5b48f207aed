"""The benchmark's in-process measurements, each run in a child of bench/run.py.

    python bench/inproc.py warm STORE DOCS QUESTIONS.json REPEAT
    python bench/inproc.py retrieval STORE DOCS QUESTIONS.json REPEAT
    python bench/inproc.py recall STORE DOCS QUESTIONS.jsonl 0

Each prints one JSON line of timings. They run apart from bench/run.py so that the
parent stays small: a child's peak RSS as the kernel reports it (wait4's ru_maxrss)
starts from the parent's RSS at fork, so a parent holding Gemma would inflate every
RSS figure measured after it.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def warm_times(call: Callable[[str], object], questions: list[str], repeat: int) -> list[float]:
    """Seconds for each call on each question, repeat times, after one call has loaded
    everything."""
    call(questions[0])
    times = []
    for _ in range(repeat):
        for question in questions:
            started = time.perf_counter()
            call(question)
            times.append(time.perf_counter() - started)
    return times


def warm(
    store: Path, docs: Path, questions: list[str], repeat: int, baseline: bool = True
) -> dict[str, Any]:
    """qa's answers and first streamed tokens, then (``baseline``) the tutorial recipe's.

    The two loops run apart: the LLM keeps the previous prompt's cache, and alternating
    recipes would make every question re-read its whole prompt, which chat never does.
    """
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    pipeline = Pipeline(Settings(docs=[docs], store=store))
    pipeline.ask(questions[0])
    answer_s, first_token_s, reader_s = [], [], []
    for _ in range(repeat):
        for question in questions:
            marks: list[float] = []
            started = time.perf_counter()
            answer = pipeline.ask(
                question, on_token=lambda _, m=marks: m.append(time.perf_counter())
            )
            answer_s.append(time.perf_counter() - started)
            reader_s.append(answer.timings.extract_s)
            if marks:
                first_token_s.append(marks[0] - started)
    result = {
        "qa_p50_s": statistics.median(answer_s),
        "qa_p95_s": percentile(answer_s, 0.95),
        "first_token_p50_s": statistics.median(first_token_s),
        "first_token_p95_s": percentile(first_token_s, 0.95),
        "reader_p50_s": statistics.median(reader_s),
        "reader_p95_s": percentile(reader_s, 0.95),
        "answers": len(answer_s),
        "streamed": len(first_token_s),
    }
    if baseline:
        baseline_s = warm_times(pipeline.baseline().ask, questions, repeat)
        result["baseline_p50_s"] = statistics.median(baseline_s)
        result["baseline_p95_s"] = percentile(baseline_s, 0.95)
    return result


def warm_alone(store: Path, docs: Path, questions: list[str], repeat: int) -> dict[str, Any]:
    """qa's warm answers only (a corpus too big to read whole: nq-sample)."""
    return warm(store, docs, questions, repeat, baseline=False)


def retrieval(store: Path, docs: Path, questions: list[str], repeat: int) -> dict[str, Any]:
    """Warm hybrid retrieval latency, after one question has loaded everything."""
    from qa.answer.retriever import Retriever
    from qa.pipeline import store_for
    from qa.settings import Settings

    retriever = Retriever(store_for(Settings(store=store, docs=[docs])), top_k=6)
    times = warm_times(retriever.passages, questions, repeat)
    return {"p50_s": statistics.median(times), "p95_s": percentile(times, 0.95)}


def recall(store: Path, docs: Path, questions: Path) -> dict[str, Any]:
    """Share of the answerable questions (a qa eval set) with a gold answer in the text
    of the first k passages the hybrid retriever gives the reader, k = 1, 3 and 6."""
    from qa.answer.retriever import Retriever
    from qa.evaluation.evaluate import load_questions, normalize_answer
    from qa.pipeline import store_for
    from qa.settings import Settings

    retriever = Retriever(store_for(Settings(store=store, docs=[docs])), top_k=6)
    answerable = [q for q in load_questions(questions) if q.answerable]
    found = {1: 0, 3: 0, 6: 0}
    for question in answerable:
        texts = [normalize_answer(p.text) for p in retriever.passages(question.question)]
        golds = [normalize_answer(g) for g in question.answers if normalize_answer(g)]
        for k in found:
            found[k] += any(g in t for g in golds for t in texts[:k])
    return {"questions": len(answerable)} | {
        f"at_{k}": n / len(answerable) for k, n in found.items()
    }


def main() -> None:
    step, store, docs, questions, repeat = sys.argv[1:6]
    if step == "recall":
        print(json.dumps(recall(Path(store), Path(docs), Path(questions))))
        return
    measure = {"warm": warm, "warm-alone": warm_alone, "retrieval": retrieval}[step]
    asked = json.loads(Path(questions).read_text(encoding="utf-8"))
    print(json.dumps(measure(Path(store), Path(docs), asked, int(repeat))))


if __name__ == "__main__":
    main()
