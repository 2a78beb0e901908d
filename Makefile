# The only commands anyone needs. Each sets up .venv on a fresh machine by itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export OPENBLAS_NUM_THREADS ?= 2
export OMP_NUM_THREADS ?= 2

.PHONY: demo test lint format bench clean sysdeps
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[train]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

# The main job: train an MLP on the bundled digits (then `glassgrad demo` shows the worked examples).
demo: $(VENV)/.installed
	$(BIN)/glassgrad train

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# System programs the graph tools are tested with: Graphviz (SVG/PNG) and headless Chromium.
sysdeps:
	@command -v dot >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 || \
		($(SUDO) apt-get update -qq && $(APT_INSTALL) graphviz chromium >/dev/null)

test: lint sysdeps  # one BLAS thread: steady timings when the machine is shared
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
