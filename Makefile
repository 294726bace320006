# Two entry points: `make demo` (the main job) and `make test` (the whole suite).
# Each creates .venv and installs the project on first use; nothing else is needed first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m invekto_integrations.demo

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples tools
	$(BIN)/mypy --strict src
	$(BIN)/mypy --strict examples tests/typing
	$(BIN)/python tools/check_doc_blocks.py
	$(BIN)/lint-imports
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples tools
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy --strict src
	$(BIN)/mypy --strict examples tests/typing
	$(BIN)/python tools/check_doc_blocks.py

unit: $(STAMP)
	$(BIN)/pytest -q -m "not loopback"

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
