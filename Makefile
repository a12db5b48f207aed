# Two entry points: `make chat` and `make test` (and `make bench`, see bench/run.py). Both build .venv/ from the
# pinned requirements.lock first (once; again only when the lock changes).
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup chat test check bench reader

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

chat: setup
	$(BIN)/qa chat

check: setup
	$(BIN)/ruff check qa tests bench training
	$(BIN)/ruff format --check qa tests bench training
	$(BIN)/mypy

test: check
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/run.py --out bench/results.json

# Rebuild the shipped reader from ../shared/data/squad-train (docs/models.md, "The reader"):
# PRESET=cpu runs two stages, about 55 + 50 minutes on 2 cores; PRESET=full is for an accelerator.
PRESET ?= cpu
reader: setup
	$(BIN)/python training/train_reader.py --preset $(PRESET) --data ../shared/data/squad-train --out build/reader-$(PRESET)
ifeq ($(PRESET),cpu)
	$(BIN)/python training/train_reader.py --preset cpu-more --init build/reader-cpu --data ../shared/data/squad-train --out build/reader-cpu-more
	$(BIN)/python training/export_reader.py build/reader-cpu-more --out qa/weights/reader
else
	$(BIN)/python training/export_reader.py build/reader-$(PRESET) --out qa/weights/reader
endif
	$(BIN)/python training/evaluate_reader.py qa/weights/reader
