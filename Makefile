# Two entry points: `make chat` and `make test` (and `make bench`, see bench/run.py). Both build .venv/ from the
# pinned requirements.lock first (once; again only when the lock changes).
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup chat test check bench

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

chat: setup
	$(BIN)/qa chat

check: setup
	$(BIN)/ruff check qa tests bench
	$(BIN)/ruff format --check qa tests bench
	$(BIN)/mypy

test: check
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/run.py --out bench/results.json
