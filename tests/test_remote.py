"""The OpenAI-compatible LLM client against a scripted HTTP server on 127.0.0.1:
what each way of failing looks like, retries, the API key, streaming."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr

from qa.answer.generator import STOP, Generator
from qa.cli.main import run
from qa.errors import ModelError
from qa.index.remote_embeddings import BATCH, ServerEmbeddings
from qa.llm.remote import ServerLLM
from qa.llm.template import chat_messages
from qa.models import Evidence

KEY = "sk-test-secret-123"
PROMPT = Path(__file__).resolve().parent.parent / "prompts" / "answer.txt"


def reply(text: str) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": text},
                "logprobs": {
                    "content": [
                        {
                            "token": text,
                            "logprob": -0.25,
                            "bytes": None,
                            "top_logprobs": [
                                {"token": text, "logprob": -0.25, "bytes": None},
                                {"token": "NOT", "logprob": -1.5, "bytes": None},
                            ],
                        }
                    ]
                },
            }
        ],
    }


class Script:
    """Answers for the next requests, in order: (status, body) or a callable."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.requests.append(body)
            script.headers.append({k.lower(): v for k, v in self.headers.items()})
            status, answer = script.answers.pop(0) if script.answers else (200, reply("ok"))
            if status == 0:  # a stream of server-sent events
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for event in answer:
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                return
            data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", script
    httpd.shutdown()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def llm(url: str, **options: Any) -> ServerLLM:
    given = {"api": "chat", "timeout": 60.0, "retries": 0, "max_tokens": 32, **options}
    return ServerLLM(base_url=url, model="m", api_key=KEY, **given)


def test_answer_with_logprobs_and_key(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers.append((200, reply("$200 million")))
    result = llm(url).generate(["Question?"], stop=["\n"])
    generation = result.generations[0][0]
    assert generation.text == "$200 million"
    assert generation.generation_info == {
        "logprobs": [-0.25],
        "alternatives": [{"$200 million": -0.25, "NOT": -1.5}],
    }
    assert script.headers[0]["authorization"] == f"Bearer {KEY}"
    sent = script.requests[0]
    assert sent["messages"] == [{"role": "user", "content": "Question?"}]
    assert (sent["model"], sent["temperature"], sent["stop"], sent["logprobs"]) == (
        "m",
        0.0,
        ["\n"],
        True,
    )
    assert sent["top_logprobs"] == 5


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ModelError, match=r"^cannot reach the LLM server at http://127\.0\.0\.1"):
        llm(url).invoke("Question?")


def test_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        with pytest.raises(ModelError) as caught:
            llm(url, timeout=0.5).invoke("Question?")
    assert str(caught.value) == f"the LLM server at {url} did not answer within 0.5 s"


def test_server_errors_are_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers += [(503, {"error": {"message": "busy"}}), (500, "oops"), (200, reply("yes"))]
    assert llm(url, retries=2).invoke("Question?") == "yes"
    assert len(script.requests) == 3


def test_server_error_after_retries(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers += [(500, {"error": {"message": "model crashed"}})] * 2
    with pytest.raises(ModelError) as caught:
        llm(url, retries=1).invoke("Question?")
    assert str(caught.value) == f"the LLM server at {url} answered HTTP 500: model crashed"


def test_bad_key_is_never_shown(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers.append((401, {"error": {"message": f"invalid key {KEY}"}}))
    with pytest.raises(ModelError) as caught:
        llm(url).invoke("Question?")
    assert str(caught.value) == (
        f"the LLM server at {url} refused the API key (HTTP 401); set QA_LLM_API_KEY"
    )
    assert KEY not in repr(llm(url))


def test_unknown_model(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers.append((404, {"error": {"message": "no such model"}}))
    with pytest.raises(ModelError, match=r"has no model 'm' or no chat endpoint \(HTTP 404\)$"):
        llm(url).invoke("Question?")


@pytest.mark.parametrize("body", [{"unexpected": 1}, {"choices": []}, "not json at all"])
def test_malformed_reply(server: tuple[str, Script], body: Any) -> None:
    url, script = server
    script.answers.append((200, body))
    with pytest.raises(ModelError, match=r"^the LLM server at .* sent a malformed response"):
        llm(url).invoke("Question?")


def test_a_400_is_an_error_and_not_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers.append((400, {"error": {"message": "the request exceeds the context size"}}))
    with pytest.raises(ModelError, match=r"answered HTTP 400: the request exceeds the context"):
        llm(url, retries=2).invoke("A long question?")
    assert len(script.requests) == 1


def test_a_chatml_prompt_reaches_a_chat_server_as_its_turns(
    server: tuple[str, Script],
) -> None:
    url, script = server
    text = "OpenAI won $200 million."
    evidence = [
        Evidence(source="a.txt", start=0, end=len(text), line_start=1, line_end=1, text=text)
    ]
    prompt = Generator(llm(url), PROMPT).render("How much did OpenAI win?", evidence)
    assert llm(url).invoke(prompt, stop=STOP) == "ok"
    system, *examples, user = script.requests[0]["messages"]
    assert system["role"] == "system"
    assert system["content"].startswith("You answer questions about a text, using only that")
    assert system["content"].endswith("reply NOT FOUND.")
    assert examples  # the worked examples, as the turns of a conversation before the question
    assert [m["role"] for m in examples] == ["user", "assistant"] * (len(examples) // 2)
    assert user == {
        "role": "user",
        "content": "Text:\nOpenAI won $200 million.\n\nQuestion: How much did OpenAI win?",
    }
    assert script.requests[0]["stop"] == STOP


def test_completions_get_the_prompt_as_it_is(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers.append((200, {"choices": [{"index": 0, "text": " ok", "logprobs": None}]}))
    prompt = "<|im_start|>user\nQuestion?<|im_end|>\n<|im_start|>assistant\n"
    assert llm(url, api="completions").invoke(prompt) == " ok"
    assert script.requests[0]["prompt"] == prompt
    assert "messages" not in script.requests[0]


@pytest.mark.parametrize(
    ("prompt", "messages"),
    [
        ("Question?", [{"role": "user", "content": "Question?"}]),
        (
            "<|im_start|>user\nQuestion?<|im_end|>\n<|im_start|>assistant\n",
            [{"role": "user", "content": "Question?"}],
        ),
        (
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nAnd?<|im_end|>\n",
            [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
                {"role": "user", "content": "And?"},
            ],
        ),
    ],
)
def test_chat_messages_are_the_prompts_turns(prompt: str, messages: list[dict[str, str]]) -> None:
    assert chat_messages(prompt) == messages


def test_stream(server: tuple[str, Script]) -> None:
    url, script = server
    events = [
        {
            "id": "x",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": piece},
                    "logprobs": {"content": [{"token": piece, "logprob": -1.0, "bytes": None}]},
                    "finish_reason": None,
                }
            ],
        }
        for piece in ["$200", " million"]
    ]
    script.answers.append((0, events))
    assert list(llm(url).stream("Question?")) == ["$200", " million"]
    assert script.requests[0]["stream"] is True


def test_cli_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI turns an unreachable server into one line and exit 1 (the index is built
    first, so the real embedder runs; the LLM is what fails)."""
    url = f"http://127.0.0.1:{free_port()}/v1"
    code = run(["ask", "How much is the contract worth?", "--llm-url", url])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.splitlines()[-1].startswith(f"error: cannot reach the LLM server at {url}")
    assert "Traceback" not in captured.err


def vectors(*rows: list[float]) -> dict[str, Any]:
    data = [{"object": "embedding", "index": i, "embedding": row} for i, row in enumerate(rows)]
    return {"object": "list", "model": "m", "data": data, "usage": {}}


def embedder(url: str, **options: Any) -> ServerEmbeddings:
    given = {"timeout": 60.0, "retries": 0, **options}
    return ServerEmbeddings(base_url=url, model="m", api_key=SecretStr(KEY), **given)


def test_embeddings_in_batches_made_unit_length(server: tuple[str, Script]) -> None:
    url, script = server
    first = vectors(*[[0.0, 1.0]] * (BATCH - 1), [6.0, 8.0])
    first["data"].reverse()  # a server may answer out of order: ``index`` says where
    script.answers += [(200, first), (200, vectors([0.0, -2.0]))]
    got = np.array(embedder(url).embed_documents([f"text {i}" for i in range(BATCH + 1)]))
    assert np.allclose(got, [[0.0, 1.0]] * (BATCH - 1) + [[0.6, 0.8], [0.0, -1.0]])
    assert [len(r["input"]) for r in script.requests] == [BATCH, 1]
    assert script.requests[0]["model"] == "m"
    assert script.headers[0]["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (401, {"error": {"message": KEY}}, "refused the API key (HTTP 401); set QA_EMBED_API_KEY"),
        (404, {"error": {"message": "no"}}, "has no model 'm' (HTTP 404)"),
        (500, {"error": {"message": "out of memory"}}, "answered HTTP 500: out of memory"),
        (200, vectors([1.0]), "sent 1 vectors for 2 texts"),
        (200, {"data": [{"index": 0, "embedding": "x"}] * 2}, "sent a malformed response"),
    ],
)
def test_embeddings_server_failures_are_one_line(
    server: tuple[str, Script], status: int, body: Any, said: str
) -> None:
    url, script = server
    script.answers.append((status, body))
    with pytest.raises(ModelError) as caught:
        embedder(url).embed_documents(["one", "two"])
    assert str(caught.value).startswith(f"the embeddings server at {url} {said}")
    assert KEY not in str(caught.value)


def test_index_with_an_unreachable_embeddings_server_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    code = run(["index", "--embed-url", url])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith(f"error: cannot reach the embeddings server at {url} (")
    assert len(captured.err.splitlines()) == 1
