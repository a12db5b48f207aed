"""Every test runs in its own folder, with its own store and a copy of the seeds."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa import api

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temp working folder holding seeds/, with the store and the user config and
    data folders in it, no QA_* variables from the outside, and no resident process for `qa ask`."""
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("QA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("QA_STORE", str(tmp_path / "index"))
    monkeypatch.setenv("QA_RESIDENT", "false")  # test_resident.py turns it on
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # no calibrated fits
    monkeypatch.setattr(api, "pipelines", api.Pipelines())
    yield tmp_path
