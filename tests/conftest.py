"""Every test runs in its own folder, with its own store and a copy of the seeds."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa import api

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temp working folder holding seeds/, with QA_* pointing into it."""
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    for name in ("QA_DOCS", "QA_STORE", "QA_TOP_K", "QA_MIN_COVERAGE", "QA_MIN_SIMILARITY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QA_STORE", str(tmp_path / "index"))
    yield tmp_path
    api._pipelines.clear()
