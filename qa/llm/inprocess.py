"""The packaged instruction-tuned model (``qa.llm.model_files``), run in-process by llama.cpp
(xllamacpp), as a LangChain ``LLM`` that can stream (``qa.llm.completion``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import socket
import threading
import urllib.request
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from qa.errors import ModelError
from qa.llm.completion import TOP_ALTERNATIVES, Alternatives, Completion, CompletionLLM
from qa.llm.model_files import cache_dir, model_path
from qa.llm.template import template_for

CONTEXT_TOKENS = 2048  # a corpus read whole (under 6 kB: about 1,500 tokens) and the answer fit
# Four slots, each with its own cached prompt: answers in the first, follow-up rewrites in
# the second (``qa.answer.followup``), yes/no verdicts in the third (``qa.answer.yes_no``),
# support checks in the fourth (``qa.answer.support``), so none evicts another's prefix.
ANSWER_SLOT, REWRITE_SLOT, JUDGE_SLOT, CHECK_SLOT = 0, 1, 2, 3
SNAPSHOTS = 8  # prompt snapshots kept on disk, the latest used (about 28 kB a token each)
# Only our own server on 127.0.0.1 is asked, never through a proxy the environment names.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def snapshot_dir() -> Path:
    """Where a slot's reading of a long shared prompt is kept between processes."""
    return cache_dir() / "prompts"


def _params(path: str, threads: int) -> Any:
    try:
        import xllamacpp
    except ImportError as exc:
        raise ModelError("llama.cpp runtime missing: pip install xllamacpp") from exc
    params = xllamacpp.CommonParams()
    params.model.path = path
    params.n_parallel = 4
    params.n_ctx = CONTEXT_TOKENS * params.n_parallel  # shared out: CONTEXT_TOKENS a slot
    params.verbosity = -1
    params.warmup = False
    params.fit_params = False  # a trial load to size the context: doubles load time (1.3 s)
    # The slot's own cache gives the prefix reuse; the server's extra prompt cache
    # (8 GiB by default) and context checkpoints would only grow in a long chat.
    params.cache_ram_mib = 0
    params.n_ctx_checkpoints = 0
    # Read the file instead of mapping it: llama.cpp repacks the weights for the CPU's
    # vector kernels into memory of its own, so a mapping would hold every weight twice
    # (2.1 GB peak in `qa chat` against 1.5 GB read).
    params.load_mode = xllamacpp.llama_load_mode.LLAMA_LOAD_MODE_NONE
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    # A slot's cache can be saved to and put back from this folder (``LlamaCppLLM.recall``).
    params.endpoint_slots = True
    params.slot_save_path = str(snapshot_dir()) + os.sep  # llama.cpp appends the name as is
    return params


def _start(params: Any) -> Any:
    import xllamacpp

    try:
        return xllamacpp.Server(params)
    except Exception as exc:
        raise ModelError(f"cannot load {params.model.path}: {exc}") from exc


_loading = threading.Lock()
# Each slot's last prompt, which its cache begins with, by server (model, threads) and slot.
_held: dict[tuple[str, int, int], str] = {}


@cache
def _server(path: str, threads: int) -> Any:
    return _start(_params(path, threads))


def serve(host: str, port: int, threads: int) -> str:
    """Serve the packaged model over OpenAI-compatible HTTP (llama.cpp's server, in
    this process, until it exits); the base URL for ``--llm-url``."""
    with socket.socket() as probe:  # llama.cpp only says "Failed to init server"
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ModelError(f"cannot serve on {host}:{port}: {exc.strerror}") from exc
    params = _params(str(model_path()), threads)
    params.hostnames = [host]
    params.port = port
    params.n_parallel = 2  # two requests at once: one user's answer need not wait for another's
    params.n_ctx = CONTEXT_TOKENS * params.n_parallel  # the slots share the context
    server = _start(params)
    address = str(server.listening_address)
    if not address.startswith("http"):
        raise ModelError(f"cannot serve on {host}:{port}: {address or 'the port is taken?'}")
    _serving.append(server)
    return address.rstrip("/") + "/v1"


_serving: list[Any] = []  # keeps the HTTP server alive for as long as the process runs


class LlamaCppLLM(CompletionLLM):
    """Greedy completion from a local GGUF model."""

    model: str = ""  # the packaged model unless a GGUF path is given
    threads: int
    slot: int = ANSWER_SLOT
    # A model whose chat template is not ChatML: that template (qa.llm.template) and the
    # text of its BOS and EOS tokens; empty for ChatML, in which the prompts are written.
    template: str = ""
    bos: str = ""
    eos: str = ""

    def native(self, prompt: str) -> str:
        """The prompt as this model reads it: in its own chat template where it has one
        other than ChatML."""
        if not self.template:
            return prompt
        return template_for(self.template, self.bos, self.eos).render(prompt)

    @property
    def _llm_type(self) -> str:
        return "xllamacpp"

    def _request(self, prompt: str, stop: list[str] | None, stream: bool) -> dict[str, Any]:
        prompt = self.native(prompt)
        request: dict[str, Any] = {
            "prompt": prompt,
            "max_tokens": self.max_tokens,
            "temperature": 0.0,
            "stop": stop or [],
            "stream": stream,
            "n_probs": TOP_ALTERNATIVES,
            "id_slot": self.slot,
        }
        _held[self.slot_key] = prompt
        return request

    def _backend(self) -> Any:
        with _loading:  # a read ahead and a question may ask for it at once
            return _server(self.model or str(model_path()), self.threads)

    def recall(self, prompt: str) -> bool:
        """Put back this slot's reading of the prompt, saved by ``remember`` in this or an
        earlier process (milliseconds, where reading it takes seconds); whether it was."""
        prompt = self.native(prompt)
        path = self._snapshot(prompt)
        if not path.is_file():
            return False
        if not self._slot_action("restore", path.name):
            _held.pop(self.slot_key, None)  # what the slot holds now is not known
            with contextlib.suppress(OSError):  # cut short or from another build
                path.unlink(missing_ok=True)
            return False
        with contextlib.suppress(OSError):  # the latest used are the ones kept
            path.touch()
        _held[self.slot_key] = prompt
        return True

    def holds(self, prompt: str) -> bool:
        """Whether the slot's cache already begins with the prompt (its last request
        or reading put back did), so reading it would only cut the cache back to it."""
        return _held.get(self.slot_key, "").startswith(self.native(prompt))

    def remember(self, prompt: str) -> None:
        """Save the slot's reading of the prompt it has just read, for ``recall``; only the
        latest SNAPSHOTS are kept. A folder that cannot be written only means the prompt
        is read again next time."""
        folder = snapshot_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not self._slot_action("save", self._snapshot(self.native(prompt)).name):
                return
            kept = sorted(folder.glob("*.bin"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in kept[SNAPSHOTS:]:
                old.unlink(missing_ok=True)
        except OSError:  # read-only, full, or another process removed a file meanwhile
            return

    @property
    def slot_key(self) -> tuple[str, int, int]:
        """The slot and its server (model file, threads): copies of a model with other
        options read into the same cache."""
        return (self.model, self.threads, self.slot)

    def _snapshot(self, prompt: str) -> Path:
        """The file for this prompt read by this model file in this slot's context."""
        model = Path(self.model or model_path())
        stat = model.stat()
        key = f"{model.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{CONTEXT_TOKENS}\0{prompt}"
        return snapshot_dir() / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".bin")

    def _slot_action(self, action: str, name: str) -> bool:
        """Save or restore this slot through the in-process server's own endpoint."""
        url = f"{str(self._backend().listening_address).rstrip('/')}/slots/{self.slot}"
        request = urllib.request.Request(
            f"{url}?action={action}",
            data=json.dumps({"filename": name}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with _LOCAL.open(request, timeout=60) as reply:
                return "error" not in json.loads(reply.read())
        except (OSError, ValueError):  # urllib.error.URLError is an OSError
            return False

    def _complete(self, prompt: str, stop: list[str] | None) -> Completion:
        result = self._backend().handle_completions(self._request(prompt, stop, False))
        return _text(result), *_logprobs(result)

    def _tokens(self, prompt: str, stop: list[str] | None) -> Iterator[Completion]:
        """llama.cpp calls back from its own thread; a queue hands the pieces over."""
        backend = self._backend()
        pieces: queue.Queue[Any] = queue.Queue()
        request = self._request(prompt, stop, True)

        def produce() -> None:
            try:
                error = backend.handle_completions(request, pieces.put)
                if isinstance(error, dict) and "error" in error:
                    pieces.put(error)
            except Exception as exc:  # handed to the consumer thread below
                pieces.put(exc)
            pieces.put(None)

        threading.Thread(target=produce, daemon=True).start()
        while (item := pieces.get()) is not None:
            if isinstance(item, Exception):
                raise ModelError(f"generation failed: {item}") from item
            yield _text(item), *_logprobs(item)


def _text(result: Any) -> str:
    if isinstance(result, dict) and "error" in result:
        raise ModelError(f"generation failed: {result['error'].get('message', result['error'])}")
    try:
        return str(result["choices"][0]["text"])
    except (KeyError, IndexError, TypeError) as exc:
        raise ModelError(f"malformed reply from the model: {result!r:.200}") from exc


def _logprobs(result: Any) -> tuple[list[float], list[Alternatives]]:
    """Each token's log-probability and its alternatives (llama.cpp's ``top_logprobs``)."""
    try:
        content = result["choices"][0]["logprobs"]["content"]
        logprobs = [float(t["logprob"]) for t in content]
    except (KeyError, IndexError, TypeError, ValueError):
        return [], []
    try:
        alternatives = [
            {str(a["token"]): float(a["logprob"]) for a in t.get("top_logprobs") or []}
            for t in content
        ]
    except (KeyError, TypeError, ValueError, AttributeError):
        alternatives = []
    return logprobs, alternatives
