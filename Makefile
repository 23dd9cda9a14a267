# LeadApp — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
VENDOR := leadapp/static/vendor
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test test-slow install install-dev assets lint format check-chromium bench clean help bytecode

help:
	@echo "make run    start LeadApp on http://127.0.0.1:5000 (SQLite, embedded Redis, mail sink)"
	@echo "make test   install what the tests need, then ruff and pytest (slow tests left out)"
	@echo "make test-slow  only the slow tests (pytest -m slow)"
	@echo "make bench  run the benchmarks in bench/"

# uv installs the pinned requirements from its cache in seconds (pip takes minutes on a fresh
# clone, which CI is); pip stays the fallback where uv cannot be had.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==0.13.9 || true

# Bytecode is compiled at install (uv does not by default; pip does): with
# PYTHONDONTWRITEBYTECODE set, as on CI, every interpreter the app or the tests start would
# otherwise compile pandas, SQLAlchemy and Flask from source again (about 7 s of CPU each).
PIP_INSTALL = if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install --python $(BIN)/python --quiet \
	--compile-bytecode -r $(1) \
	|| $(BIN)/pip install --quiet -r $(1); else $(BIN)/pip install --quiet -r $(1); fi

# Stamp files make a second `make run` quick: pip and npm run only when their inputs change.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(call PIP_INSTALL,requirements.txt)
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(call PIP_INSTALL,requirements-dev.txt)
	touch $(VENV)/.runtime $@

$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)/htmx $(VENDOR)/bootstrap $(VENDOR)/chartjs
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/bootstrap/dist/css/bootstrap.min.css $(VENDOR)/bootstrap/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js $(VENDOR)/bootstrap/
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chartjs/
	touch $@

install: $(VENV)/.runtime assets
install-dev: $(VENV)/.dev assets
assets: $(VENDOR)/.installed

# LeadApp's own bytecode, for the same reason (quick when up to date; written even under
# PYTHONDONTWRITEBYTECODE; __pycache__ is ignored by git).
bytecode:
	@$(BIN)/python -m compileall -q -j 0 leadapp tests bench wsgi.py >/dev/null

run: install bytecode
	$(FLASK) db upgrade
	$(FLASK) bootstrap
	$(FLASK) run-all

# Browser tests need Debian's Chromium; as root we install it, otherwise they skip and say why.
check-chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium for the browser tests (apt-get)"; \
	    (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	     (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)) || \
	    echo "Could not install chromium: browser tests will be skipped."; \
	  else \
	    echo "No $(CHROMIUM) and not root: browser tests will be skipped (apt-get install chromium)."; \
	  fi; \
	fi

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# pytest keeps its assertion-rewritten test modules only where bytecode may be written:
# under PYTHONDONTWRITEBYTECODE every pytest process rewrote them all again (collecting took
# 21 s of CPU instead of 9, in each of CI's four workers).
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest

test: install-dev check-chromium lint bytecode
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

test-slow: install-dev bytecode
	$(PYTEST) -m slow $(PYTEST_ARGS)

bench: install-dev
	$(BIN)/python bench/normalise.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/pool_grid.py
	$(BIN)/python bench/dedup.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/day.py  # SQLite; add --database-url postgresql://... for PostgreSQL

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .ruff_cache
