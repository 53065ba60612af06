# The README's two commands: `make run` (the main job) and `make test`.
# Both set up .venv first if needed: torch's CPU build before the rest, so that
# no dependency pulls the multi-GB CUDA build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0

PEERS := .venv-peers

.PHONY: setup run test lint peers

setup: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

run: setup
	$(BIN)/python -m spacy project run all

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy spacy_spanbert benchmarks

# The span-based peers of benchmarks/ (SpanMarker, GLiNER) in their own environment:
# their dependencies never enter this package's.
peers: $(PEERS)/.installed

$(PEERS)/.installed: setup.cfg benchmarks/peers/requirements.txt
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet --upgrade pip
	$(PEERS)/bin/pip install --quiet "$(TORCH)"
	$(PEERS)/bin/pip install --quiet -e ".[test]" -r benchmarks/peers/requirements.txt
	touch $@
