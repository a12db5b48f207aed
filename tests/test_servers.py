"""qa against real servers on 127.0.0.1: llama.cpp's server (`qa serve-llm`, the
packaged Gemma), llama.cpp's server with embeddings on (the packaged MiniLM as GGUF,
tests/embed_server.py) and a Chroma server (`chroma run`), each started here and
stopped after the module."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import qa
from qa.cli.main import run
from qa.evaluation.evaluate import citation_valid
from tests.conftest import REPO

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
QUESTION = "How much is OpenAI's new Pentagon contract worth?"
EVAL_SET = REPO / "tests" / "golden" / "seed_questions.jsonl"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(command: list[str], ready: str, log: Path) -> subprocess.Popen[bytes]:
    """Start a server and wait until its health URL answers 200 (60 s at most)."""
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{command[0]} exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(ready, timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    pytest.fail(f"{command[0]} did not come up: {log.read_text(errors='replace')[-2000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("llm") / "serve-llm.log"
    process = start(
        [str(BIN / "qa"), "serve-llm", "--port", str(port)],
        f"http://127.0.0.1:{port}/health",
        log,
    )
    yield f"http://127.0.0.1:{port}/v1"
    stop(process)


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma")
    process = start(
        [
            str(BIN / "chroma"),
            "run",
            "--path",
            str(folder),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        f"http://127.0.0.1:{port}/api/v2/heartbeat",
        folder / "chroma.log",
    )
    yield f"http://127.0.0.1:{port}"
    stop(process)


@pytest.fixture(scope="module")
def embed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("embed")
    gguf = folder / "all-MiniLM-L6-v2-f16.gguf"
    subprocess.run([sys.executable, "-m", "tests.embed_server", "convert", gguf], check=True)
    port = free_port()
    process = start(
        [sys.executable, "-m", "tests.embed_server", "serve", str(gguf), str(port)],
        f"http://127.0.0.1:{port}/health",
        folder / "embed.log",
    )
    yield f"http://127.0.0.1:{port}/v1"
    stop(process)


class FlakyProxy:
    """Forwards HTTP requests to a server, or answers each with ``failing`` (a status)."""

    def __init__(self, target: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        proxy = self
        self.failing: int | None = None

        class Handler(BaseHTTPRequestHandler):
            def relay(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else None
                if proxy.failing:
                    status, data, kind = proxy.failing, b'{"error": "failing"}', "application/json"
                else:
                    request = urllib.request.Request(
                        target + self.path, data=body, method=self.command,
                        headers={"Content-Type": self.headers.get("Content-Type", "")},
                    )  # fmt: skip
                    try:
                        with urllib.request.urlopen(request, timeout=30) as answer:
                            status, data = answer.status, answer.read()
                            kind = answer.headers.get("Content-Type", "")
                    except urllib.error.HTTPError as refused:
                        status, data = refused.code, refused.read()
                        kind = refused.headers.get("Content-Type", "")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = relay

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def served(llm_url: str, **more: object) -> qa.Settings:
    return qa.configure(llm_url=llm_url, llm_api="completions", **more)


def assert_checked(answer: qa.Answer) -> None:
    for citation in answer.citations:
        assert citation_valid(citation), citation


def test_ask_through_the_llm_server_matches_in_process(
    llm_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["ask", QUESTION, "--llm-url", llm_url, "--llm-api", "completions"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    golden = (REPO / "tests" / "golden" / "ask_seed.txt").read_text(encoding="utf-8")
    assert captured.out == golden


def test_answers_stream_through_the_llm_server(llm_url: str) -> None:
    tokens: list[str] = []
    answer = qa.ask(
        "How much is OpenAI's new Pentagon contract worth?",
        settings=served(llm_url),
        on_token=tokens.append,
    )
    assert len(tokens) >= 2
    assert "200 million" in "".join(tokens)
    assert answer.answer == "$200 million [1]"
    assert_checked(answer)


def test_chat_through_the_llm_server(
    llm_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{QUESTION}\nWho won the 1998 World Cup?\n"))
    code = run(["chat", "--llm-url", llm_url, "--llm-api", "completions"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "$200 million [1]" in captured.out
    assert "I can't find that in the documents." in captured.out


def test_chat_endpoint_keeps_the_same_checks(llm_url: str) -> None:
    """Through /chat/completions the base Gemma is wrapped in a chat template it was not
    tuned for; whatever it says, the answer is a checked quote or an abstention."""
    answer = qa.ask(QUESTION, settings=qa.configure(llm_url=llm_url, llm_api="chat"))
    assert answer.answer == "$200 million [1]"  # the reader's span, checked as before
    assert_checked(answer)


def test_eval_through_both_servers(
    llm_url: str, chroma_url: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "report.json"
    servers = ["--llm-url", llm_url, "--llm-api", "completions", "--chroma-url", chroma_url]
    code = run(["eval", str(EVAL_SET), "--out", str(out), *servers])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(out.read_text())["summary"]
    assert summary["questions"] == 18
    assert summary["citation_validity"] in (1.0, None)
    assert summary["ungrounded_answers"] in (0.0, None)
    assert summary["abstention_accuracy"] >= 5 / 6
    assert summary["answer_accuracy"] >= 4 / 12


def test_index_ask_and_reindex_through_the_chroma_server(
    chroma_url: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = workdir / "mine"
    docs.mkdir()
    note = docs / "note.txt"
    note.write_text("The office cat is called Biscuit. She sleeps all day.\n", encoding="utf-8")
    (docs / "other.txt").write_text("The kettle is in the kitchen.\n", encoding="utf-8")
    flags = ["--docs", str(docs), "--chroma-url", chroma_url]
    assert run(["index", *flags]) == 0
    assert "2 added" in capsys.readouterr().out
    assert run(["index", *flags]) == 0
    assert "0 added, 0 updated, 0 removed, 2 unchanged" in capsys.readouterr().out

    settings = qa.configure(docs=docs, chroma_url=chroma_url)
    assert "Biscuit" in qa.ask("What is the office cat called?", settings=settings).answer
    note.write_text("The office cat is called Pepper. She sleeps all day.\n", encoding="utf-8")
    assert run(["index", *flags]) == 0
    assert "0 added, 1 updated, 0 removed, 1 unchanged" in capsys.readouterr().out
    answer = qa.ask("What is the office cat called?", settings=settings)
    assert "Pepper" in answer.answer
    assert_checked(answer)

    assert run(["info", *flags]) == 0
    shown = capsys.readouterr().out
    assert f"vectors: Chroma server {chroma_url}" in shown
    assert "vectors    2\n" in shown
    assert not (workdir / "index" / "chroma").exists()  # nothing went to a local Chroma


def test_index_and_ask_through_the_embeddings_server(
    embed_url: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Documents and questions embedded by the server; the manifest names its model,
    and asking with the in-process model instead is a clear error, never mixed vectors."""
    flags = ["--embed-url", embed_url, "--embed-model", "all-MiniLM-L6-v2"]
    assert run(["index", *flags]) == 0
    assert "1 added" in capsys.readouterr().out
    manifest = next((workdir / "index" / "corpora").glob("*/manifest.json"))
    assert json.loads(manifest.read_text())["embedding_model"] == "all-MiniLM-L6-v2 (server)"

    assert run(["ask", QUESTION, *flags]) == 0
    assert capsys.readouterr().out.startswith("$200 million [1]\n")
    answer = qa.ask(QUESTION, settings=qa.configure(embed_url=embed_url))
    assert answer.answer.startswith("$200 million") and not answer.abstained
    assert_checked(answer)

    assert run(["ask", QUESTION]) == 1
    assert capsys.readouterr().err == (
        f"error: the index in {workdir / 'index'} was embedded with all-MiniLM-L6-v2 (server), "
        "and this run embeds with all-MiniLM-L6-v2 int8, 7-bit weights: give the same "
        "--embed-url and --embed-model, or re-embed it with qa index --rebuild\n"
    )
    assert run(["info", *flags]) == 0
    assert f"embedding  all-MiniLM-L6-v2 (server {embed_url})\n" in capsys.readouterr().out


def test_the_embeddings_server_agrees_with_the_packaged_model(embed_url: str) -> None:
    import numpy as np

    from qa.index.embeddings import MiniLMEmbeddings
    from qa.index.remote_embeddings import ServerEmbeddings

    texts = ["OpenAI won a $200 million defense contract.", "The kettle is in the kitchen."]
    served = ServerEmbeddings(embed_url, "all-MiniLM-L6-v2", None, timeout=30, retries=0)
    cosines = np.sum(
        np.array(served.embed_documents(texts))
        * np.array(MiniLMEmbeddings().embed_documents(texts)),
        axis=1,
    )
    assert cosines.min() > 0.98, cosines


def test_chroma_server_out_of_reach(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert run(["index", "--chroma-url", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach the Chroma server at {url}")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("status", [500, 503, 401, 403])
def test_a_failing_chroma_server_changes_nothing(
    chroma_url: str, workdir: Path, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    from chromadb.api.shared_system_client import SharedSystemClient

    proxy = FlakyProxy(chroma_url)
    flags = ["--chroma-url", proxy.url]
    assert run(["index", *flags]) == 0
    manifest = next((workdir / "index" / "corpora").glob("*/manifest.json"))
    before = manifest.read_bytes()
    capsys.readouterr()

    proxy.failing = status
    for command in (["index", *flags], ["ask", QUESTION, *flags]):
        qa.api.pipelines.clear()
        SharedSystemClient.clear_system_cache()
        assert run(command) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: the Chroma server at {proxy.url} failed: ")
        assert len(err.splitlines()) == 1
        assert manifest.read_bytes() == before

    proxy.failing = None
    qa.api.pipelines.clear()
    SharedSystemClient.clear_system_cache()
    assert run(["index", *flags]) == 0
    assert "0 added, 0 updated, 0 removed, 1 unchanged" in capsys.readouterr().out  # vectors kept
