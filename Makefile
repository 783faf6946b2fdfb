# One-command entry points. `make demo` and `make test` work on a fresh machine.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test lint format bench schema system-deps clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

# Serve the bundled sample site on 127.0.0.1, crawl it into the embedded store, print a summary.
demo: $(STAMP)
	$(BIN)/scrapy demo

# Debian packages the integration tests talk to (redis-server, tinyproxy); skipped when not root.
system-deps:
	bash .ci/system-deps

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_crawl.py
	$(BIN)/python benchmarks/bench_store.py
	$(BIN)/python benchmarks/bench_validator.py
	$(BIN)/python benchmarks/bench_workers.py
	$(BIN)/python benchmarks/bench_dupefilter.py
	$(BIN)/python benchmarks/bench_slow_store.py

# Regenerate rules/rule.schema.json from crawler/rules/schema.py.
schema: $(STAMP)
	$(BIN)/python -c "from crawler.rules.schema import schema_json; open('rules/rule.schema.json', 'w').write(schema_json())"

clean:
	rm -rf $(VENV) data .pytest_cache
