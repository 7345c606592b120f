# The two commands: `make run` serves Cutout on the embedded defaults, `make test` runs the suite.
VENV   ?= .venv
PYTHON ?= $(shell command -v python3.11 || command -v python3)
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check -q

.PHONY: run test bench install install-test install-bench migrate clean

run: install
	$(VENV)/bin/cutout serve

test: install-test
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest

# Not part of `make test`: minutes of load, and rembg installed into bench/.venv-rembg on first use.
bench: install-bench
	$(PY) -m bench $(BENCH_ARGS)

migrate: install
	$(VENV)/bin/cutout migrate

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-bench: $(VENV)/.installed-bench

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e ".[test]"
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed
	$(PIP) -e ".[bench]"
	touch $@

clean:
	rm -rf $(VENV) var .pytest_cache
