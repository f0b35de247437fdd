# Two commands on a fresh machine with only Python >= 3.11 and git:
#   make demo   install everything, then walk through the inventory on the embedded SQLite default
#   make test   lint, type-check and run the whole test suite (what CI runs)

PYTHON ?= python3
POETRY_VERSION ?= 2.5.1
# Use an existing Poetry if there is one; otherwise bootstrap a private copy under .tools/.
POETRY ?= $(or $(shell command -v poetry 2>/dev/null),$(CURDIR)/.tools/poetry/bin/poetry)
VENV_BIN := $(CURDIR)/.venv/bin

.PHONY: install demo test lint typecheck clean bench

$(CURDIR)/.tools/poetry/bin/poetry:
	$(PYTHON) -m venv $(CURDIR)/.tools/poetry
	$(CURDIR)/.tools/poetry/bin/pip install --quiet "poetry==$(POETRY_VERSION)"

# --compile writes bytecode now, even where PYTHONDONTWRITEBYTECODE is set, so later starts
# of `assetctl` do not recompile its dependencies (about 0.6 s each).
# --all-extras: development and CI get the optional features too (the `ocr` extra's real model
# runs in the tests); users choose theirs with `pip install 'assetctl[ocr]'`.
install: $(POETRY)
	POETRY_VIRTUALENVS_IN_PROJECT=true $(POETRY) env use --quiet $(PYTHON)
	POETRY_VIRTUALENVS_IN_PROJECT=true $(POETRY) install --quiet --compile --all-extras

demo: install
	PATH="$(VENV_BIN):$$PATH" ./scripts/demo.sh

lint: install
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/ruff format --check .

typecheck: install
	$(VENV_BIN)/mypy

test: lint typecheck
	$(VENV_BIN)/pytest --cov --cov-report=term-missing:skip-covered

bench: install
	$(VENV_BIN)/python benchmarks/run_all.py

clean:
	rm -rf .venv .tools .demo .pytest_cache .mypy_cache .ruff_cache .coverage
