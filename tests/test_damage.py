"""A damaged store is detected and rebuilt from the documents by the next command.

Real store and embedder, scripted generator; each case damages one part of an
indexed store, then asks through the CLI (in-process).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable

import pytest
from chromadb.api.shared_system_client import SharedSystemClient
from typer.testing import CliRunner

from qa import api
from qa.cli.main import app
from qa.index.store import Store, corpus_name
from qa.pipeline import store_for
from qa.settings import Settings
from tests.fakes import ScriptedLLM

QUESTION = "How much is OpenAI's new Pentagon contract worth?"
runner = CliRunner()


@pytest.fixture(autouse=True)
def llm(monkeypatch: pytest.MonkeyPatch) -> ScriptedLLM:
    scripted = ScriptedLLM(reply=" $200 million.")
    monkeypatch.setattr("qa.pipeline.LlamaCppLLM", lambda **_: scripted)
    return scripted


@pytest.fixture
def store() -> Store:
    assert runner.invoke(app, ["index"]).exit_code == 0
    return store_for(Settings())


def as_a_new_process() -> None:
    """Forget the open pipelines and Chroma clients, as the next command would."""
    api.pipelines.clear()
    SharedSystemClient.clear_system_cache()


def set_manifest(field: str, value: object) -> Callable[[Store], None]:
    def damage(store: Store) -> None:
        raw = json.loads(store.manifest_path.read_text(encoding="utf-8"))
        raw[field] = value
        store.manifest_path.write_text(json.dumps(raw), encoding="utf-8")

    return damage


DAMAGE: dict[str, tuple[Callable[[Store], None], str]] = {
    "garbage manifest": (
        lambda s: s.manifest_path.write_bytes(b"\x00garbage"),
        "unreadable manifest",
    ),
    "garbage chunk list": (
        lambda s: s.chunks_path.write_text('{"source": 1}\nnot json\n', encoding="utf-8"),
        "unreadable chunk list",
    ),
    "missing chunk list": (lambda s: s.chunks_path.unlink(), "the chunk list is missing"),
    "garbage Chroma database": (
        lambda s: (s.root / "chroma" / "chroma.sqlite3").write_bytes(b"not a database" * 100),
        "Chroma cannot",
    ),
    "missing Chroma folder": (
        lambda s: shutil.rmtree(s.root / "chroma"),
        "chunk vectors are missing",
    ),
    "vectors of the model qa shipped before": (
        set_manifest("embedding_model", "all-MiniLM-L6-v2"),
        "its vectors are by all-MiniLM-L6-v2, replaced by all-MiniLM-L6-v2 int8, 7-bit weights",
    ),
    "newer store format": (set_manifest("version", 99), "another qa version"),
}


@pytest.mark.parametrize("kind", DAMAGE)
def test_ask_rebuilds_a_damaged_store_and_answers(store: Store, kind: str) -> None:
    damage, why = DAMAGE[kind]
    damage(store)
    as_a_new_process()
    result = runner.invoke(app, ["ask", QUESTION])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("$200 million [1]\n")
    first, *_ = result.stderr.splitlines()
    assert first.startswith(f"warning: store {store.root} is damaged: ")
    assert why in first
    assert first.endswith("; rebuilding it from the documents")
    assert "Traceback" not in result.stderr
    again = runner.invoke(app, ["ask", QUESTION])
    assert (again.exit_code, again.stderr) == (0, "")


@pytest.mark.parametrize("kind", DAMAGE)
def test_index_rebuilds_a_damaged_store(store: Store, kind: str) -> None:
    damage, why = DAMAGE[kind]
    damage(store)
    as_a_new_process()
    result = runner.invoke(app, ["index"])
    assert result.exit_code == 0, result.stderr
    assert why in result.stderr
    assert result.stdout.startswith("Indexed 1 files: 1 added")


def test_garbage_lexical_index_is_rebuilt_silently(store: Store) -> None:
    [folder] = store.folder.glob("lexical-*")
    for path in folder.iterdir():
        path.write_bytes(b"garbage")
    result = runner.invoke(app, ["ask", QUESTION])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.startswith("$200 million [1]\n")


def test_unreadable_chroma_files_are_set_aside_and_each_corpus_rebuilt(store: Store) -> None:
    mine = store.root.parent / "mine"
    mine.mkdir()
    (mine / "note.txt").write_text("The office cat is called Biscuit.\n", encoding="utf-8")
    assert runner.invoke(app, ["index", "--docs", "mine"]).exit_code == 0
    garbage = b"not a database" * 100
    (store.root / "chroma" / "chroma.sqlite3").write_bytes(garbage)
    as_a_new_process()

    result = runner.invoke(app, ["ask", QUESTION])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("$200 million [1]\n")
    [aside] = store.root.glob("chroma.damaged-*")
    assert (aside / "chroma.sqlite3").read_bytes() == garbage  # moved, not deleted
    said = result.stderr.splitlines()[1]
    assert said == (
        f"warning: Chroma's files in {store.root / 'chroma'} cannot be opened; moved them to "
        f"{aside.name} (delete it when done); rebuilding corpus {store.name} now; the other "
        f"corpora ({corpus_name([mine])}) when next used"
    )

    as_a_new_process()
    # the scripted LLM only ever says "$200 million": the reader alone answers about the cat
    cat = ["ask", "--docs", "mine", "--reader", "extractive", "What is the office cat called?"]
    other = runner.invoke(app, cat)
    assert other.exit_code == 0, other.stderr
    assert "chunk vectors are missing; rebuilding it from the documents" in other.stderr
    assert "Biscuit" in other.stdout
    again = runner.invoke(app, ["ask", QUESTION])
    assert (again.exit_code, again.stderr) == (0, "")
