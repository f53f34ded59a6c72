# Two entry points for a fresh machine: `make demo` and `make test`.
# Both bootstrap .venv from nothing (Python >= 3.11, PyPI only).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv bench mutate clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,mutate]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/jm-multidir demo

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/protocol.py
	$(PY) bench/latency.py
	$(PY) bench/orderbook.py
	$(PY) bench/scale.py

# Mutation score per module of actors/core/ and protocol/ against each module's own fast
# tests (docs/testing.md). Not part of `test`: about 10-15 min on 2 cores; each module is
# capped at MUTATE_BUDGET seconds and fails the target below 95%.
MUTATE_BUDGET ?= 600
mutate: $(STAMP)
	$(PY) tools/mutation_report.py --budget $(MUTATE_BUDGET) --survivors

clean:
	rm -rf $(VENV) build mutants *.egg-info
