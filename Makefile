# The two commands of the README. Both create the virtual environment on first use:
# torch==2.13.0 goes in first (a CPU build; see README), then this package with its
# test and book extras.
VENV ?= .venv
PYTHON ?= python3.11
SCALE ?= quick
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test book benchmark clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test,book]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

book: $(STAMP)
	$(PY) -m ctxlib.book.reproduce --scale $(SCALE)
	$(VENV)/bin/jupyter-book build --warningiserror --nitpick .
	@echo "open _build/html/index.html"

benchmark: $(STAMP)
	$(PY) benchmarks/zernike_throughput.py
	$(PY) benchmarks/dataset_speed.py
	$(PY) benchmarks/simulation_fidelity.py
	$(PY) benchmarks/training_throughput.py
	$(PY) benchmarks/classify_speed.py

clean:
	rm -rf _build book/notebooks
