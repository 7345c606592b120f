# The two commands: `make run` serves Cutout on the embedded defaults, `make test` runs the suite.
VENV   ?= .venv
PYTHON ?= $(shell command -v python3.11 || command -v python3)
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check -q
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test bench install install-test install-bench migrate clean site chromium

run: install site
	$(VENV)/bin/cutout serve

test: install-test chromium site
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest

# Not part of `make test`: minutes of load, and rembg installed into bench/.venv-rembg on first use.
bench: install-bench
	$(PY) -m bench $(BENCH_ARGS)

migrate: install
	$(VENV)/bin/cutout migrate

# The pages at /: Pelican writes them to CUTOUT_SITE_DIR (default build/site), with canonical
# URLs on CUTOUT_PUBLIC_URL; both are read from the environment, as the server reads them.
site: $(VENV)/.installed-site
	$(VENV)/bin/pelican --fatal warnings -s pelican.conf.py

# The browser tests drive Debian's Chromium (never a browser downloaded by Playwright).
chromium:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; }

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-bench: $(VENV)/.installed-bench

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) -e .
	touch $@

$(VENV)/.installed-site: $(VENV)/.installed
	$(PIP) -e ".[site]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e ".[test]"
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed
	$(PIP) -e ".[bench]"
	touch $@

clean:
	rm -rf $(VENV) var .pytest_cache
