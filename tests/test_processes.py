"""Real `qa` processes on one store: killed with SIGKILL part-way, or run at once (slow).

In the crash test, every round rewrites the corpus with a new code word per file, starts `qa index`,
kills it at a random moment, and checks the store it left: the next `qa ask`
must work by itself and answer only from the current text, never from an older
version, and the store must end up exactly in step with the files.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.corpus import documents
from qa.evaluation.evaluate import citation_valid
from qa.index.embeddings import MiniLMEmbeddings
from qa.index.store import Store
from qa.models import Answer

pytestmark = pytest.mark.slow

QA = [sys.executable, "-c", "from qa.cli.main import main; main()"]
FILES = 12
ROUNDS = 5


def qa_env() -> dict[str, str]:
    """The test's environment (read when a process starts, after the autouse fixture
    set it: no outside QA_* variables, no resident process), with small chunks: several
    embedding batches per run, so kills land between writes. `qa ask` answers with the
    extractive reader alone: what is tested is the store it reads, and loading the LLM in
    every round cost the suite about a minute."""
    return {**os.environ, "QA_CHUNK_CHARS": "150", "QA_READER": "extractive"}


def write_corpus(docs: Path, version: int, paragraphs: int = 40) -> None:
    for i in range(FILES):
        sentences = [
            f"Report {i} was revised in round {version}.",
            f"The code word of report {i} is word{version}x{i}.",
            *(
                f"Paragraph {k} of report {i} describes harbour traffic in week {k}."
                for k in range(paragraphs)
            ),
        ]
        (docs / f"report-{i:02d}.txt").write_text(" ".join(sentences) + "\n", encoding="utf-8")


def qa(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*QA, *map(str, args)], capture_output=True, text=True, timeout=600, env=qa_env()
    )


def small_chunks(index: Path, docs: Path) -> Store:
    """The store as the qa processes here see it."""
    return Store(
        index,
        [docs],
        chunk_chars=150,
        max_file_bytes=10**7,
        chroma_url=None,
        embedder=MiniLMEmbeddings(),
    )


def in_step(store: Store, docs: Path) -> None:
    """The finished store holds exactly the current chunks of every file."""
    chunks = store.chunks()
    for chunk in chunks:
        text = Path(chunk.source).read_text(encoding="utf-8")
        assert text[chunk.start : chunk.end] == chunk.text
    assert store.vectors.count() == len(chunks) == store.lexical().size
    assert {c.source for c in chunks} == {str(p) for p in docs.glob("*.txt")}


def left_behind(store: Store) -> str:
    """What the killed run left: how far the manifest and the vectors got."""
    manifest = store.manifest().files
    current = {documents.read(Path(p), 10**7).sha256 for p in manifest}
    done = sum(entry.sha256 in current for entry in manifest.values())
    hashes = [c.doc_hash for c in store.vectors.fetch(store.vectors.ids())]
    new = sum(h in current for h in hashes)
    return (
        f"manifest names {done}/{len(manifest)} current files; "
        f"vectors: {len(hashes) - new} old, {new} current"
    )


def test_index_killed_at_random_points_leaves_a_usable_store(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    write_corpus(docs, 0)
    assert qa("index", "--docs", docs, "--store", index).returncode == 0
    started = time.perf_counter()
    assert qa("index", "--docs", docs, "--store", index, "--rebuild").returncode == 0
    full_run = time.perf_counter() - started
    rng = random.Random(2026)
    for version in range(1, ROUNDS + 1):
        write_corpus(docs, version)
        run = subprocess.Popen(
            [*QA, "index", "--docs", str(docs), "--store", str(index)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=qa_env(),
        )
        delay = rng.uniform(0.5, full_run)
        time.sleep(delay)
        run.kill()
        run.wait()
        print(
            f"round {version}: killed after {delay:.1f} s; {left_behind(small_chunks(index, docs))}"
        )
        asked = qa(
            "ask", "What is the code word of report 7?", "--json", "--docs", docs, "--store", index
        )
        assert asked.returncode == 0, asked.stderr
        answer = Answer.model_validate(json.loads(asked.stdout))
        assert f"word{version}x7" in answer.answer, answer
        assert answer.citations, answer
        assert all(citation_valid(c) for c in answer.citations)
        assert all(
            f"round {version}" in c.quote or f"word{version}x" in c.quote for c in answer.citations
        )
        in_step(small_chunks(index, docs), docs)


def test_two_index_runs_at_once_take_turns_and_ask_waits_for_the_new_text(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    write_corpus(docs, 0)
    assert qa("index", "--docs", docs, "--store", index).returncode == 0
    write_corpus(docs, 1, paragraphs=240)  # long enough a run for the second to start
    command = [*QA, "index", "--docs", str(docs), "--store", str(index)]
    first = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=qa_env()
    )
    time.sleep(2.0)
    second = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=qa_env()
    )
    asked = qa(
        "ask", "What is the code word of report 7?", "--json", "--docs", docs, "--store", index
    )
    outcomes = [(run.wait(), run.communicate()[1]) for run in (first, second)]
    assert [code for code, _ in outcomes] == [0, 0]
    waited = [err for _, err in outcomes if "waiting for another qa run" in err]
    assert waited, outcomes
    assert asked.returncode == 0, asked.stderr
    answer = Answer.model_validate(json.loads(asked.stdout))
    assert "word1x7" in answer.answer, answer
    assert answer.citations, answer
    assert all(citation_valid(c) for c in answer.citations)
    assert all("round 1" in c.quote or "word1x" in c.quote for c in answer.citations)
    in_step(small_chunks(index, docs), docs)
