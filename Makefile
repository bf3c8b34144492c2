# The two commands of the README, `make test` and `make book`, plus `make check-book`.
# Each creates the virtual environment on first use: torch==2.13.0 goes in first, then
# this package with its test and book extras.
#
# torch comes from TORCH_INDEX. By default (TORCH_INDEX=auto) that is PyTorch's CPU
# index when it answers within 5 s, so no multi-GB CUDA build is pulled in, and the
# plain package index (pip's own configuration) where it does not. Choose any other
# index, e.g. a CUDA build, with
#     rm -rf .venv && make test TORCH_INDEX=https://download.pytorch.org/whl/cu128
# (TORCH_INDEX=default forces the plain package index.)
VENV ?= .venv
PYTHON ?= python3.11
SCALE ?= quick
TORCH_INDEX ?= auto
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HTML := _build/html
SCREENSHOTS := _build/screenshots

.PHONY: install test book check-book benchmark clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	@index="$(TORCH_INDEX)"; \
	if [ "$$index" = auto ]; then \
	  if $(PY) -c "import urllib.request; urllib.request.urlopen('$(TORCH_CPU_INDEX)/torch/', timeout=5)" 2>/dev/null; \
	  then index="$(TORCH_CPU_INDEX)"; \
	  else echo "PyTorch's CPU index $(TORCH_CPU_INDEX) cannot be reached: using the plain package index"; index=default; fi; \
	fi; \
	if [ "$$index" = default ]; then \
	  echo "installing torch==2.13.0 from the plain package index"; \
	  $(PY) -m pip install --quiet torch==2.13.0; \
	else \
	  echo "installing torch==2.13.0 from $$index"; \
	  $(PY) -m pip install --quiet --index-url "$$index" torch==2.13.0 || { \
	    [ "$(TORCH_INDEX)" = auto ] && echo "that failed: using the plain package index" && \
	    $(PY) -m pip install --quiet torch==2.13.0; }; \
	fi
	@$(PY) -W ignore -c "import torch; print('torch', torch.__version__, '(CUDA ' + torch.version.cuda + ')' if torch.version.cuda else '(CPU only)')"
	$(PY) -m pip install --quiet -e ".[test,book]"
	touch $(STAMP)

# Only the environment: .venv with torch and this package (then `.venv/bin/ctxlib classify ...`).
install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

book: $(STAMP)
	$(PY) -m ctxlib.book.reproduce --scale $(SCALE)
	$(VENV)/bin/jupyter-book build --warningiserror --nitpick .
	@echo "open $(HTML)/index.html"

# Opens every page of the built book in headless Chromium (Debian's `chromium`): fails on
# a missing image, a broken internal link, a JavaScript error or an error output cell,
# and saves one screenshot per page under _build/screenshots/. Builds the book first
# when _build/html is missing.
check-book: $(STAMP)
	test -f $(HTML)/index.html || $(MAKE) book
	$(PY) -m ctxlib.book.browser $(HTML) --screenshots $(SCREENSHOTS)

benchmark: $(STAMP)
	$(PY) benchmarks/zernike_throughput.py
	$(PY) benchmarks/dataset_speed.py
	$(PY) benchmarks/simulation_fidelity.py
	$(PY) benchmarks/training_throughput.py
	$(PY) benchmarks/classify_speed.py

clean:
	rm -rf _build book/notebooks
