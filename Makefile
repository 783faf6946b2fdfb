# One-command entry points. `make demo` and `make test` work on a fresh machine.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test lint format bench schema system-deps dashboard screenshots clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

# The web dashboard (dashboard/): npm packages from the lockfile, then the bundle in dashboard/dist/,
# which `scrapy serve` serves at /. Each step runs again only when its inputs changed.
DASH       := dashboard
DASH_NPM   := $(DASH)/node_modules/.installed
DASH_BUILT := $(DASH)/dist/.built
DASH_SRC   := $(shell find $(DASH)/src -type f) $(DASH)/index.html $(DASH)/build.mjs rules/rule.schema.json

$(DASH_NPM): $(DASH)/package.json $(DASH)/package-lock.json
	cd $(DASH) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(DASH_BUILT): $(DASH_NPM) $(DASH_SRC)
	cd $(DASH) && npm run --silent build
	touch $@

dashboard: $(DASH_BUILT)

# Serve the bundled sample site on 127.0.0.1, crawl it into the embedded store, print a summary.
demo: $(STAMP) $(DASH_BUILT) system-deps
	$(BIN)/scrapy demo

# Debian packages the integration tests talk to (redis-server, tinyproxy, chromium...); skipped
# when not root. The demo needs chromium too (the sample_js* rules render).
system-deps:
	bash .ci/system-deps

# Test files spread over TEST_WORKERS processes (each with its own Redis, sample site and
# browser); TEST_WORKERS=0 runs them in this one. Three on two cores: the suite waits on
# subprocesses, browsers and sockets as much as it computes (measured: 580 s with 3 workers,
# all tests; the same suite before issue 25's tests took 596 s with 2).
TEST_WORKERS ?= 3

test: $(STAMP) $(DASH_BUILT) system-deps
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# Screenshots of every dashboard page into docs/screenshots/ (a real crawl, the real service).
screenshots: $(STAMP) $(DASH_BUILT)
	$(BIN)/python -m tests.dashboard.screenshots docs/screenshots

lint: $(STAMP) $(DASH_NPM)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd $(DASH) && npm run --silent lint

format: $(STAMP) $(DASH_NPM)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	cd $(DASH) && npm run --silent format

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_crawl.py
	$(BIN)/python benchmarks/bench_plain.py
	$(BIN)/python benchmarks/bench_store.py
	$(BIN)/python benchmarks/bench_validator.py
	$(BIN)/python benchmarks/bench_workers.py
	$(BIN)/python benchmarks/bench_dupefilter.py
	$(BIN)/python benchmarks/bench_service.py
	$(BIN)/python benchmarks/bench_render.py
	$(BIN)/python benchmarks/bench_slow_store.py
	$(BIN)/python benchmarks/bench_neardup.py

# Regenerate rules/rule.schema.json from crawler/rules/schema.py.
schema: $(STAMP)
	$(BIN)/python -c "from crawler.rules.schema import schema_json; open('rules/rule.schema.json', 'w').write(schema_json())"

clean:
	rm -rf $(VENV) data .pytest_cache $(DASH)/node_modules $(DASH)/dist
