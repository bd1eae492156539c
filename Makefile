# numperf: two commands do everything on a fresh machine.
#   make run    set up, run the default sweep, build tables, figures and the HTML report
#   make test   set up (venv, Debian BLAS libraries, chromium) and run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/config.yaml
CORES ?= all
# No per-job detail block or `reason:` line (a job's params make it ~12,000 characters); failures
# still print the exception, the failed command (with its log path) and the exit status.
# `make run SNAKEMAKE_QUIET=` brings the blocks back.
SNAKEMAKE_QUIET ?= --quiet rules
SNAKEMAKE := $(BIN)/snakemake --configfile $(CONFIG) $(SNAKEMAKE_QUIET)
REPORT := --report results/report.html --report-stylesheet workflow/report/style.css
# A lock left by a killed run (no Snakemake alive here) is removed, saying so; a live run's lock stays.
UNLOCK_STALE := $(BIN)/numperf unlock-stale

.PHONY: run test test-quick setup backends browser sweep report figures backends-run stability lint clean-results

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[peers,dev,fast]"
	touch $@

# Debian's numpy + OpenBLAS/BLIS/netlib/ATLAS for the backend axis (root; skipped with a note otherwise).
backends:
	bash .ci/install-backends.sh

# Debian's chromium for the test that opens the report in a real browser (root; skipped with a note otherwise).
browser:
	bash .ci/install-browser.sh

run: setup sweep report

sweep: setup
	$(UNLOCK_STALE)
	$(SNAKEMAKE) --cores $(CORES)

report: setup
	$(SNAKEMAKE) $(REPORT)
	@echo "report: $(CURDIR)/results/report.html"

# Rebuild tables, figures and report from the records under results/ only (never runs a case),
# e.g. after copying another host's results/<host_id>/ folder here.
figures: setup
	$(UNLOCK_STALE)
	$(SNAKEMAKE) --cores $(CORES) --config stored_only=True --forcerun aggregate
	$(SNAKEMAKE) --config stored_only=True $(REPORT)
	@echo "report: $(CURDIR)/results/report.html"

# The backend comparison (wheel, Debian OpenBLAS, BLIS, netlib, ATLAS).
backends-run: setup backends
	$(MAKE) run CONFIG=config/backends.yaml

test: setup backends browser
	$(BIN)/python -m pytest

# The tests not marked slow (no real snakemake, SLURM, browser or Debian BLAS; each under ~2 s):
# meant to stay under two minutes, for the edit-test loop. `make test` (CI) still runs everything.
test-quick: setup
	$(BIN)/python -m pytest -m "not slow"

# The A/A check: config/stability.yaml twice under two host labels, compared (false-difference
# rate and the smallest effect this host resolves); results in results/stability/.
stability: setup
	$(BIN)/numperf stability --config config/stability.yaml --workdir results/stability

lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint --configfile $(CONFIG)

# Remove everything the workflow wrote under results/ (records, tables, figures, report), keeping
# the example figures the README shows, and Snakemake's own state.
clean-results:
	find results -mindepth 1 -maxdepth 1 ! -name example -exec rm -rf {} +
	rm -rf .snakemake
