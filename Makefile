# Two commands set everything up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_WORKERS ?= 4  # pytest-xdist workers on 2 CPUs (the tests wait on PostgreSQL and Chromium as often as they compute). 2026-12-07, the CI command on a quiet machine: 6,126 tests in 9 min 54 s (14 min 26 s user CPU; earlier, on another machine, 6,017 tests in 9 min 14 s; docs/performance.md, third pass); before it, 5,968 tests: 3 workers 11 min 42 s, 4 workers 10 min 29 s and 11 min 14 s; earlier, --dist worksteal slower; 0 runs the suite in one process
CONFIG ?= .
PORT ?= 5000
# one SQLite file per configuration bundle, so `make run CONFIG=examples/real_estate` starts clean beside the CRM
DB_NAME := $(if $(filter .,$(CONFIG)),flowcrm,$(notdir $(abspath $(CONFIG))))
export DATABASE_URL ?= sqlite:///$(CURDIR)/instance/$(DB_NAME).sqlite
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test bench lint check browser-deps screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Starts the web app (http://127.0.0.1:$(PORT)) and the timer worker on SQLite with the demo configuration and data.
run: install
	$(BIN)/flowcrm init-db
	$(BIN)/flowcrm deploy $(CONFIG)
	$(BIN)/flowcrm seed-demo $(CONFIG)
	@bash -c '$(BIN)/flowcrm worker & worker=$$!; trap "kill $$worker 2>/dev/null" EXIT; \
	  FLOWCRM_CONFIG=$(abspath $(CONFIG)) $(BIN)/flowcrm run --demo --port $(PORT)'

# Debian's Chromium for the browser tests (Playwright cannot download its own browser here).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } || \
	  echo "warning: chromium is not installed; browser tests will be skipped"

# PYTHONDONTWRITEBYTECODE emptied: where the environment sets it (this machine does), every server, CLI, sandbox and
# import worker process a test starts compiled the project's sources anew (docs/performance.md, "Bytecode")
test: install browser-deps
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -rsfE -n $(TEST_WORKERS)

# PNG screenshots of the main pages at 1280 and 375 px, with an index page: docs/screenshots/README.md.
screenshots: install browser-deps
	$(BIN)/python -m tests.browser.screenshots docs/screenshots

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

check: install
	$(BIN)/flowcrm check $(CONFIG)

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
