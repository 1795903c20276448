# gridgov: `make demo` starts the demo server, `make test` runs the whole suite.
# Both install what is missing first (system packages, the .venv, npm assets), idempotently.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint typecheck pytest system venv assets bench clean-db

demo: system venv assets
	$(BIN)/gridgov demo --host $(HOST) --port $(PORT)

test: system venv assets lint typecheck pytest

system:
	@bash scripts/setup-system.sh

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

assets:
	@if [ -f package.json ]; then \
	  if [ ! -d node_modules ] || [ package.json -nt node_modules ]; then npm install --no-audit --no-fund --silent && touch node_modules; fi; \
	fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest

bench: venv
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/assign.py
	$(BIN)/python bench/assign_http.py
	$(BIN)/python bench/qr.py
	$(BIN)/python bench/analytics.py
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/tiles.py
	$(BIN)/python bench/replica_reads.py

clean-db:
	-$(BIN)/gridgov db stop
	rm -rf .gridgov
