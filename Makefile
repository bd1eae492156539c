# numperf: two commands do everything on a fresh machine.
#   make run    set up, run the default sweep, build tables, figures and the report
#   make test   set up and run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup backends lint case clean-results

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[peers,dev]"
	touch $@

# Debian BLAS libraries for the backend comparison (needs root; skipped with a note otherwise).
backends:
	bash .ci/install-backends.sh

run: setup
	$(BIN)/numperf run-case --method blocked --n 2000 --d 50 --dtype float64 --threads 1 --repeats 7 \
	  --out results/records/example.json

test: setup backends
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
