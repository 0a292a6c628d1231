# Every target bootstraps its own environment: only python3 and make are needed.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
VENV := .venv
RUN := $(UV) run --frozen --no-sync
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
# Bytecode is compiled when packages are installed, and written for our own modules on first
# import, even where the environment says PYTHONDONTWRITEBYTECODE: without it every process the
# tests and benchmarks start (each server, each admin command) compiles all it imports again,
# about twice the CPU of a server's start.
export UV_COMPILE_BYTECODE := 1
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test lint unasync bench bench-quick sync clean

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet uv

$(VENV)/.synced: uv.lock pyproject.toml packages/assured/pyproject.toml packages/assured-server/pyproject.toml packages/assured-testing/pyproject.toml | $(UV)
	$(UV) sync --frozen --all-packages --all-extras
	touch $@

sync: $(VENV)/.synced

# make run PORT=9000 serves on another port (ASSURED_PORT works too).
run: sync
	$(RUN) assured-server serve --demo $(if $(PORT),--port $(PORT))

# Two parts: most tests on TEST_WORKERS processes (pytest-xdist, a whole file per process: a
# module's server starts once; the session's servers of each deployment stay up in each
# process, see `Deployments` in the tests' conftest.py), then the tests marked `serial` (they
# measure time or flood the machine) alone. A part that selects nothing (exit 5, e.g. with
# PYTEST_ARGS) is no failure.
TEST_WORKERS ?= 2
test: sync
	$(RUN) pytest -n $(TEST_WORKERS) --dist loadfile -m "not serial" $(PYTEST_ARGS); \
	    rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ] || exit $$rc
	$(RUN) pytest -m serial $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ]

lint: sync
	$(RUN) ruff format --check .
	$(RUN) ruff check .
	$(RUN) mypy packages/assured-server/src packages/assured-testing/src packages/assured/src packages/assured/scripts bench
	$(RUN) lint-imports --no-logo
	$(RUN) python packages/assured/scripts/unasync.py --check

# The SDK's sync modules are generated from its async ones: run this after changing one.
unasync: sync
	$(RUN) python packages/assured/scripts/unasync.py

bench: sync
	$(RUN) python -m bench $(BENCH_ARGS)

bench-quick: sync
	$(RUN) python -m bench --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
