# The two commands a new machine needs: `make demo` and `make test`.
# Each creates .venv and installs what it needs first; nothing is installed by hand.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# pytest-xdist workers (each has its own PostgreSQL schema, SQLite files and ports): three on
# the 2-core CI machine, because a daemon, demo or socket test spends much of its time waiting
# for another process and a third worker uses that core meanwhile (the whole suite on a quiet
# machine: 557 s with two, 514 s with three). TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 3

NODE_SDK := tests/node/node_modules/.installed

.PHONY: demo test install install-dev install-node-sdk lint typecheck clean

demo: install
	$(BIN)/syncd demo

test: install-dev install-node-sdk
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# uv installs into the venv what pip would (the same resolution from PyPI) in a fraction of the
# time: on the 2-core CI machine `pip install -e '.[dev]'` took 83 s, mostly one index request
# after another, and uv 8 s plus 6 s to install uv itself. pip does it when uv cannot.
INSTALL = $(BIN)/pip install --quiet uv && VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/uv pip install --quiet

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(INSTALL) -e . || $(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(INSTALL) -e '.[dev]' || $(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

# HubSpot's Node SDK, pinned by tests/node/package-lock.json, for tests/api/test_hubspot_node_sdk.py.
# Without npm those tests skip, saying why (.ci/run requires them: there they fail instead).
install-node-sdk:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(NODE_SDK); \
	else \
		echo "make: npm not found: the Node SDK tests will be skipped (install Node.js >= 18)"; \
	fi

$(NODE_SDK): tests/node/package.json tests/node/package-lock.json
	npm ci --prefix tests/node --no-audit --no-fund
	touch $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache tests/node/node_modules
