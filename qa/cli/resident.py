"""A background process that keeps the models loaded between one-shot ``qa ask`` calls.

A cold ``qa ask`` spends most of its time loading: Python modules, the store, the
reader, the LLM and its first prompt. So the first call answers in-process as always,
then starts ``python -m qa.cli.resident SOCKET`` and hands it its settings; later calls send
the question over that Unix socket and print the Answer it sends back. The process:

- serves one set of settings in one working folder, under one version of qa's code
  and prompts: the socket is named by a hash of all of them, so a changed flag, config,
  folder or upgrade gets a process of its own;
- brings the index up to date before each answer, as an in-process ask does, and
  retires (the caller then answers in-process) when another process has rewritten the
  store since it loaded it: it never answers from documents it no longer has;
- exits after ``resident_idle`` seconds without a question, or on ``qa stop``;
- is never used or started with ``resident = false`` (``QA_RESIDENT=0``,
  ``qa ask --no-resident``).

Messages are JSON lines. The caller sends ``{"question": ...}`` (or ``{"stop": true}``);
the process answers with any ``{"warn": ...}`` and ``{"note": ...}`` lines, then one
``{"answer": ...}``, ``{"error": ...}`` (a QAError's message) or ``{"retire": true}``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pydantic import SecretStr

from qa.errors import QAError
from qa.models import Answer
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.pipeline import Pipeline

PACKAGE = Path(__file__).resolve().parents[1]
WARM_UP = "What are these documents about?"
MAX_SOCKET_PATH = 104  # bytes: Linux allows 108 with the final NUL, macOS 104
STOP_WAIT_S = 10  # a stopped process finishes its answer in flight, then exits
START_WAIT_S = 60  # a caller waits this long at most for a process still loading
Say = Callable[[str], None]


def run_dir() -> Path | None:
    """This user's private folder for the sockets, or None where it cannot be trusted
    (owned by someone else, or open to others) or Unix sockets are missing."""
    if not hasattr(socket, "AF_UNIX") or not hasattr(os, "getuid"):
        return None
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(runtime) / "qa" if runtime else Path(tempfile.gettempdir()) / f"qa-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        found = folder.stat()
    except OSError:
        return None
    private = found.st_uid == os.getuid() and found.st_mode & 0o077 == 0
    return folder if private else None


def values(settings: Settings) -> dict[str, Any]:
    """Every setting as JSON, secrets included: what the process is started with."""
    plain = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        plain[name] = value
    as_json: dict[str, Any] = json.loads(json.dumps(plain, default=str))
    return as_json


def socket_path(settings: Settings) -> Path | None:
    """The socket of the process for these settings, this folder and this code; None
    where the run folder's path is too long for a Unix socket's name."""
    folder = run_dir()
    if folder is None:
        return None
    code = [PACKAGE.rglob("*.py"), (PACKAGE / "weights").rglob("*"), settings.prompts.glob("*")]
    stamps = sorted((str(p), p.stat().st_mtime_ns) for files in code for p in files)
    identity = [values(settings), os.getcwd(), sys.executable, stamps]
    key = hashlib.sha256(json.dumps(identity, default=str).encode()).hexdigest()[:16]
    path = folder / f"{key}.sock"
    return path if len(os.fsencode(path)) < MAX_SOCKET_PATH else None


# -- the caller's side -----------------------------------------------------------


def ask(settings: Settings, question: str, warn: Say, note: Say) -> Answer | None:
    """The resident process's answer, or None when none is up for these settings (or
    it retired, or died meanwhile): then the caller answers in-process."""
    path = socket_path(settings)
    if path is None:
        return None
    wait_for_start(path, note)
    try:
        for message in _exchange(path, {"question": question}):
            if "warn" in message:
                warn(message["warn"])
            elif "note" in message:
                note(message["note"])
            elif "answer" in message:
                return Answer.model_validate(message["answer"])
            elif "error" in message:
                raise QAError(message["error"])
            else:
                return None
    except (OSError, ValueError):
        return None
    return None


def wait_for_start(path: Path, note: Say) -> None:
    """While a process started for these settings lives but does not listen yet (it is
    loading), wait for it, up to START_WAIT_S: answering in-process beside it would load
    and read everything a second time on the same cores (43 s against 14 s here)."""
    deadline = time.monotonic() + START_WAIT_S
    said = False
    while not path.exists() and time.monotonic() < deadline:
        try:
            os.kill(int(path.with_suffix(".starting").read_text()), 0)
        except (OSError, ValueError):
            return  # none was started, or it has exited
        if not said:
            note("waiting for the background process to finish loading")
            said = True
        time.sleep(0.1)


def start(settings: Settings) -> None:
    """Start a resident process for these settings in the background, detached from
    the terminal; one already running (or loading) for them makes the new one exit."""
    path = socket_path(settings)
    if path is None or (path.exists() and _listening(path)):
        return
    with path.with_suffix(".log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "qa.cli.resident", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    path.with_suffix(".starting").write_text(str(process.pid))
    assert process.stdin is not None  # stdin=PIPE
    with process.stdin:
        process.stdin.write(json.dumps(values(settings)).encode())


def stop_all() -> int:
    """Stop every resident process of this user, waiting until each has exited; how many
    there were."""
    from filelock import FileLock, Timeout

    folder = run_dir()
    if folder is None:
        return 0
    stopped = 0
    for path in folder.glob("*.sock"):
        try:
            if not any("stopped" in m for m in _exchange(path, {"stop": True})):
                continue
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # its process is gone
            continue
        stopped += 1
        # the process holds its lock until it ends, after removing its socket
        with contextlib.suppress(Timeout), FileLock(str(path.with_suffix(".lock")), STOP_WAIT_S):
            pass
    return stopped


def _exchange(path: Path, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(path))
        conn.sendall(json.dumps(request).encode() + b"\n")
        with conn.makefile(encoding="utf-8") as replies:
            for line in replies:
                yield json.loads(line)


def _listening(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(path))
    except OSError:
        return False
    return True


# -- the resident process --------------------------------------------------------


class Resident:
    """The loaded pipeline, and the manifest it loaded, to tell other writers' runs."""

    def __init__(self, runner: Pipeline) -> None:
        self.runner = runner
        self.loaded = runner.store.manifest_stamp()

    def handle(self, request: dict[str, Any], send: Callable[[dict[str, Any]], None]) -> bool:
        """Serve one request; False when the process should exit after it."""
        if request.get("stop"):
            send({"stopped": True})
            return False
        try:
            # Another process's index run replaces the manifest (a rebuild also drops
            # the Chroma collection this process holds): check before touching the
            # store, and again after a refresh that may have waited for that run.
            if self.rewritten():
                return self.retire(send)
            report = self.runner.refresh(lambda text: send({"warn": text}))
            if report is not None:
                send({"note": report.summary()})
            if self.rewritten():
                return self.retire(send)
            self.loaded = self.runner.store.manifest_stamp()
            answer = self.runner.ask(str(request["question"]), warn=lambda t: send({"warn": t}))
        except QAError as exc:
            send({"error": str(exc)})
            return True
        send({"answer": answer.model_dump(mode="json")})
        return True

    def rewritten(self) -> bool:
        """Whether the manifest on disk is neither the loaded one nor this process's."""
        store = self.runner.store
        return store.manifest_stamp() not in (self.loaded, store.written)

    @staticmethod
    def retire(send: Callable[[dict[str, Any]], None]) -> bool:
        send({"retire": True})
        return False


def serve(path: Path, settings: Settings) -> None:
    """Load, warm up, then answer on the socket until idle or stopped."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(path.with_suffix(".lock")))
    try:
        lock.acquire(timeout=0)  # held until this process ends
    except Timeout:
        return  # another one serves these settings, or is loading them
    from qa.llm.ahead import AHEAD
    from qa.pipeline import Pipeline

    # The manifest is noted before anything is read, so that an index run by another
    # process during the warm-up retires this one at its first question.
    resident = Resident(Pipeline(settings))
    resident.runner.prepare()  # put back from disk, or read and kept for the next process
    resident.runner.ask(WARM_UP)  # loads the index, the reader, the LLM; a first prompt
    path.unlink(missing_ok=True)  # left by one that was killed
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()
        path.with_suffix(".starting").unlink(missing_ok=True)
        server.settimeout(settings.resident_idle)
        try:
            while _serve_one(server, resident):
                pass
        finally:
            path.unlink(missing_ok=True)
            AHEAD.cancel()


def _serve_one(server: socket.socket, resident: Resident) -> bool:
    try:
        conn, _ = server.accept()
    except TimeoutError:
        return False
    conn.settimeout(None)
    with conn, conn.makefile("rw", encoding="utf-8") as stream:
        line = stream.readline()
        if not line:
            return True

        def send(message: dict[str, Any], stream: IO[str] = stream) -> None:
            stream.write(json.dumps(message) + "\n")
            stream.flush()

        try:
            return resident.handle(json.loads(line), send)
        except OSError:  # the caller went away
            return True
        except Exception:  # a bug: say so in the log, and let the caller answer
            traceback.print_exc()
            send({"retire": True})
            return False


if __name__ == "__main__":
    serve(Path(sys.argv[1]), Settings(**json.loads(sys.stdin.read())))
