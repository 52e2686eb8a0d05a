# `make demo` and `make test` are the whole set-up on a fresh machine: each creates .venv
# and installs the pinned dependencies the first time (and again when pyproject.toml changes).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo run lint

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Dibs needs Python 3.11 (set PYTHON=...)"'
	@echo "Creating $(VENV) and installing dependencies (first run only)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

test: $(STAMP)
	$(BIN)/pytest -n 2 -q

demo: $(STAMP)
	$(BIN)/dibs demo

run: $(STAMP)
	$(BIN)/dibs serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
