# The verbs people type. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast test-e2e screenshots lint fmt bench install clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m hotline.devrun

test: $(STAMP)
	HOTLINE_TESTING=1 $(PY) manage.py makemigrations --check --dry-run -v 0
	HOTLINE_TESTING=1 $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(PY) -m ruff check .
	$(PY) -m pytest --create-db -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -x

# Browser end-to-end tests alone (part of `make test` too): Debian's /usr/bin/chromium, headless.
test-e2e: $(STAMP)
	$(PY) -m pytest --create-db -q tests/e2e

# Re-take docs/screenshots/*.png from the browser tests (normal runs leave the files alone).
screenshots: $(STAMP)
	HOTLINE_SCREENSHOTS=1 $(PY) -m pytest --create-db -q tests/e2e

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

fmt: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(STAMP)
	@ls bench/*.py >/dev/null 2>&1 && for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done || echo "no benchmarks yet"

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
