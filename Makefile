# Two entry points for a fresh machine: `make demo` and `make test`.
# Both bootstrap .venv from nothing (Python >= 3.11, PyPI only).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
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

clean:
	rm -rf $(VENV) build *.egg-info
