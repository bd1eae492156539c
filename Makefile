# numperf: two commands do everything on a fresh machine.
#   make run    set up, run the default sweep, build tables, figures and the HTML report
#   make test   set up (venv, Debian BLAS libraries) and run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/config.yaml
CORES ?= all
SNAKEMAKE := $(BIN)/snakemake --configfile $(CONFIG)

.PHONY: run test setup backends sweep report figures backends-run stability lint clean-results

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[peers,dev]"
	touch $@

# Debian's numpy + OpenBLAS/BLIS/netlib/ATLAS for the backend axis (root; skipped with a note otherwise).
backends:
	bash .ci/install-backends.sh

run: setup sweep report

sweep: setup
	$(SNAKEMAKE) --cores $(CORES)

report: setup
	$(SNAKEMAKE) --report results/report.html
	@echo "report: $(CURDIR)/results/report.html"

# Rebuild tables, figures and report from the records under results/ only (never runs a case),
# e.g. after copying another host's results/<host_id>/ folder here.
figures: setup
	$(SNAKEMAKE) --cores $(CORES) --config stored_only=True --forcerun aggregate
	$(SNAKEMAKE) --config stored_only=True --report results/report.html
	@echo "report: $(CURDIR)/results/report.html"

# The backend comparison (wheel, Debian OpenBLAS, BLIS, netlib, ATLAS).
backends-run: setup backends
	$(MAKE) run CONFIG=config/backends.yaml

test: setup backends
	$(BIN)/python -m pytest

# The A/A check: config/stability.yaml twice under two host labels, compared (false-difference
# rate and the smallest effect this host resolves); results in results/stability/.
stability: setup
	$(BIN)/numperf stability --config config/stability.yaml --workdir results/stability

lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint --configfile $(CONFIG)
